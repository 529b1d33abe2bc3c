// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Formal harness for gcounter_merge: every input is free (rst is only forced
 * high in the first cycle), and the assertions below must hold in every
 * reachable state. Proven with yosys + yosys-smtbmc + z3 by run.sh, bounded
 * (BMC) and by k-induction; docs/formal.md lists what is and is not proven.
 *
 * Properties, each checked every cycle (names as yosys-smtbmc reports them):
 *   p_data_max      while m_axis_tvalid, every output slot is >= both input
 *                   slots of the pair accepted for it and equal to one of them
 *                   (so it is their maximum); the accepted pair is kept in a
 *                   shadow copy captured at the input handshake
 *   p_hs_count      accepted-minus-emitted transfers since the last reset
 *                   equals m_axis_tvalid: nothing dropped, nothing duplicated
 *   p_hs_tuser      while m_axis_tvalid, tuser equals the tuser accepted with
 *                   the pair
 *   p_hs_latency    an input handshake (outside reset) makes m_axis_tvalid
 *                   high the next cycle
 *   p_hs_reset      m_axis_tvalid is low the cycle after a reset
 *   p_stable_*      after a cycle with m_axis_tvalid && !m_axis_tready (and no
 *                   reset), m_axis_tvalid is still high and tdata, tuser are
 *                   unchanged
 *   p_ii1           m_axis_tready implies s_axis_tready (no forced bubble)
 *
 * Mutants (`define MUTANT n, set by run.sh from the MUTANT environment
 * variable) break the harness on purpose so that a proof must fail; they show
 * the properties can be false. None touches rtl/.
 *   1 ref-min           the data check expects the minimum, not the maximum
 *   2 drop              a transfer the source sees accepted is hidden from the
 *                       stage (its tvalid is masked by the free input mut_drop)
 *   3 no-backpressure   the stage sees m_axis_tready always high while the
 *                       sink stalls
 *   4 stuck             the stage sees m_axis_tready always low while the sink
 *                       takes every word (it never lets a result go)
 */
module gcounter_merge_fv #(
    // slots per vector (one per node)
    parameter int NODES = 8,
    // bits per slot
    parameter int WIDTH = 64,
    // bits of sideband carried from s_axis_tuser to m_axis_tuser
    parameter int USER_W = 1
) (
    input  wire logic                     clk,
    input  wire logic                     rst,

    // free stimulus: the solver picks every value, every cycle
    input  wire logic [2*NODES*WIDTH-1:0] s_axis_tdata,
    input  wire logic [USER_W-1:0]        s_axis_tuser,
    input  wire logic                     s_axis_tvalid,
    input  wire logic                     m_axis_tready,

    // free input used only by mutant 2
    input  wire logic                     mut_drop
);

localparam int VEC_W = NODES*WIDTH;

`ifdef MUTANT
localparam int MUT = `MUTANT;
`else
localparam int MUT = 0;
`endif

initial begin
    if (MUT < 0 || MUT > 4) $fatal(1, "%m: MUTANT must be 0..4");
end

/*
 * Device under test
 */
wire logic                 s_axis_tready;
wire logic [VEC_W-1:0]     m_axis_tdata;
wire logic [USER_W-1:0]    m_axis_tuser;
wire logic                 m_axis_tvalid;

wire logic dut_s_axis_tvalid = (MUT == 2) ? s_axis_tvalid && !mut_drop : s_axis_tvalid;
wire logic dut_m_axis_tready = (MUT == 3) ? 1'b1 : (MUT == 4) ? 1'b0 : m_axis_tready;

gcounter_merge #(
    .NODES(NODES),
    .WIDTH(WIDTH),
    .USER_W(USER_W)
) dut (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tuser(s_axis_tuser),
    .s_axis_tvalid(dut_s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tuser(m_axis_tuser),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(dut_m_axis_tready)
);

// handshakes as the source and the sink see them
wire logic in_fire = s_axis_tvalid && s_axis_tready;
wire logic out_fire = m_axis_tvalid && m_axis_tready;

/*
 * Checker state
 */
logic              f_init_reg = 1'b1;   // first cycle
logic [VEC_W-1:0]  f_a_reg;             // shadow of the accepted pair
logic [VEC_W-1:0]  f_b_reg;
logic [USER_W-1:0] f_user_reg;          // shadow of the accepted tuser
logic [1:0]        f_count_reg = 2'd0;  // accepted minus emitted since reset
logic              f_stall_reg = 1'b0;  // last cycle: tvalid && !tready, no rst
logic [VEC_W-1:0]  f_tdata_prev_reg;    // last cycle's output
logic [USER_W-1:0] f_tuser_prev_reg;
logic              f_fire_prev_reg = 1'b0; // last cycle: input handshake, no rst
logic              f_rst_prev_reg = 1'b0;  // last cycle: rst

always_ff @(posedge clk) begin
    f_init_reg <= 1'b0;

    if (in_fire) begin
        f_a_reg <= s_axis_tdata[0 +: VEC_W];
        f_b_reg <= s_axis_tdata[VEC_W +: VEC_W];
        f_user_reg <= s_axis_tuser;
    end

    // a 2-bit count: any step outside {0, 1} (a duplicate or a drop) fails
    // the handshake assertion in the cycle it happens, before it can wrap
    f_count_reg <= f_count_reg + {1'b0, in_fire} - {1'b0, out_fire};

    f_stall_reg <= m_axis_tvalid && !m_axis_tready && !rst;
    f_tdata_prev_reg <= m_axis_tdata;
    f_tuser_prev_reg <= m_axis_tuser;
    f_fire_prev_reg <= in_fire && !rst;
    f_rst_prev_reg <= rst;

    // a reset discards the transfer in flight and any presented with it
    if (rst) begin
        f_count_reg <= 2'd0;
    end
end

/*
 * Environment: reset in the first cycle; every other input stays free
 * (including rst, which may rise again at any time).
 */
always_comb begin
    if (f_init_reg) begin
        assume (rst);
    end
end

/*
 * Properties
 */

// data: each slot is >= both accepted slots and equal to one of them. The
// per-slot verdicts are gathered first so that one named assertion covers
// them (yosys 0.23 cannot name an assertion inside a loop).
logic [NODES-1:0] f_slot_ok;

always_comb begin
    for (int i = 0; i < NODES; i++) begin
        if (MUT == 1) begin
            // mutant: expect the minimum
            f_slot_ok[i] = m_axis_tdata[i*WIDTH +: WIDTH] <= f_a_reg[i*WIDTH +: WIDTH]
                && m_axis_tdata[i*WIDTH +: WIDTH] <= f_b_reg[i*WIDTH +: WIDTH]
                && (m_axis_tdata[i*WIDTH +: WIDTH] == f_a_reg[i*WIDTH +: WIDTH]
                    || m_axis_tdata[i*WIDTH +: WIDTH] == f_b_reg[i*WIDTH +: WIDTH]);
        end else begin
            f_slot_ok[i] = m_axis_tdata[i*WIDTH +: WIDTH] >= f_a_reg[i*WIDTH +: WIDTH]
                && m_axis_tdata[i*WIDTH +: WIDTH] >= f_b_reg[i*WIDTH +: WIDTH]
                && (m_axis_tdata[i*WIDTH +: WIDTH] == f_a_reg[i*WIDTH +: WIDTH]
                    || m_axis_tdata[i*WIDTH +: WIDTH] == f_b_reg[i*WIDTH +: WIDTH]);
        end
    end

    if (m_axis_tvalid) begin
        p_data_max: assert (&f_slot_ok);
    end
end

// handshake: one transfer held exactly when tvalid; tuser travels with it
always_comb begin
    p_hs_count: assert (f_count_reg == {1'b0, m_axis_tvalid});

    if (m_axis_tvalid) begin
        p_hs_tuser: assert (m_axis_tuser == f_user_reg);
    end

    // latency 1
    if (f_fire_prev_reg) begin
        p_hs_latency: assert (m_axis_tvalid);
    end

    // reset empties the stage
    if (f_rst_prev_reg) begin
        p_hs_reset: assert (!m_axis_tvalid);
    end
end

// stability: a stalled output holds
always_comb begin
    if (f_stall_reg) begin
        p_stable_tvalid: assert (m_axis_tvalid);
        p_stable_tdata: assert (m_axis_tdata == f_tdata_prev_reg);
        p_stable_tuser: assert (m_axis_tuser == f_tuser_prev_reg);
    end
end

// II = 1: a ready sink means a ready stage
always_comb begin
    if (m_axis_tready) begin
        p_ii1: assert (s_axis_tready);
    end
end

/*
 * Covers: states the assertions above must not be vacuous about; run.sh
 * checks that each is reachable from reset.
 */
always_comb begin
    // a stalled result is released
    c_stall_release: cover (f_stall_reg && m_axis_tready && !rst);
    // back to back: a result leaves while the next pair enters
    c_back_to_back: cover (in_fire && out_fire && !rst);
end

endmodule

`resetall
