// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The tally NIC: replication frames from the MAC are parsed, authenticated
 * and merged into the on-NIC counter table; the host sees one event per
 * frame, per merged record and per command it issued.
 *
 * C reference: the cpu backend of the offload engine (dataplane/offload_cpu.c
 * with tally_wire_decode() in dataplane/wire.c): for the same frames and
 * commands, the events equal its rx results and completions and the table
 * equals its table. The sim backend (dataplane/offload_sim.c) drives this
 * module through rtl/sim/nic_sim.h; tests/rtl/nic compares the two.
 *
 *   rx stream -> nic_rx (parse, MAC, retire in order) --records--+
 *                                                                 +--> nic_table --> events
 *   host commands ------------------------------------------------+
 *
 * Events (m_evt_*), by m_evt_kind:
 *   EVT_RECORD  a slot record merged: its row, origin, key, and the row's
 *               P and N after the merge (the completion the host acks from);
 *   EVT_FRAME   a frame finished: its header and addresses, verdict,
 *               disposition (consumed, to host, dropped) and records merged.
 *               A frame's EVT_RECORDs come before its EVT_FRAME, with no
 *               other frame's in between. Frames finish as their MACs do,
 *               not always in arrival order: m_evt_frame, on both kinds,
 *               is the frame's arrival number (frames received since
 *               reset, mod 2^16);
 *   EVT_CMD     a host command done: op, row, hit, P, N and orders.
 * A record whose index is unknown or names another key is not merged and
 * makes its frame go to the host; it produces no event.
 *
 * Host commands (s_cmd_*) are table ops (nic_table_pkg); they take priority
 * over records, and a host that waits for each command's event sees them
 * applied in order with the frames around them.
 */
module nic_top #(
    // slots per vector (the cluster's largest node count)
    parameter int NODES = 8,
    // counter table rows
    parameter int DEPTH = 1024,
    // frame slots with a MAC engine each
    parameter int SLOTS = 20,
    // build id, readable in the CSR block
    parameter logic [31:0] BUILD_ID = 32'h0
) (
    input  wire logic                   clk,
    input  wire logic                   rst,

    // frames from the MAC
    input  wire logic [511:0]           s_axis_rx_tdata,
    input  wire logic [63:0]            s_axis_rx_tkeep,
    input  wire logic                   s_axis_rx_tvalid,
    output wire logic                   s_axis_rx_tready,
    input  wire logic                   s_axis_rx_tlast,

    // host commands
    input  wire logic [2:0]             s_cmd_op,
    input  wire logic [31:0]            s_cmd_index,
    input  wire logic [127:0]           s_cmd_key,
    input  wire logic [NODES*64-1:0]    s_cmd_p,
    input  wire logic [NODES*64-1:0]    s_cmd_n,
    input  wire logic                   s_cmd_valid,
    output wire logic                   s_cmd_ready,

    // events to the host
    output wire logic [1:0]             m_evt_kind,
    output wire logic [15:0]            m_evt_frame,
    output wire logic [2:0]             m_evt_op,
    output wire logic [31:0]            m_evt_index,
    output wire logic [7:0]             m_evt_origin,
    output wire logic [127:0]           m_evt_key,
    output wire logic                   m_evt_hit,
    output wire logic [NODES*64-1:0]    m_evt_p,
    output wire logic [NODES*64-1:0]    m_evt_n,
    output wire logic [1:0]             m_evt_order_p,
    output wire logic [1:0]             m_evt_order_n,
    output nic_pkg::hdr_t               m_evt_hdr,
    output wire logic [3:0]             m_evt_verdict,
    output wire logic [1:0]             m_evt_disposition,
    output wire logic [15:0]            m_evt_merged,
    output wire logic                   m_evt_valid,
    input  wire logic                   m_evt_ready,

    // CSR bus (AXI4-Lite)
    input  wire logic [tally_csr_pkg::CSR_ADDR_W-1:0] s_axil_awaddr,
    input  wire logic                   s_axil_awvalid,
    output wire logic                   s_axil_awready,
    input  wire logic [31:0]            s_axil_wdata,
    input  wire logic [3:0]             s_axil_wstrb,
    input  wire logic                   s_axil_wvalid,
    output wire logic                   s_axil_wready,
    output wire logic [1:0]             s_axil_bresp,
    output wire logic                   s_axil_bvalid,
    input  wire logic                   s_axil_bready,
    input  wire logic [tally_csr_pkg::CSR_ADDR_W-1:0] s_axil_araddr,
    input  wire logic                   s_axil_arvalid,
    output wire logic                   s_axil_arready,
    output wire logic [31:0]            s_axil_rdata,
    output wire logic [1:0]             s_axil_rresp,
    output wire logic                   s_axil_rvalid,
    input  wire logic                   s_axil_rready
);

import nic_pkg::*;
import nic_table_pkg::*;

localparam logic [1:0] EVT_RECORD = 2'd0;
localparam logic [1:0] EVT_FRAME = 2'd1;
localparam logic [1:0] EVT_CMD = 2'd2;

// table tag: {from host, end of frame, origin, key}
localparam int TAG_W = 1 + 1 + 8 + 128;

initial begin
    if (NODES < 1 || NODES > 255) $fatal(1, "%m: NODES must be 1..255");
    if (DEPTH < 1) $fatal(1, "%m: DEPTH must be at least 1");
end

logic [127:0] node_key;
logic         merge_enable;
logic [tally_csr_pkg::N_COUNTERS-1:0] cnt_inc;
logic         rx_idle;

// ---- receive path ----

logic [31:0]  rec_index;
logic [127:0] rec_key;
logic [7:0]   rec_origin;
logic [63:0]  rec_p, rec_n;
logic         rec_eof, rec_valid, rec_ready;
desc_t        desc;
logic         desc_valid, desc_ready;

nic_rx #(
    .NODES(NODES),
    .SLOTS(SLOTS)
) rx_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_rx_tdata),
    .s_axis_tkeep(s_axis_rx_tkeep),
    .s_axis_tvalid(s_axis_rx_tvalid),
    .s_axis_tready(s_axis_rx_tready),
    .s_axis_tlast(s_axis_rx_tlast),
    .node_key(node_key),
    .merge_enable(merge_enable),
    .m_rec_index(rec_index),
    .m_rec_key(rec_key),
    .m_rec_origin(rec_origin),
    .m_rec_p(rec_p),
    .m_rec_n(rec_n),
    .m_rec_eof(rec_eof),
    .m_rec_valid(rec_valid),
    .m_rec_ready(rec_ready),
    .m_desc(desc),
    .m_desc_valid(desc_valid),
    .m_desc_ready(desc_ready),
    .idle(rx_idle)
);

// ---- table, host commands first ----

logic [2:0]         t_op, tm_op;
logic [31:0]        t_index, tm_index;
logic [127:0]       t_key;
logic [NODES*64-1:0] t_p, t_n, tm_p, tm_n;
logic [TAG_W-1:0]   t_tag, tm_tag;
logic               t_valid, t_ready, tm_valid, tm_ready, tm_hit;
logic [1:0]         tm_order_p, tm_order_n;
logic [NODES*64-1:0] rec_p_vec, rec_n_vec;

// a slot record as sparse vectors: only slot origin (< NODES, checked) set
always_comb begin
    rec_p_vec = '0;
    rec_n_vec = '0;
    for (int i = 0; i < NODES; i++) begin
        if (rec_origin == 8'(i)) begin
            rec_p_vec[64*i +: 64] = rec_p;
            rec_n_vec[64*i +: 64] = rec_n;
        end
    end
end

assign t_valid = s_cmd_valid || rec_valid;
assign s_cmd_ready = t_ready;
assign rec_ready = t_ready && !s_cmd_valid;
assign t_op = s_cmd_valid ? s_cmd_op : rec_eof ? OP_NOP : OP_MERGE;
assign t_index = s_cmd_valid ? s_cmd_index : rec_index;
assign t_key = s_cmd_valid ? s_cmd_key : rec_key;
assign t_p = s_cmd_valid ? s_cmd_p : rec_p_vec;
assign t_n = s_cmd_valid ? s_cmd_n : rec_n_vec;
assign t_tag = s_cmd_valid ? {1'b1, 1'b0, 8'd0, s_cmd_key} : {1'b0, rec_eof, rec_origin, rec_key};

nic_table #(
    .NODES(NODES),
    .DEPTH(DEPTH),
    .TAG_W(TAG_W)
) table_inst (
    .clk(clk),
    .rst(rst),
    .s_op(t_op),
    .s_index(t_index),
    .s_key(t_key),
    .s_p(t_p),
    .s_n(t_n),
    .s_tag(t_tag),
    .s_valid(t_valid),
    .s_ready(t_ready),
    .m_op(tm_op),
    .m_index(tm_index),
    .m_hit(tm_hit),
    .m_p(tm_p),
    .m_n(tm_n),
    .m_order_p(tm_order_p),
    .m_order_n(tm_order_n),
    .m_tag(tm_tag),
    .m_valid(tm_valid),
    .m_ready(tm_ready)
);

// ---- events ----

logic        from_host, eof, silent;
logic [7:0]  origin;
logic [15:0] merged_reg = '0;
logic        unplaced_reg = 1'b0;
logic [1:0]  disposition;
logic        frame_end, evt_valid;

assign {from_host, eof, origin} = tm_tag[TAG_W-1 -: 10];
// an unplaced record leaves the table without an event
assign silent = !from_host && !eof && !tm_hit;

always_comb begin
    if (desc.verdict != V_OK) begin
        disposition = D_DROPPED;
    end else if (desc.merge && !unplaced_reg) begin
        disposition = D_CONSUMED;
    end else begin
        disposition = D_TO_HOST;
    end
end

// a frame's end marker leaves with its descriptor (always there by then)
assign frame_end = !from_host && eof;
assign evt_valid = tm_valid && !silent && (!frame_end || desc_valid);
assign tm_ready = silent || (m_evt_ready && (!frame_end || desc_valid));
assign desc_ready = evt_valid && frame_end && m_evt_ready;

assign m_evt_valid = evt_valid;
assign m_evt_kind = from_host ? EVT_CMD : eof ? EVT_FRAME : EVT_RECORD;
// the records at the table's output belong to the oldest descriptor's frame
assign m_evt_frame = from_host ? 16'd0 : desc.fnum;
assign m_evt_op = tm_op;
assign m_evt_index = tm_index;
assign m_evt_origin = origin;
assign m_evt_key = tm_tag[127:0];
assign m_evt_hit = tm_hit;
assign m_evt_p = tm_p;
assign m_evt_n = tm_n;
assign m_evt_order_p = tm_order_p;
assign m_evt_order_n = tm_order_n;
assign m_evt_hdr = desc.hdr;
assign m_evt_verdict = desc.verdict;
assign m_evt_disposition = disposition;
assign m_evt_merged = merged_reg;

always_ff @(posedge clk) begin
    if (tm_valid && tm_ready && !from_host) begin
        if (eof) begin
            merged_reg <= '0;
            unplaced_reg <= 1'b0;
        end else if (tm_hit) begin
            merged_reg <= merged_reg + 1'b1;
        end else begin
            unplaced_reg <= 1'b1;
        end
    end
    if (rst) begin
        merged_reg <= '0;
        unplaced_reg <= 1'b0;
    end
end

// ---- telemetry ----

logic evt_done;
assign evt_done = m_evt_valid && m_evt_ready;

always_comb begin
    cnt_inc = '0;
    cnt_inc[tally_csr_pkg::CNT_RX_STALL_CYCLES] = s_axis_rx_tvalid && !s_axis_rx_tready;
    cnt_inc[tally_csr_pkg::CNT_HOST_OPS] = evt_done && from_host;
    cnt_inc[tally_csr_pkg::CNT_RECORDS_MERGED] = evt_done && !from_host && !eof;
    cnt_inc[tally_csr_pkg::CNT_RECORDS_UNPLACED] = tm_valid && silent;
    if (evt_done && !from_host && eof) begin
        cnt_inc[tally_csr_pkg::CNT_FRAMES] = 1'b1;
        cnt_inc[tally_csr_pkg::CNT_CONSUMED] = disposition == D_CONSUMED;
        cnt_inc[tally_csr_pkg::CNT_TO_HOST] = disposition == D_TO_HOST;
        cnt_inc[tally_csr_pkg::CNT_DROPPED] = disposition == D_DROPPED;
        for (int v = 1; v < N_VERDICTS; v++) begin
            if (desc.verdict == 4'(v)) begin
                cnt_inc[tally_csr_pkg::CNT_DROP_SHORT + v - 1] = 1'b1;
            end
        end
    end
end

nic_csr #(
    .BUILD_ID(BUILD_ID),
    .TABLE_DEPTH(DEPTH),
    .NODES(NODES),
    .MAC_ENGINES(SLOTS)
) csr_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .cnt_inc(cnt_inc),
    .status_idle(rx_idle),
    .ctrl_merge_enable(merge_enable),
    .node_key(node_key)
);

endmodule

`resetall
