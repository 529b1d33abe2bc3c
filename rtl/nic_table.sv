// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The NIC's counter table: DEPTH rows of {valid, key, P, N}, the PN-Counter
 * of one key each, and one operation on it per clock (nic_table_pkg: NOP,
 * SET, CLEAR, MERGE, READ, COMPARE), read-modify-write through
 * gcounter_merge, with in-flight rows forwarded so any sequence of indices
 * runs at full rate.
 *
 * C reference: the cpu backend's table in dataplane/offload_cpu.c
 * (cpu_row_set, cpu_merge_slot / cpu_merge_state, cpu_read, cpu_compare);
 * tests/rtl/nic_table checks every response against a C model of it.
 *
 * Ops (m_hit: index < DEPTH, row valid and row key == s_key):
 *  NOP      no table access; m_hit 0, m_p/m_n 0. An end-of-frame marker.
 *  SET      row := {valid, s_key, 0, 0}; m_hit = index < DEPTH.
 *  CLEAR    row := {invalid, 0, 0, 0}; m_hit = index < DEPTH.
 *  MERGE    on a hit P := max(P, s_p), N := max(N, s_n) slot-wise (a slot
 *           record is a sparse vector, a whole state a dense one); on a
 *           miss nothing changes.
 *  READ     no change.
 *  COMPARE  no change; m_order_p/_n = tally_vv_compare(row P, s_p) and
 *           (row N, s_n) (dataplane/vclock.h), 0 (EQUAL) for other ops.
 *  6, 7     as NOP.
 * m_p/m_n is the row after the op. READ and COMPARE return it whatever the
 * key (the host reads by index; m_hit says whether s_key matched). An
 * invalid row reads as all zero (as the cpu backend's cleared rows), so
 * memory needs no clearing after reset. An index >= DEPTH touches nothing
 * and returns m_hit 0, m_p/m_n 0 (and COMPARE orders against that zero row).
 *
 * Pipeline (latency 3: an op accepted on clock t is on m_* from clock t+3
 * when the output is not held; initiation interval 1 for any indices):
 *  A  accept; read the row from block RAM (registered read) and its valid
 *     bit from a DEPTH-bit register array that rst clears.
 *  B  the row, or the newer one still in flight: the op in C (not yet
 *     written) or the op written on the clock this row was read; the
 *     index comparisons are made in A. gcounter_merge (2*NODES slots,
 *     {N, P}) computes the new P and N: it merges {s_p, s_n} on a hit, zero
 *     otherwise, into the row (zero for SET, CLEAR, NOP). Two vclock_units
 *     order P against s_p and N against s_n.
 *  C  write the row back; push the response into the output FIFO.
 *
 * Back-pressure: the pipeline never stalls. The output FIFO holds
 * FIFO_DEPTH = LATENCY + 1 responses and s_ready is (ops accepted and not
 * yet taken from m_*) < FIFO_DEPTH, a register compare: every accepted op
 * has a FIFO place reserved, and with m_ready held high the count stays at
 * LATENCY, so s_ready stays high. s_ready does not depend on m_ready
 * combinationally. Inputs are ignored while rst is high.
 */
module nic_table #(
    // slots per vector (one per node)
    parameter int NODES = 8,
    // rows
    parameter int DEPTH = 1024,
    // bits of sideband carried from s_tag to m_tag
    parameter int TAG_W = 16
) (
    input  wire logic                clk,
    input  wire logic                rst,

    // requests
    input  wire logic [2:0]          s_op,
    input  wire logic [31:0]         s_index,
    input  wire logic [127:0]        s_key,
    input  wire logic [NODES*64-1:0] s_p,
    input  wire logic [NODES*64-1:0] s_n,
    input  wire logic [TAG_W-1:0]    s_tag,
    input  wire logic                s_valid,
    output wire logic                s_ready,

    // responses, in request order
    output wire logic [2:0]          m_op,
    output wire logic [31:0]         m_index,
    output wire logic                m_hit,
    output wire logic [NODES*64-1:0] m_p,
    output wire logic [NODES*64-1:0] m_n,
    output wire logic [1:0]          m_order_p,
    output wire logic [1:0]          m_order_n,
    output wire logic [TAG_W-1:0]    m_tag,
    output wire logic                m_valid,
    input  wire logic                m_ready
);

// (nic_table_pkg names are qualified, not imported: yosys 0.23 reads no import)
localparam int OP_W = nic_table_pkg::OP_W;
localparam int KEY_W = 128;
localparam int VEC_W = NODES*64;
// {N, P}: the merge's vector of 2*NODES slots, P in the low slots
localparam int PN_W = 2*VEC_W;
// a memory row: {key, N, P}; the valid bit lives in valid_reg
localparam int ROW_W = KEY_W + PN_W;
localparam int IDX_W = $clog2(DEPTH);
localparam logic [31:0] DEPTH_U = DEPTH;
// clocks from the input handshake to m_valid
localparam int LATENCY = 3;
localparam int FIFO_DEPTH = LATENCY + 1;
localparam int FIFO_AW = $clog2(FIFO_DEPTH);
localparam int OCC_W = $clog2(FIFO_DEPTH + 1);
// what travels with a row through the merge: {op, index, hit, wr, valid, key, tag}
localparam int META_W = OP_W + 32 + 3 + KEY_W + TAG_W;
// a response: {op, index, hit, order_n, order_p, {N, P}, tag}
localparam int RESP_W = OP_W + 32 + 1 + 4 + PN_W + TAG_W;

initial begin
    if (NODES < 1) $fatal(1, "%m: NODES must be at least 1");
    if (DEPTH < 2) $fatal(1, "%m: DEPTH must be at least 2");
    if (TAG_W < 1) $fatal(1, "%m: TAG_W must be at least 1");
end

// ---------------------------------------------------------------- stage A

wire logic             issue = s_valid && s_ready;
wire logic             s_in_range = s_index < DEPTH_U;
wire logic [IDX_W-1:0] s_addr = s_index[IDX_W-1:0];

// the table: {key, N, P} in block RAM; valid bits in registers, cleared by rst
// (memory contents are data: no toggle coverage, see nic_frame_slot)
/* verilator coverage_off */
logic [ROW_W-1:0] mem [DEPTH];
logic [DEPTH-1:0] valid_reg = '0;
/* verilator coverage_on */

logic [ROW_W-1:0] rd_row_reg;
logic             rd_valid_reg;

// stage B: the op whose row is being read
logic              b_valid_reg = 1'b0;
logic [OP_W-1:0]   b_op_reg;
logic [31:0]       b_index_reg;
logic              b_in_range_reg;
logic [KEY_W-1:0]  b_key_reg;
logic [PN_W-1:0]   b_pn_reg;
logic [TAG_W-1:0]  b_tag_reg;
// same row as the op now in C / the op written as this row was read
logic              b_fwd_c_reg;
logic              b_fwd_d_reg;

// stage C: the merge's output register (declared with the merge below)
logic              c_valid;
logic [OP_W-1:0]   c_op;
logic [31:0]       c_index;
logic              c_hit;
logic              c_wr;
logic              c_row_valid;
logic [KEY_W-1:0]  c_key;
logic [TAG_W-1:0]  c_tag;
logic [PN_W-1:0]   c_pn;
logic [1:0]        c_order_p, c_order_n;

// stage D: the row written on the last clock, which a read on that same
// clock did not see
logic              d_wr_reg = 1'b0;
logic              d_row_valid_reg;
logic [KEY_W-1:0]  d_key_reg;
logic [PN_W-1:0]   d_pn_reg;

always_ff @(posedge clk) begin
    if (issue) begin
        rd_row_reg <= mem[s_addr];
    end
    if (c_valid && c_wr) begin
        mem[c_index[IDX_W-1:0]] <= {c_key, c_pn};
    end
end

always_ff @(posedge clk) begin
    if (issue) begin
        rd_valid_reg <= valid_reg[s_addr];
    end
    if (c_valid && c_wr) begin
        valid_reg[c_index[IDX_W-1:0]] <= c_row_valid;
    end

    if (rst) begin
        valid_reg <= '0;
    end
end

always_ff @(posedge clk) begin
    b_valid_reg <= issue;
    if (issue) begin
        b_op_reg <= s_op;
        b_index_reg <= s_index;
        b_in_range_reg <= s_in_range;
        b_key_reg <= s_key;
        b_pn_reg <= {s_n, s_p};
        b_tag_reg <= s_tag;
        // the op now in B is in C next clock, the op now in C in D
        b_fwd_c_reg <= b_index_reg[IDX_W-1:0] == s_addr;
        b_fwd_d_reg <= c_index[IDX_W-1:0] == s_addr;
    end

    d_wr_reg <= c_valid && c_wr;
    d_row_valid_reg <= c_row_valid;
    d_key_reg <= c_key;
    d_pn_reg <= c_pn;

    if (rst) begin
        b_valid_reg <= 1'b0;
        d_wr_reg <= 1'b0;
    end
end

// ---------------------------------------------------------------- stage B

logic             fwd_c, fwd_d;
logic             cur_valid, cur_key_eq;
logic [KEY_W-1:0] cur_key;
logic [PN_W-1:0]  cur_pn;
logic             is_set, is_clear, is_merge, is_row_op, row_hit;
logic             b_hit, b_wr, b_row_valid;
logic [KEY_W-1:0] b_key_new;
logic [PN_W-1:0]  merge_a, merge_b;

always_comb begin
    // the newest copy of the row: C's result, else D's, else the RAM's
    fwd_c = b_fwd_c_reg && c_valid && c_wr;
    fwd_d = b_fwd_d_reg && d_wr_reg;
    // the three key compares run beside the index selection, not after it
    if (fwd_c) begin
        cur_valid = c_row_valid;
        cur_key = c_key;
        cur_key_eq = c_key == b_key_reg;
        cur_pn = c_pn;
    end else if (fwd_d) begin
        cur_valid = d_row_valid_reg;
        cur_key = d_key_reg;
        cur_key_eq = d_key_reg == b_key_reg;
        cur_pn = d_pn_reg;
    end else begin
        cur_valid = rd_valid_reg;
        cur_key = rd_row_reg[PN_W +: KEY_W];
        cur_key_eq = rd_row_reg[PN_W +: KEY_W] == b_key_reg;
        cur_pn = rd_row_reg[PN_W-1:0];
    end

    // is_row_op: the ops that look at the row
    is_set = 1'b0;
    is_clear = 1'b0;
    is_merge = 1'b0;
    is_row_op = 1'b0;
    case (b_op_reg)
        nic_table_pkg::OP_NOP: ; // no table access
        nic_table_pkg::OP_SET: is_set = 1'b1;
        nic_table_pkg::OP_CLEAR: is_clear = 1'b1;
        nic_table_pkg::OP_MERGE: begin
            is_merge = 1'b1;
            is_row_op = 1'b1;
        end
        nic_table_pkg::OP_READ, nic_table_pkg::OP_COMPARE: is_row_op = 1'b1;
        default: ; // as NOP
    endcase
    row_hit = b_in_range_reg && cur_valid && cur_key_eq;

    b_hit = (is_set || is_clear) ? b_in_range_reg : is_row_op && row_hit;
    b_wr = b_in_range_reg && (is_set || is_clear || (is_merge && row_hit));
    b_row_valid = is_set || (!is_clear && cur_valid);
    b_key_new = is_set ? b_key_reg : (is_clear ? '0 : cur_key);

    // new {N, P} = max(merge_a, merge_b): the row (zero when it is invalid,
    // out of range, or being set or cleared) and the request's vectors on
    // a merge hit (zero otherwise, which leaves the row as it is)
    merge_a = (is_row_op && b_in_range_reg && cur_valid) ? cur_pn : '0;
    merge_b = (is_merge && row_hit) ? b_pn_reg : '0;
end

// The pipeline never stalls (the FIFO below has room for every op in
// flight), so every unit's output is always ready and its input ready
// always high.
logic       merge_s_ready_unused;
logic [1:0] cmp_s_ready_unused, cmp_m_valid_unused, cmp_m_tuser_unused;
logic [VEC_W-1:0] cmp_p_max_unused, cmp_n_max_unused;

gcounter_merge #(
    .NODES(2*NODES),
    .WIDTH(64),
    .USER_W(META_W)
) merge_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({merge_b, merge_a}),
    .s_axis_tuser({b_op_reg, b_index_reg, b_hit, b_wr, b_row_valid, b_key_new, b_tag_reg}),
    .s_axis_tvalid(b_valid_reg),
    .s_axis_tready(merge_s_ready_unused),
    .m_axis_tdata(c_pn),
    .m_axis_tuser({c_op, c_index, c_hit, c_wr, c_row_valid, c_key, c_tag}),
    .m_axis_tvalid(c_valid),
    .m_axis_tready(1'b1)
);

// order of the row's P relative to s_p
vclock_unit #(
    .NODES(NODES),
    .WIDTH(64),
    .USER_W(1)
) cmp_p_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({b_pn_reg[0 +: VEC_W], merge_a[0 +: VEC_W]}),
    .s_axis_tuser(1'b0),
    .s_axis_tvalid(b_valid_reg),
    .s_axis_tready(cmp_s_ready_unused[0]),
    .m_axis_tdata(cmp_p_max_unused),
    .m_axis_order(c_order_p),
    .m_axis_tuser(cmp_m_tuser_unused[0]),
    .m_axis_tvalid(cmp_m_valid_unused[0]),
    .m_axis_tready(1'b1)
);

// order of the row's N relative to s_n
vclock_unit #(
    .NODES(NODES),
    .WIDTH(64),
    .USER_W(1)
) cmp_n_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({b_pn_reg[VEC_W +: VEC_W], merge_a[VEC_W +: VEC_W]}),
    .s_axis_tuser(1'b0),
    .s_axis_tvalid(b_valid_reg),
    .s_axis_tready(cmp_s_ready_unused[1]),
    .m_axis_tdata(cmp_n_max_unused),
    .m_axis_order(c_order_n),
    .m_axis_tuser(cmp_m_tuser_unused[1]),
    .m_axis_tvalid(cmp_m_valid_unused[1]),
    .m_axis_tready(1'b1)
);

// ---------------------------------------------------------------- stage C

logic [RESP_W-1:0] fifo_mem [FIFO_DEPTH];
logic [FIFO_AW:0]  fifo_wr_ptr_reg = '0, fifo_wr_ptr_next;
logic [FIFO_AW:0]  fifo_rd_ptr_reg = '0, fifo_rd_ptr_next;
// ops accepted and not yet taken from m_*
logic [OCC_W-1:0]  occ_reg = '0, occ_next;

wire logic             pop = m_valid && m_ready;
wire logic             c_is_cmp = c_op == nic_table_pkg::OP_COMPARE;
wire logic [RESP_W-1:0] c_resp = {c_op, c_index, c_hit,
    c_is_cmp ? c_order_n : 2'd0, c_is_cmp ? c_order_p : 2'd0, c_pn, c_tag};

assign s_ready = occ_reg != OCC_W'(FIFO_DEPTH);
assign m_valid = fifo_wr_ptr_reg != fifo_rd_ptr_reg;
assign {m_op, m_index, m_hit, m_order_n, m_order_p, m_n, m_p, m_tag} =
    fifo_mem[fifo_rd_ptr_reg[FIFO_AW-1:0]];

always_comb begin
    fifo_wr_ptr_next = fifo_wr_ptr_reg + (FIFO_AW+1)'(c_valid);
    fifo_rd_ptr_next = fifo_rd_ptr_reg + (FIFO_AW+1)'(pop);
    occ_next = occ_reg + OCC_W'(issue) - OCC_W'(pop);
end

always_ff @(posedge clk) begin
    if (c_valid) begin
        fifo_mem[fifo_wr_ptr_reg[FIFO_AW-1:0]] <= c_resp;
    end
end

always_ff @(posedge clk) begin
    fifo_wr_ptr_reg <= fifo_wr_ptr_next;
    fifo_rd_ptr_reg <= fifo_rd_ptr_next;
    occ_reg <= occ_next;

    if (rst) begin
        fifo_wr_ptr_reg <= '0;
        fifo_rd_ptr_reg <= '0;
        occ_reg <= '0;
    end
end

endmodule

`resetall
