// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * G-Counter merge: the element-wise maximum of two vectors of NODES unsigned
 * WIDTH-bit slots, one pair per clock.
 *
 * C reference: tally_vec_merge() in dataplane/vec.h (and the batch kernels in
 * dataplane/kernels.h); tests/rtl proves this module equal to it.
 *
 * Timing: latency 1 clock (the result is registered; it is valid the cycle
 * after the input handshake). Initiation interval 1: a new pair is accepted
 * every clock while m_axis_tready is high. s_axis_tready is
 * m_axis_tready || !m_axis_tvalid: a pipeline register, not a skid buffer, so
 * the ready path is combinational through this stage.
 *
 * Stream: s_axis_tdata is {b, a}, each NODES*WIDTH bits, slot i of a at bits
 * [i*WIDTH +: WIDTH] (little-endian slots, as tally_vec_t in memory).
 * tuser travels with its pair unchanged, for tags such as a table index.
 * Data registers have no reset; only tvalid does.
 */
module gcounter_merge #(
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

    // merged vector out
    output wire logic [NODES*WIDTH-1:0]   m_axis_tdata,
    output wire logic [USER_W-1:0]        m_axis_tuser,
    output wire logic                     m_axis_tvalid,
    input  wire logic                     m_axis_tready
);

localparam int VEC_W = NODES*WIDTH;

initial begin
    if (NODES < 1) $fatal(1, "%m: NODES must be at least 1");
    if (WIDTH < 1) $fatal(1, "%m: WIDTH must be at least 1");
    if (USER_W < 1) $fatal(1, "%m: USER_W must be at least 1");
end

logic [VEC_W-1:0]  m_axis_tdata_reg = '0, m_axis_tdata_next;
logic [USER_W-1:0] m_axis_tuser_reg = '0, m_axis_tuser_next;
logic              m_axis_tvalid_reg = 1'b0, m_axis_tvalid_next;

assign s_axis_tready = m_axis_tready || !m_axis_tvalid_reg;

assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tuser = m_axis_tuser_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;

always_comb begin
    m_axis_tdata_next = m_axis_tdata_reg;
    m_axis_tuser_next = m_axis_tuser_reg;
    m_axis_tvalid_next = m_axis_tvalid_reg && !m_axis_tready;

    if (s_axis_tvalid && s_axis_tready) begin
        for (int i = 0; i < NODES; i++) begin
            m_axis_tdata_next[i*WIDTH +: WIDTH] =
                s_axis_tdata[VEC_W + i*WIDTH +: WIDTH] > s_axis_tdata[i*WIDTH +: WIDTH]
                ? s_axis_tdata[VEC_W + i*WIDTH +: WIDTH] : s_axis_tdata[i*WIDTH +: WIDTH];
        end
        m_axis_tuser_next = s_axis_tuser;
        m_axis_tvalid_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    m_axis_tdata_reg <= m_axis_tdata_next;
    m_axis_tuser_reg <= m_axis_tuser_next;
    m_axis_tvalid_reg <= m_axis_tvalid_next;

    if (rst) begin
        m_axis_tvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
