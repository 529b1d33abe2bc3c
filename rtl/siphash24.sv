// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * SipHash-2-4 with 128-bit output over a stream of 64-bit message words,
 * one SipRound per clock: the NIC's frame MAC engine (docs/wire.md).
 *
 * C reference: libsodium's crypto_shorthash_siphashx24() (the MAC the host
 * computes in dataplane/wire.c); tests/rtl/siphash24 proves this module
 * equal to it for every length 0..256 and for random frames up to 9000 bytes.
 *
 * Use: pulse start (the key is sampled then), then hand over the message as
 * little-endian 64-bit words, the last one (s_last) already padded by the
 * caller: the 0..7 bytes left over, zeros, and (length & 0xff) in byte 7. A
 * message of L bytes is W = L/8 + 1 words (floor), so even L = 0 has one.
 * m_hash is the 16-byte MAC, byte j at bits [8j+7:8j], while m_valid is high.
 *
 * Timing: a word takes 2 clocks (its two SipRounds): s_ready is high in the
 * clock of the handshake and low in the next. After the s_last word,
 * finalization takes 8 clocks (4 + 4 rounds). Counting the clock in which
 * start is sampled as clock 0 and offering every word as soon as s_ready
 * allows (no bubbles), m_valid is first high in clock 2*W + 9, that is
 * 2*W + 8 rising edges after the edge that samples start; each clock in which
 * s_ready is high but s_valid is low adds one clock. Throughput: 64 bits per
 * 2 clocks; a 1500-byte frame (W = 188) has m_valid in clock 385.
 *
 * start: legal in any clock; it reloads the state from key and abandons any
 * message in progress (so it also aborts a frame being dropped). After reset
 * the engine is idle (s_ready and m_valid low) until start. A start in the
 * same clock as a word handshake wins and the word is NOT taken, although
 * s_valid && s_ready were both high: the caller must hold s_valid low in the
 * clock it raises start and offer the first word from the next clock on.
 *
 * Datapath: one SipRound of four 64-bit lanes, with the per-word and
 * finalization xors folded around it (v3 ^= m before the first round of a
 * word, v0 ^= m after its second, v2 ^= 0xee and v1 ^= 0xdd before the first
 * round of each finalization half). The message register holds the word
 * between its two rounds and, after the first finalization half, the first
 * 8 bytes of the MAC; the last 8 are v0^v1^v2^v3 of the final state, which
 * holds until the next start. State registers have no reset; only the FSM
 * does. No parameters: SipHash-2-4-128 is fixed.
 */
module siphash24 (
    input  wire logic         clk,
    input  wire logic         rst,

    // key: k0 = key[63:0] (key bytes 0..7, little-endian), k1 = key[127:64]
    input  wire logic [127:0] key,
    // load the initial state from key (legal in any clock; see above)
    input  wire logic         start,

    // message words, little-endian (byte j at bits [8j+7:8j]); s_last marks
    // the final block, already padded by the caller
    input  wire logic [63:0]  s_word,
    input  wire logic         s_last,
    input  wire logic         s_valid,
    output wire logic         s_ready,

    // the 16-byte MAC: m_hash[8j+7:8j] = byte j of libsodium's output
    output wire logic [127:0] m_hash,
    // high from the end of finalization until the next start
    output wire logic         m_valid
);

// SipHash initial state, "somepseudorandomlygeneratedbytes"; the 128-bit
// variant xors v1 with 0xee (libsodium: 0x...6d ^ 0xee = 0x...83).
localparam logic [63:0] IV0 = 64'h736f6d6570736575;
localparam logic [63:0] IV1 = 64'h646f72616e646f6d ^ 64'hee;
localparam logic [63:0] IV2 = 64'h6c7967656e657261;
localparam logic [63:0] IV3 = 64'h7465646279746573;

typedef enum logic [2:0] {
    STATE_IDLE,    // after reset: nothing to do until start
    STATE_ABSORB,  // s_ready: waiting for a word
    STATE_ROUND2,  // second SipRound of the word just taken
    STATE_FINAL,   // finalization round fin_cnt_reg (0..7)
    STATE_DONE     // m_valid
} state_t;

state_t state_reg = STATE_IDLE, state_next;

logic [63:0] v0_reg = '0, v0_next;
logic [63:0] v1_reg = '0, v1_next;
logic [63:0] v2_reg = '0, v2_next;
logic [63:0] v3_reg = '0, v3_next;
// the word between its two rounds; then the MAC's first 8 bytes
logic [63:0] m_reg = '0, m_next;
logic        last_reg = 1'b0, last_next;
logic [2:0]  fin_cnt_reg = '0, fin_cnt_next;

// the round's inputs, with this clock's xors folded in
wire [63:0] a0 = v0_reg;
wire [63:0] a1 = v1_reg ^ (state_reg == STATE_FINAL && fin_cnt_reg == 3'd4 ? 64'hdd : 64'h0);
wire [63:0] a2 = v2_reg ^ (state_reg == STATE_FINAL && fin_cnt_reg == 3'd0 ? 64'hee : 64'h0);
wire [63:0] a3 = v3_reg ^ (state_reg == STATE_ABSORB ? s_word : 64'h0);

// one SipRound, as libsodium's SIPROUND macro
wire [63:0] b0 = a0 + a1;                          // v0 += v1
wire [63:0] b2 = a2 + a3;                          // v2 += v3
wire [63:0] b1 = {a1[50:0], a1[63:51]} ^ b0;       // v1 = rotl(v1, 13) ^ v0
wire [63:0] b3 = {a3[47:0], a3[63:48]} ^ b2;       // v3 = rotl(v3, 16) ^ v2
wire [63:0] r0 = {b0[31:0], b0[63:32]} + b3;       // v0 = rotl(v0, 32) + v3
wire [63:0] c2 = b2 + b1;                          // v2 += v1
wire [63:0] r3 = {b3[42:0], b3[63:43]} ^ r0;       // v3 = rotl(v3, 21) ^ v0
wire [63:0] r1 = {b1[46:0], b1[63:47]} ^ c2;       // v1 = rotl(v1, 17) ^ v2
wire [63:0] r2 = {c2[31:0], c2[63:32]};            // v2 = rotl(v2, 32)

// the MAC's second half once finalization is done
wire [63:0] v_xor = v0_reg ^ v1_reg ^ v2_reg ^ v3_reg;

assign s_ready = state_reg == STATE_ABSORB;
assign m_valid = state_reg == STATE_DONE;
assign m_hash = {v_xor, m_reg};

always_comb begin
    state_next = state_reg;
    v0_next = v0_reg;
    v1_next = v1_reg;
    v2_next = v2_reg;
    v3_next = v3_reg;
    m_next = m_reg;
    last_next = last_reg;
    fin_cnt_next = fin_cnt_reg;

    case (state_reg)
        STATE_ABSORB: begin
            if (s_valid) begin
                {v3_next, v2_next, v1_next, v0_next} = {r3, r2, r1, r0};
                m_next = s_word;
                last_next = s_last;
                state_next = STATE_ROUND2;
            end
        end
        STATE_ROUND2: begin
            {v3_next, v2_next, v1_next} = {r3, r2, r1};
            v0_next = r0 ^ m_reg;
            fin_cnt_next = 3'd0;
            state_next = last_reg ? STATE_FINAL : STATE_ABSORB;
        end
        STATE_FINAL: begin
            {v3_next, v2_next, v1_next, v0_next} = {r3, r2, r1, r0};
            if (fin_cnt_reg == 3'd4) begin
                // the state after the first 4 rounds: the MAC's first half
                m_next = v_xor;
            end
            fin_cnt_next = fin_cnt_reg + 3'd1;
            if (fin_cnt_reg == 3'd7) begin
                state_next = STATE_DONE;
            end
        end
        default: begin
            // STATE_IDLE, STATE_DONE: hold until start
        end
    endcase

    if (start) begin
        v0_next = key[63:0] ^ IV0;
        v1_next = key[127:64] ^ IV1;
        v2_next = key[63:0] ^ IV2;
        v3_next = key[127:64] ^ IV3;
        state_next = STATE_ABSORB;
    end
end

always_ff @(posedge clk) begin
    state_reg <= state_next;
    v0_reg <= v0_next;
    v1_reg <= v1_next;
    v2_reg <= v2_next;
    v3_reg <= v3_next;
    m_reg <= m_next;
    last_reg <= last_next;
    fin_cnt_reg <= fin_cnt_next;

    if (rst) begin
        state_reg <= STATE_IDLE;
    end
end

endmodule

`resetall
