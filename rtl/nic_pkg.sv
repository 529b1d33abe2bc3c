// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * Constants and types of the NIC pipeline shared by its modules: the wire
 * protocol's numbers (docs/wire.md; C: dataplane/wire.h) and the frame
 * descriptor the NIC hands the host for every frame.
 */
package nic_pkg;

// Drop reasons, in check order: the values of C's enum tally_wire_verdict.
localparam logic [3:0] V_OK = 4'd0;
localparam logic [3:0] V_SHORT = 4'd1;
localparam logic [3:0] V_NOT_IPV4_UDP = 4'd2;
localparam logic [3:0] V_BAD_LENGTH = 4'd3;
localparam logic [3:0] V_BAD_MAGIC = 4'd4;
localparam logic [3:0] V_BAD_VERSION = 4'd5;
localparam logic [3:0] V_BAD_TYPE = 4'd6;
localparam logic [3:0] V_BAD_HEADER = 4'd7;
localparam logic [3:0] V_BAD_COUNT = 4'd8;
localparam logic [3:0] V_BAD_MAC = 4'd9;
localparam logic [3:0] V_BAD_RECORD = 4'd10;
localparam int N_VERDICTS = 11;

// Frame types (enum tally_wire_type).
localparam logic [7:0] T_REPLICATE = 8'd1;
localparam logic [7:0] T_REPLICATE_ACK = 8'd2;
localparam logic [7:0] T_READ_REQUEST = 8'd3;
localparam logic [7:0] T_READ_REPLY = 8'd4;
localparam logic [7:0] T_REPAIR = 8'd5;
localparam logic [7:0] T_DIGEST = 8'd6;
localparam logic [7:0] T_CLIENT_REQUEST = 8'd7;
localparam logic [7:0] T_CLIENT_REPLY = 8'd8;
localparam logic [7:0] T_CAUSAL = 8'd9;
localparam logic [7:0] T_MVSTATE = 8'd10;
localparam logic [7:0] T_NOTE = 8'd11;

// Frame layout.
localparam int BEAT_BYTES = 64;
localparam int MIN_FRAME = 42 + 86 + 16;   // headers, tally header, MAC
localparam int MAX_FRAME = 42 + 8972;      // a 9000-byte MTU
localparam int MAX_BEATS = (MAX_FRAME + BEAT_BYTES - 1) / BEAT_BYTES;

// What becomes of a frame (enum tally_offload_disposition).
localparam logic [1:0] D_CONSUMED = 2'd0;
localparam logic [1:0] D_TO_HOST = 2'd1;
localparam logic [1:0] D_DROPPED = 2'd2;

// The frame's addresses and header, as the host needs them to reply
// (struct tally_wire_addr and tally_wire_hdr); valid unless dropped.
typedef struct packed {
    logic [47:0] dst_mac;
    logic [47:0] src_mac;
    logic [31:0] src_ip;
    logic [31:0] dst_ip;
    logic [15:0] src_port;
    logic [15:0] dst_port;
    logic [7:0]  ftype;
    logic [15:0] sender;
    logic [15:0] count;
    logic [31:0] epoch;
    logic [63:0] seq;
    logic [63:0] fref;
} hdr_t;

// A frame's descriptor from the rx path: header, arrival number (frames
// the rx path accepted before it, mod 2^16), verdict and whether its records
// go to the table.
typedef struct packed {
    hdr_t        hdr;
    logic [15:0] fnum;
    logic [3:0]  verdict;
    logic        merge;
} desc_t;

endpackage

`resetall
