// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Version-vector unit: for a pair of version vectors (a, b), one pair per
 * clock, the merged vector (element-wise maximum) and the causal order of a
 * relative to b.
 *
 * C reference: tally_vv_compare() and tally_vv_merge() in dataplane/vclock.h;
 * tests/rtl proves this module equal to them.
 *
 * m_axis_order is {any slot of a above b's, any slot of a below b's}, the
 * values of the C enum tally_vv_order_t: 0 EQUAL, 1 BEFORE, 2 AFTER,
 * 3 CONCURRENT.
 *
 * The order is computed from the input pair and carried through
 * gcounter_merge's tuser sideband, so both outputs leave together with the
 * same timing as gcounter_merge: latency 1 clock, initiation interval 1.
 */
module vclock_unit #(
    // slots per vector (one per node)
    parameter int NODES = 8,
    // bits per slot
    parameter int WIDTH = 64,
    // bits of sideband carried from s_axis_tuser to m_axis_tuser
    parameter int USER_W = 1
) (
    input  wire logic                     clk,
    input  wire logic                     rst,

    // pair in: {b, a}
    input  wire logic [2*NODES*WIDTH-1:0] s_axis_tdata,
    input  wire logic [USER_W-1:0]        s_axis_tuser,
    input  wire logic                     s_axis_tvalid,
    output wire logic                     s_axis_tready,

    // merged vector and order out
    output wire logic [NODES*WIDTH-1:0]   m_axis_tdata,
    output wire logic [1:0]               m_axis_order,
    output wire logic [USER_W-1:0]        m_axis_tuser,
    output wire logic                     m_axis_tvalid,
    input  wire logic                     m_axis_tready
);

localparam int VEC_W = NODES*WIDTH;

logic [NODES-1:0] a_gt, a_lt;

always_comb begin
    for (int i = 0; i < NODES; i++) begin
        a_gt[i] = s_axis_tdata[i*WIDTH +: WIDTH] > s_axis_tdata[VEC_W + i*WIDTH +: WIDTH];
        a_lt[i] = s_axis_tdata[i*WIDTH +: WIDTH] < s_axis_tdata[VEC_W + i*WIDTH +: WIDTH];
    end
end

gcounter_merge #(
    .NODES(NODES),
    .WIDTH(WIDTH),
    .USER_W(USER_W + 2)
) merge_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tuser({|a_gt, |a_lt, s_axis_tuser}),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tuser({m_axis_order, m_axis_tuser}),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
