// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The NIC's control and status registers: an AXI4-Lite slave implementing
 * the register map of rtl/csr.toml (docs/csr.md) through the generated
 * package tally_csr_pkg: identity and build parameters, CONTROL, STATUS,
 * the two write-only SipHash keys, and 64-bit telemetry counters.
 *
 * C reference: the map itself, tally_csr.h (generated from the same source);
 * tests/rtl/csr checks this block against a C model of that map, register by
 * register and clock by clock.
 *
 * Bus: 32-bit data, CSR_ADDR_W byte-address bits, no AxPROT (every access
 * is allowed). The two low address bits are ignored. AW and W are accepted
 * independently into one holding register each (s_axil_awready is
 * !aw_full, s_axil_wready is !w_full: registered, no combinational path
 * from any input to any ready); a write executes the first clock both are
 * held and the B channel is free, and takes effect at the edge at which
 * s_axil_bvalid rises. A read is accepted when the R channel is empty
 * (s_axil_arready is !s_axil_rvalid) and returns the state of the clock of
 * its AR handshake, registered, the next clock. So a write and a read each
 * take at least two clocks; a CSR block needs no more.
 *
 * Responses: OKAY, or SLVERR (with read data 0, and no effect) for a read
 * of an unmapped address, and for a write to an unmapped address or to a
 * read-only register. Write-only registers (the keys) read 0 with OKAY.
 * Byte strobes are honoured on CONTROL and the keys.
 *
 * Counters: cnt_inc[i] adds 1 to counter i in that clock; 64 bits, wrapping
 * only at 2^64. A read of counter i's LO returns bits [31:0] and latches
 * bits [63:32] of the same clock into counter i's own latch, which a read of
 * its HI returns (an atomic 64-bit read as LO then HI). A write of 1 to
 * CONTROL.STATS_CLEAR zeroes every counter and latch as it takes effect;
 * cnt_inc in that clock counts after the clear, so no event is lost. A LO
 * read in the clock of a clear latches the high half it read with.
 */
module nic_csr
    import tally_csr_pkg::*;
#(
    // read back from BUILD_ID: the id of the build (e.g. the commit's first 32 bits)
    parameter int unsigned BUILD_ID = 0,
    // read back from TABLE_DEPTH: entries in the counter table
    parameter int TABLE_DEPTH = 4096,
    // read back from NODES: slots per counter vector
    parameter int NODES = 8,
    // read back from MAC_ENGINES: SipHash-2-4 engines checking MACs
    parameter int MAC_ENGINES = 1,
    // test only: every counter's value after reset, so a test reaches the
    // carry at 2^32 and the wrap at 2^64 quickly. 0 in every real build;
    // STATS_CLEAR always zeroes.
    parameter logic [63:0] CNT_RESET = 64'd0
) (
    input  wire logic                                clk,
    input  wire logic                                rst,

    // AXI4-Lite slave: write address, write data, write response
    input  wire logic [CSR_ADDR_W-1:0]               s_axil_awaddr,
    input  wire logic                                s_axil_awvalid,
    output wire logic                                s_axil_awready,
    input  wire logic [CSR_DATA_W-1:0]               s_axil_wdata,
    input  wire logic [CSR_DATA_W/8-1:0]             s_axil_wstrb,
    input  wire logic                                s_axil_wvalid,
    output wire logic                                s_axil_wready,
    output wire logic [1:0]                          s_axil_bresp,
    output wire logic                                s_axil_bvalid,
    input  wire logic                                s_axil_bready,

    // AXI4-Lite slave: read address, read data
    input  wire logic [CSR_ADDR_W-1:0]               s_axil_araddr,
    input  wire logic                                s_axil_arvalid,
    output wire logic                                s_axil_arready,
    output wire logic [CSR_DATA_W-1:0]               s_axil_rdata,
    output wire logic [1:0]                          s_axil_rresp,
    output wire logic                                s_axil_rvalid,
    input  wire logic                                s_axil_rready,

    // telemetry events: bit i adds 1 to counter i (tally_csr_pkg::CNT_*)
    input  wire logic [tally_csr_pkg::N_COUNTERS-1:0] cnt_inc,
    // STATUS.IDLE: the input port has nothing in flight
    input  wire logic                                status_idle,

    // CONTROL.MERGE_ENABLE
    output wire logic                                ctrl_merge_enable,
    // SipHash keys, key byte j at bits [8j+7:8j]
    output wire logic [127:0]                        node_key
);

localparam int WORD_BYTES = CSR_DATA_W/8;
localparam int KEY_W = CSR_NODE_KEY_COUNT*CSR_DATA_W;
localparam logic [1:0] RESP_OKAY = 2'b00;
localparam logic [1:0] RESP_SLVERR = 2'b10;

initial begin
    if (CSR_DATA_W != 32) $fatal(1, "%m: tally_csr_pkg::CSR_DATA_W must be 32");
    if (KEY_W != 128 || CSR_NODE_KEY_COUNT*CSR_DATA_W != 128)
        $fatal(1, "%m: the register map must hold a 128-bit key");
    if (N_COUNTERS < 1) $fatal(1, "%m: the register map has no counters");
    if (TABLE_DEPTH < 1) $fatal(1, "%m: TABLE_DEPTH must be at least 1");
    if (NODES < 1) $fatal(1, "%m: NODES must be at least 1");
    if (MAC_ENGINES < 1) $fatal(1, "%m: MAC_ENGINES must be at least 1");
end

// The word an address selects: the two low bits are ignored.
function automatic logic [CSR_ADDR_W-1:0] word_addr(input logic [CSR_ADDR_W-1:0] a);
    return a & ~CSR_ADDR_W'(WORD_BYTES-1);
endfunction

// Offset of counter i's low half; its high half is one word above.
function automatic logic [CSR_ADDR_W-1:0] cnt_lo_addr(input int i);
    return CSR_CNT_BASE + CSR_ADDR_W'(i*CSR_CNT_STRIDE);
endfunction

// write path: one held address, one held data word, one response
logic [CSR_ADDR_W-1:0]   aw_addr_reg = '0, aw_addr_next;
logic                    aw_full_reg = 1'b0, aw_full_next;
logic [CSR_DATA_W-1:0]   w_data_reg = '0, w_data_next;
logic [WORD_BYTES-1:0]   w_strb_reg = '0, w_strb_next;
logic                    w_full_reg = 1'b0, w_full_next;
logic [1:0]              bresp_reg = RESP_OKAY, bresp_next;
logic                    bvalid_reg = 1'b0, bvalid_next;

// read path: one response
logic [CSR_DATA_W-1:0]   rdata_reg = '0, rdata_next;
logic [1:0]              rresp_reg = RESP_OKAY, rresp_next;
logic                    rvalid_reg = 1'b0, rvalid_next;

// registers
logic                    merge_enable_reg = CSR_CONTROL_RESET[CSR_CONTROL_MERGE_ENABLE_BIT];
logic                    merge_enable_next;
logic [KEY_W-1:0]        node_key_reg = '0, node_key_next;
logic [63:0]             cnt_reg[N_COUNTERS];
logic [63:0]             cnt_next[N_COUNTERS];
logic [31:0]             cnt_hi_reg[N_COUNTERS];
logic [31:0]             cnt_hi_next[N_COUNTERS];

assign s_axil_awready = !aw_full_reg;
assign s_axil_wready = !w_full_reg;
assign s_axil_bresp = bresp_reg;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = !rvalid_reg;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = rresp_reg;
assign s_axil_rvalid = rvalid_reg;

assign ctrl_merge_enable = merge_enable_reg;
assign node_key = node_key_reg;

// The write that executes this clock, if any, decoded.
logic                    wr_go;
logic [CSR_ADDR_W-1:0]   wr_word;
logic [CSR_DATA_W-1:0]   wr_mask;
logic                    wr_ok;
logic                    wr_clear;

// The read accepted this clock, decoded.
logic                    rd_go;
logic [CSR_ADDR_W-1:0]   rd_word;

always_comb begin
    wr_go = aw_full_reg && w_full_reg && (!bvalid_reg || s_axil_bready);
    wr_word = word_addr(aw_addr_reg);
    for (int b = 0; b < WORD_BYTES; b++) begin
        wr_mask[b*8 +: 8] = {8{w_strb_reg[b]}};
    end

    rd_go = s_axil_arvalid && s_axil_arready;
    rd_word = word_addr(s_axil_araddr);
end

always_comb begin
    aw_addr_next = aw_addr_reg;
    aw_full_next = aw_full_reg;
    w_data_next = w_data_reg;
    w_strb_next = w_strb_reg;
    w_full_next = w_full_reg;
    bresp_next = bresp_reg;
    bvalid_next = bvalid_reg && !s_axil_bready;

    rdata_next = rdata_reg;
    rresp_next = rresp_reg;
    rvalid_next = rvalid_reg && !s_axil_rready;

    merge_enable_next = merge_enable_reg;
    node_key_next = node_key_reg;
    wr_ok = 1'b0;
    wr_clear = 1'b0;

    // write address and data, each held until the write executes
    if (s_axil_awvalid && s_axil_awready) begin
        aw_addr_next = s_axil_awaddr;
        aw_full_next = 1'b1;
    end
    if (s_axil_wvalid && s_axil_wready) begin
        w_data_next = s_axil_wdata;
        w_strb_next = s_axil_wstrb;
        w_full_next = 1'b1;
    end

    // the write: writable registers only, anything else is SLVERR
    if (wr_go) begin
        if (wr_word == CSR_CONTROL) begin
            wr_ok = 1'b1;
            if (wr_mask[CSR_CONTROL_MERGE_ENABLE_BIT]) begin
                merge_enable_next = w_data_reg[CSR_CONTROL_MERGE_ENABLE_BIT];
            end
            wr_clear = wr_mask[CSR_CONTROL_STATS_CLEAR_BIT] && w_data_reg[CSR_CONTROL_STATS_CLEAR_BIT];
        end
        for (int i = 0; i < CSR_NODE_KEY_COUNT; i++) begin
            if (wr_word == CSR_NODE_KEY0 + CSR_ADDR_W'(i*WORD_BYTES)) begin
                wr_ok = 1'b1;
                node_key_next[i*CSR_DATA_W +: CSR_DATA_W] =
                    (node_key_reg[i*CSR_DATA_W +: CSR_DATA_W] & ~wr_mask) | (w_data_reg & wr_mask);
            end
        end
        aw_full_next = 1'b0;
        w_full_next = 1'b0;
        bresp_next = wr_ok ? RESP_OKAY : RESP_SLVERR;
        bvalid_next = 1'b1;
    end

    // counters: a clear, then this clock's events
    for (int i = 0; i < N_COUNTERS; i++) begin
        cnt_next[i] = (wr_clear ? 64'd0 : cnt_reg[i]) + 64'(cnt_inc[i]);
        cnt_hi_next[i] = wr_clear ? 32'd0 : cnt_hi_reg[i];
    end

    // the read: the state of this clock
    if (rd_go) begin
        rdata_next = '0;
        rresp_next = RESP_OKAY;
        case (rd_word)
            CSR_ID: rdata_next = CSR_ID_VALUE;
            CSR_BUILD_ID: rdata_next = CSR_DATA_W'(BUILD_ID);
            CSR_CONTROL: rdata_next[CSR_CONTROL_MERGE_ENABLE_BIT] = merge_enable_reg;
            CSR_STATUS: rdata_next[CSR_STATUS_IDLE_BIT] = status_idle;
            CSR_TABLE_DEPTH: rdata_next = CSR_DATA_W'(TABLE_DEPTH);
            CSR_NODES: rdata_next = CSR_DATA_W'(NODES);
            CSR_MAC_ENGINES: rdata_next = CSR_DATA_W'(MAC_ENGINES);
            // the keys are write-only: they read 0
            CSR_NODE_KEY0, CSR_NODE_KEY1, CSR_NODE_KEY2, CSR_NODE_KEY3: rdata_next = '0;
            default: begin
                rresp_next = RESP_SLVERR;
                for (int i = 0; i < N_COUNTERS; i++) begin
                    if (rd_word == cnt_lo_addr(i)) begin
                        rdata_next = cnt_reg[i][31:0];
                        rresp_next = RESP_OKAY;
                        cnt_hi_next[i] = cnt_reg[i][63:32];
                    end
                    if (rd_word == cnt_lo_addr(i) + CSR_ADDR_W'(WORD_BYTES)) begin
                        rdata_next = cnt_hi_reg[i];
                        rresp_next = RESP_OKAY;
                    end
                end
            end
        endcase
        rvalid_next = 1'b1;
    end
end

always_ff @(posedge clk) begin
    aw_addr_reg <= aw_addr_next;
    aw_full_reg <= aw_full_next;
    w_data_reg <= w_data_next;
    w_strb_reg <= w_strb_next;
    w_full_reg <= w_full_next;
    bresp_reg <= bresp_next;
    bvalid_reg <= bvalid_next;
    rdata_reg <= rdata_next;
    rresp_reg <= rresp_next;
    rvalid_reg <= rvalid_next;
    merge_enable_reg <= merge_enable_next;
    node_key_reg <= node_key_next;
    cnt_reg <= cnt_next;
    cnt_hi_reg <= cnt_hi_next;

    if (rst) begin
        aw_full_reg <= 1'b0;
        w_full_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
        merge_enable_reg <= CSR_CONTROL_RESET[CSR_CONTROL_MERGE_ENABLE_BIT];
        node_key_reg <= '0;
        for (int i = 0; i < N_COUNTERS; i++) begin
            cnt_reg[i] <= CNT_RESET;
            cnt_hi_reg[i] <= 32'd0;
        end
    end
end

endmodule

`resetall
