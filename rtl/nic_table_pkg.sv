// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Operation codes of the NIC's counter table (rtl/nic_table.sv), shared by
 * the table, the NIC top and the C code that drives them.
 *
 * C reference: the cpu backend's table calls in dataplane/offload_cpu.c
 * (row_set, merge_slot, merge_state, read, compare), which each op equals.
 */
package nic_table_pkg;

// width of the op field (s_op, m_op)
localparam int OP_W = 3;

// no table access; passes through (an end-of-frame marker)
localparam logic [OP_W-1:0] OP_NOP = 3'd0;
// row := {valid, key, P 0, N 0} (cpu_row_set with a key)
localparam logic [OP_W-1:0] OP_SET = 3'd1;
// row := {invalid, 0, 0, 0} (cpu_row_set with NULL)
localparam logic [OP_W-1:0] OP_CLEAR = 3'd2;
// on a hit, P := max(P, s_p), N := max(N, s_n) slot-wise (cpu_merge_state/_slot)
localparam logic [OP_W-1:0] OP_MERGE = 3'd3;
// no change; returns the row (cpu_read)
localparam logic [OP_W-1:0] OP_READ = 3'd4;
// no change; returns the row and its orders against s_p, s_n (cpu_compare)
localparam logic [OP_W-1:0] OP_COMPARE = 3'd5;

endpackage

`resetall
