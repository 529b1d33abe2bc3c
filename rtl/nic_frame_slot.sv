// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * One frame slot of the NIC's receive path: a store for one frame's beats
 * and a SipHash-2-4-128 engine that checks the frame's MAC trailer.
 *
 * C reference: the MAC check of tally_wire_decode_payload() in
 * dataplane/wire.c (crypto_shorthash_siphashx24 over the UDP payload up to
 * the 16-byte trailer, compared with the trailer); tests/rtl/nic proves the
 * whole receive path equal to the C decoder.
 *
 * Life of a slot: free -> (claim) filling: the parser writes the frame's
 * beats -> (job) checking: the engine reads the beats back and hashes the
 * payload, eight 8-byte words a beat -> done: the retire stage reads the
 * records back and releases the slot. A job without check (a frame the
 * parser already condemned) goes straight to done. The NIC has many slots
 * because SipHash is sequential within a frame: one engine hashes about
 * 4 bytes a clock, so line rate needs frames hashed side by side.
 *
 * The payload starts at frame byte 42, so its 8-byte words straddle beats:
 * the engine keeps a beat's last 6 bytes (58..63) as the carry into the
 * next beat's first word. A frame that reaches the MAC check has passed the
 * length checks, so its payload is 86 + 64k bytes: the last block is the
 * final carry plus the length byte, and the trailer is bytes 0..15 of the
 * last beat.
 *
 * Timing: 16 clocks a beat. The payload of a frame of B beats is
 * W = 8 B - 13 words, which siphash24 takes in 2 W + 9 clocks from start
 * (finalization included); the read of each beat (S_LOAD) falls in the
 * clock of the previous word's second SipRound, so it costs nothing: done
 * rises about 16 (B - 2) + 16 clocks after the job. tests/rtl/nic asserts
 * the resulting latency from a frame's last beat to its first record
 * exactly: 16 (B - 2) + 23 clocks.
 */
module nic_frame_slot #(
    // beats the slot stores: a whole frame of the largest valid size
    parameter int BEATS = nic_pkg::MAX_BEATS
) (
    input  wire logic                    clk,
    input  wire logic                    rst,

    // claim the free slot for a new frame
    input  wire logic                    claim,
    output wire logic                    free,

    // beat writes from the parser
    input  wire logic                    wr_en,
    input  wire logic [ADDR_W-1:0]       wr_addr,
    input  wire logic [511:0]            wr_data,

    // the frame is complete: B beats; check its MAC with key, or not
    input  wire logic                    job,
    input  wire logic                    job_check,
    input  wire logic [CNT_W-1:0]        job_beats,
    input  wire logic [127:0]            job_key,

    // the verdict of the MAC check, valid while done
    output wire logic                    done,
    output wire logic                    mac_ok,

    // the retire stage reads the beats of a done frame (registered read)
    input  wire logic                    rd_en,
    input  wire logic [ADDR_W-1:0]       rd_addr,
    output wire logic [511:0]            rd_data,
    input  wire logic                    release_slot
);

localparam int ADDR_W = $clog2(BEATS);
localparam int CNT_W = $clog2(BEATS + 1);

initial begin
    if (BEATS < 3) $fatal(1, "%m: BEATS must be at least 3");
end

typedef enum logic [2:0] {
    S_FREE, S_FILL, S_LOAD, S_WORDS, S_FINAL, S_HASH, S_DONE
} state_t;

state_t            state_reg = S_FREE, state_next;
logic [CNT_W-1:0]  beats_reg = '0, beats_next;
logic [CNT_W-1:0]  beat_reg = '0, beat_next;    // beat being hashed
logic [2:0]        word_reg = '0, word_next;    // word of that beat
logic [47:0]       carry_reg = '0, carry_next;  // bytes 58..63 of the last beat
logic              mac_ok_reg = 1'b0, mac_ok_next;

// Memory contents are data, not logic: no toggle coverage (it would be
// BEATS x 512 points and minutes of Verilation for nothing a test decides).
/* verilator coverage_off */
logic [511:0] ram [BEATS];
/* verilator coverage_on */
logic [511:0] rd_data_reg = '0;
logic         ram_rd;
logic [ADDR_W-1:0] ram_rd_addr;

// engine
logic         sip_start, sip_valid, sip_last, sip_ready, sip_done;
logic [63:0]  sip_word;
logic [127:0] sip_hash;
logic [559:0] stream;  // {this beat, carry}: word j at [64j +: 64]
logic [7:0]   payload_len;  // low byte of the payload length

assign free = state_reg == S_FREE;
assign done = state_reg == S_DONE;
assign mac_ok = mac_ok_reg;
assign rd_data = rd_data_reg;

assign stream = {rd_data_reg, carry_reg};
assign payload_len = {beats_reg[1:0], 6'd0} - 8'd106;  // 64 B - 106, mod 256

always_comb begin
    state_next = state_reg;
    beats_next = beats_reg;
    beat_next = beat_reg;
    word_next = word_reg;
    carry_next = carry_reg;
    mac_ok_next = mac_ok_reg;

    ram_rd = 1'b0;
    ram_rd_addr = beat_reg[ADDR_W-1:0];
    sip_start = 1'b0;
    sip_valid = 1'b0;
    sip_last = 1'b0;
    sip_word = stream[64*word_reg +: 64];

    case (state_reg)
        S_FREE, S_FILL: begin
            if (job) begin
                beats_next = job_beats;
                beat_next = '0;
                mac_ok_next = 1'b0;
                sip_start = job_check;
                state_next = job_check ? S_LOAD : S_DONE;
            end else if (claim) begin
                state_next = S_FILL;
            end
        end
        S_LOAD: begin
            // read the beat; the payload starts at word 6 of beat 0
            ram_rd = 1'b1;
            word_next = beat_reg == '0 ? 3'd6 : 3'd0;
            state_next = S_WORDS;
        end
        S_WORDS: begin
            sip_valid = 1'b1;
            if (sip_ready) begin
                word_next = word_reg + 3'd1;
                if (word_reg == 3'd7) begin
                    carry_next = rd_data_reg[511:464];
                    beat_next = beat_reg + 1'b1;
                    state_next = beat_reg + 1'b1 == beats_reg - 1'b1 ? S_FINAL : S_LOAD;
                end
            end
        end
        S_FINAL: begin
            sip_valid = 1'b1;
            sip_last = 1'b1;
            sip_word = {payload_len, 8'd0, carry_reg};
            if (sip_ready) begin
                ram_rd = 1'b1;  // beat_reg is the trailer's beat
                state_next = S_HASH;
            end
        end
        S_HASH: begin
            if (sip_done) begin
                mac_ok_next = sip_hash == rd_data_reg[127:0];
                state_next = S_DONE;
            end
        end
        S_DONE: begin
            ram_rd = rd_en;
            ram_rd_addr = rd_addr;
            if (release_slot) begin
                state_next = S_FREE;
            end
        end
        default: state_next = S_FREE;
    endcase
end

always_ff @(posedge clk) begin
    if (wr_en) begin
        ram[wr_addr] <= wr_data;
    end
    if (ram_rd) begin
        rd_data_reg <= ram[ram_rd_addr];
    end

    state_reg <= state_next;
    beats_reg <= beats_next;
    beat_reg <= beat_next;
    word_reg <= word_next;
    carry_reg <= carry_next;
    mac_ok_reg <= mac_ok_next;

    if (rst) begin
        state_reg <= S_FREE;
        mac_ok_reg <= 1'b0;
    end
end

siphash24 sip_inst (
    .clk(clk),
    .rst(rst),
    .key(job_key),
    .start(sip_start),
    .s_word(sip_word),
    .s_last(sip_last),
    .s_valid(sip_valid),
    .s_ready(sip_ready),
    .m_hash(sip_hash),
    .m_valid(sip_done)
);

endmodule

`resetall
