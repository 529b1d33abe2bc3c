// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors

`resetall
`timescale 1ns / 1ps
`default_nettype none

/*
 * The NIC's receive path: parse and check every frame on the 512-bit rx
 * stream as docs/wire.md says, check its MAC in one of SLOTS frame slots,
 * and retire each frame once its MAC is known: a descriptor per frame
 * (header, verdict, whether it merges, its arrival number) and, for a valid
 * REPLICATE frame, its slot records, each followed by nothing else until an
 * end-of-frame marker.
 *
 * C reference: tally_wire_decode() in dataplane/wire.c (protocol version
 * 2). The checks and their order are the same, so a frame gets the same
 * verdict here as in C; tests/rtl/nic feeds both the same frames and
 * compares.
 *
 * Records: a frame type fixes the size of its records, except client
 * records (CLIENT_REQUEST, CLIENT_REPLY), 1 to 6 beats, whose beat 0 says in
 * byte 1 how many beats follow. The parser walks the records as they
 * stream, as tally_wire_decode() walks them: at a record's beat 0 it counts
 * a record and takes the record's length (its type's size, or 1 + byte 1),
 * and the beats after it are that record's. At the frame's last beat (the
 * MAC trailer) the count check passes when the last record ended just
 * before it and the walk found the header's count of records; for a type
 * of fixed size that is the payload length check of C. Each record beat is
 * checked as it arrives (record_bad(): record_ok() and client_ok() of C),
 * knowing its place in its record; a client record's beat 0 also checks that
 * byte 1 is the number of beats its lengths need, so the beats after it are
 * read as what they must be only in a record whose beat 0 passed.
 *
 * Stream: beat k of a frame carries frame bytes 64k..64k+63, byte i of the
 * beat at tdata[8i +: 8]; every beat but the last is full; tkeep of the
 * last beat marks its valid bytes (contiguous from byte 0). Frames longer
 * than the largest valid frame are read to their end, but their beats past
 * that size are not stored: such a frame fails a length check anyway, and
 * every check before that one needs only the first two beats.
 *
 * The parser never stalls inside a frame. Between frames it waits for any
 * slot to be free, taking the first free one after the last frame's: the
 * only back-pressure on the rx stream. Checks of a beat are done as it arrives; the verdict is
 * known at the frame's last beat, except the MAC and the records, which only
 * count if the MAC is right and are settled by the slot.
 *
 * Frames retire as their MACs complete, not in arrival order: a jumbo
 * frame's MAC takes over 2,000 clocks, and frames behind it must not wait
 * for it, or the slots would fill and the rx stream stall (merges commute,
 * so the order in which frames reach the table does not matter). Among the
 * slots that are done, the retire stage takes the first at or after the
 * slot it retired last (rotating priority), so every done frame retires
 * within SLOTS retirements. Slots are given out and searched in the same
 * rotation, so frames that finish in arrival order (frames of one size)
 * retire in it; others may not, and each descriptor carries the frame's
 * arrival number (frames since reset, mod 2^16) so the host can tell which
 * frame it describes.
 */
module nic_rx #(
    // slots per vector (the cluster's largest node count)
    parameter int NODES = 8,
    // frame slots, each with a MAC engine: frames checked side by side
    parameter int SLOTS = 20,
    // descriptors that may wait for the table to finish their frames
    parameter int DESC_DEPTH = 16
) (
    input  wire logic                 clk,
    input  wire logic                 rst,

    // frames from the MAC
    input  wire logic [511:0]         s_axis_tdata,
    input  wire logic [63:0]          s_axis_tkeep,
    input  wire logic                 s_axis_tvalid,
    output wire logic                 s_axis_tready,
    input  wire logic                 s_axis_tlast,

    // configuration
    input  wire logic [127:0]         node_key,
    input  wire logic                 merge_enable,

    // slot records of merged frames; every frame ends with an eof marker
    output wire logic [31:0]          m_rec_index,
    output wire logic [127:0]         m_rec_key,
    output wire logic [7:0]           m_rec_origin,
    output wire logic [63:0]          m_rec_p,
    output wire logic [63:0]          m_rec_n,
    output wire logic                 m_rec_eof,
    output wire logic                 m_rec_valid,
    input  wire logic                 m_rec_ready,

    // one descriptor per frame, in order, pushed as the frame retires
    output nic_pkg::desc_t            m_desc,
    output wire logic                 m_desc_valid,
    input  wire logic                 m_desc_ready,

    // nothing received is in flight here
    output wire logic                 idle
);

import nic_pkg::*;

localparam int SLOT_W = SLOTS > 1 ? $clog2(SLOTS) : 1;
localparam int ADDR_W = $clog2(MAX_BEATS);
localparam int CNT_W = $clog2(MAX_BEATS + 1);
localparam int BEAT_W = 11;  // beat index, saturating: frames up to 128 KiB
localparam int VB = (NODES + 7) / 8;  // beats per vector on the wire
localparam int VEC_TAIL = 8 * NODES - 64 * (VB - 1);  // live bytes of a vector's last beat
localparam int REC_DEPTH = 4;
localparam int DESC_W = $bits(desc_t);

initial begin
    if (NODES < 1 || NODES > 255) $fatal(1, "%m: NODES must be 1..255");
    if (SLOTS < 1) $fatal(1, "%m: SLOTS must be at least 1");
    if (DESC_DEPTH < 2) $fatal(1, "%m: DESC_DEPTH must be at least 2");
end

function automatic logic [7:0] byte_at(input logic [511:0] d, input int i);
    return d[8*i +: 8];
endfunction

function automatic logic [15:0] be16(input logic [511:0] d, input int i);
    return {d[8*i +: 8], d[8*(i+1) +: 8]};
endfunction

// all bytes from i (inclusive) to j (exclusive) are zero
function automatic logic zero(input logic [511:0] d, input int i, input int j);
    logic ok = 1'b1;
    for (int k = 0; k < 64; k++) begin
        if (k >= i && k < j && d[8*k +: 8] != 8'd0) ok = 1'b0;
    end
    return ok;
endfunction

// all bytes at or above n are zero (n may exceed 64)
function automatic logic zero_from(input logic [511:0] d, input logic [7:0] n);
    logic ok = 1'b1;
    for (int i = 0; i < 64; i++) begin
        if (8'(i) >= n && d[8*i +: 8] != 8'd0) ok = 1'b0;
    end
    return ok;
endfunction

// beats per record for a frame type (of a client record, its beat 0); 0 for an unknown type
function automatic logic [4:0] record_beats(input logic [7:0] t);
    case (t)
        T_REPLICATE, T_REPLICATE_ACK, T_READ_REQUEST, T_NOTE: return 5'd1;
        T_READ_REPLY, T_REPAIR: return 5'(1 + 2 * VB);
        T_DIGEST: return 5'(1 + VB);
        T_CLIENT_REQUEST, T_CLIENT_REPLY: return 5'd1;  // beat 0; its byte 1 says how many follow
        T_CAUSAL: return 5'd4;
        T_MVSTATE: return 5'(2 + VB);
        default: return 5'd0;
    endcase
endfunction

// client_ok() of wire.c at a client record's beat 0 (docs/wire.md, "Client
// records"): op 0, beats 1, w 2, r 3, key_len 4, value_len 5, token_len 6,
// flags 7, status 8-9, sib_index 10, sib_count 11, deadline 12-15, op id
// 16-31, delta or value 32-39, the key inline 40-63 (when key_len <= 24)
function automatic logic client_head_ok(input logic [511:0] d, input logic req);
    logic [7:0] kl, vl, tl, inl;
    logic ok;
    kl = byte_at(d, 4);
    vl = byte_at(d, 5);
    tl = byte_at(d, 6);
    inl = kl > 8'd24 ? 8'd0 : kl;  // key bytes inline
    // ranges, byte 1 = the beats after beat 0 (a long key's, the value's,
    // ceil(token_len / 64) of token), and the inline key zero after its bytes
    // (byte i of d >> 320 is byte 40 + i, and zero from 24 on)
    ok = byte_at(d, 0) >= 8'd1 && byte_at(d, 0) <= 8'd4 && kl <= 8'd64 && vl <= 8'd64 && tl <= 8'd192 &&
         byte_at(d, 1) == 8'(kl > 8'd24) + 8'(vl != 8'd0) + 8'(tl != 8'd0) + 8'(tl > 8'd64) + 8'(tl > 8'd128) &&
         zero_from(d >> 320, inl);
    if (req) begin
        // names a key, asks no more replicas than exist, no flag but bit 0, no result
        ok = ok && kl >= 8'd1 && byte_at(d, 2) <= 8'(NODES) && byte_at(d, 3) <= 8'(NODES) &&
             d[8*7+1 +: 7] == 7'd0 && zero(d, 8, 12);
    end else begin
        // a reply: no w, r, flags or deadline; sibling i of n, or 0 of 0
        ok = ok && zero(d, 2, 4) && byte_at(d, 7) == 8'd0 && zero(d, 12, 16) &&
             (byte_at(d, 10) < byte_at(d, 11) || zero(d, 10, 12));
    end
    return ok;
endfunction

// record_ok() of wire.c, one beat at a time: is beat ph of a record bad?
// (kl, vl, tl: the lengths its beat 0 gave.)
function automatic logic record_bad(input logic [511:0] d, input logic [7:0] t, input logic [4:0] ph,
                                    input logic [7:0] kl, input logic [7:0] vl, input logic [7:0] tl);
    logic ok;
    logic [1:0] tok;  // a client record's token beat, if this beat is one
    ok = 1'b1;
    tok = 2'(ph - 5'd1 - 5'(kl > 8'd24) - 5'(vl != 8'd0));
    case (t)
        T_REPLICATE, T_REPLICATE_ACK:
            ok = byte_at(d, 4) == 8'd1 && byte_at(d, 5) < 8'(NODES) && zero(d, 6, 8) && zero(d, 40, 64);
        T_READ_REQUEST:
            ok = byte_at(d, 4) == 8'd1 && zero(d, 5, 8) && zero(d, 24, 64);
        T_NOTE:
            // op, then client, seq, index, base, skip_from at 8..47
            ok = byte_at(d, 0) >= 8'd1 && byte_at(d, 0) <= 8'd4 && zero(d, 1, 8) && zero(d, 48, 64);
        T_READ_REPLY, T_REPAIR:
            if (ph == 5'd0) begin
                ok = byte_at(d, 4) == 8'd1 && byte_at(d, 5) == 8'd0 && byte_at(d, 7) == 8'd0 &&
                     byte_at(d, 6) <= 8'd1 && zero(d, 24, 64);
            end else if (ph == 5'(VB) || ph == 5'(2 * VB)) begin
                ok = zero_from(d, 8'(VEC_TAIL));
            end
        T_DIGEST:
            if (ph == 5'd0) begin
                ok = byte_at(d, 4) == 8'd1 && zero(d, 5, 8) && zero(d, 32, 64);
            end else if (ph == 5'(VB)) begin
                ok = zero_from(d, 8'(VEC_TAIL));
            end
        T_CLIENT_REQUEST, T_CLIENT_REPLY:
            // beat 0, then (only those present) the key's beat, the value's,
            // the token's; each zero after its bytes. In a record whose beat 0
            // passed, ph runs over exactly those beats; in any other, what
            // the later beats say does not matter.
            if (ph == 5'd0) begin
                ok = client_head_ok(d, t == T_CLIENT_REQUEST);
            end else if (kl > 8'd24 && ph == 5'd1) begin
                ok = zero_from(d, kl);
            end else if (vl != 8'd0 && ph == 5'(kl > 8'd24) + 5'd1) begin
                ok = zero_from(d, vl);
            end else begin
                // token beat tok holds bytes 64 tok.. of the token: zero from tl - 64 tok
                ok = zero_from(d, tl - {tok, 6'd0});
            end
        T_CAUSAL:
            // a slot record with its dependency's length at byte 40, then the dependency
            case (ph)
                5'd0: ok = byte_at(d, 4) == 8'd1 && byte_at(d, 5) < 8'(NODES) && zero(d, 6, 8) &&
                           byte_at(d, 40) >= 8'd1 && byte_at(d, 40) <= 8'd192 && zero(d, 41, 64);
                5'd1: ok = zero_from(d, tl > 8'd64 ? 8'd64 : tl);
                5'd2: ok = zero_from(d, tl > 8'd128 ? 8'd64 : tl > 8'd64 ? tl - 8'd64 : 8'd0);
                default: ok = zero_from(d, tl > 8'd128 ? tl - 8'd128 : 8'd0);
            endcase
        T_MVSTATE:
            // beat 0, the context vector, the value
            if (ph == 5'd0) begin
                ok = byte_at(d, 16) == 8'd2 && byte_at(d, 17) <= 8'd1 && byte_at(d, 18) <= 8'd1 &&
                     (byte_at(d, 19) < byte_at(d, 20) || zero(d, 19, 21)) && byte_at(d, 21) <= 8'd64 &&
                     byte_at(d, 22) <= 8'd1 && byte_at(d, 23) == 8'd0 && byte_at(d, 24) < 8'(NODES) &&
                     zero(d, 25, 32) && zero(d, 48, 64);
            end else if (ph == 5'(VB)) begin
                ok = zero_from(d, 8'(VEC_TAIL));
            end else if (ph == 5'(VB + 1)) begin
                ok = zero_from(d, vl);
            end
        default: ok = 1'b1;  // no records: the type check has failed
    endcase
    return !ok;
endfunction

// the lowest set bit's index (0 when none is set)
function automatic logic [SLOT_W-1:0] lowest(input logic [SLOTS-1:0] v);
    logic [SLOT_W-1:0] r;
    r = '0;
    for (int i = SLOTS - 1; i >= 0; i--) begin
        if (v[i]) r = SLOT_W'(i);
    end
    return r;
endfunction

// ---- parser ----

logic              in_frame_reg = 1'b0;
logic [BEAT_W-1:0] beat_reg = '0;        // index of the next beat
logic [SLOT_W-1:0] slot_reg = '0;        // slot of this frame, after its first beat
logic [15:0]       fnum_reg = '0;        // arrival number of the next frame
hdr_t              hdr_reg;
logic              l3_ok_reg = 1'b0, magic_ok_reg = 1'b0, version_ok_reg = 1'b0, hdr_ok_reg = 1'b0;
logic [15:0]       ip_len_reg = '0, udp_len_reg = '0;
logic [4:0]        rs_reg = '0;          // beats per record (client records: 1, beat 0)
logic              client_reg = 1'b0;    // client records: their beat 0 gives their length
logic [4:0]        ph_reg = '0;          // beat of the current record (saturating: 0 only at beat 0)
logic [7:0]        left_reg = '0;        // beats of the current record still to come
logic [15:0]       recs_reg = '0;        // records the walk has found
logic [7:0]        kl_reg = '0, vl_reg = '0, tl_reg = '0;
logic              pend_bad_reg = 1'b0;  // the last beat's record check, if it was a record
logic              rec_bad_reg = 1'b0;

logic [SLOTS-1:0]  slot_free, slot_done, slot_mac_ok;
/* verilator coverage_off */
logic [511:0]      slot_rd_data [SLOTS];  // the slots' RAM outputs: data
/* verilator coverage_on */

logic              beat_in, first, last;
logic [SLOT_W-1:0] alloc;                // the first free slot after this frame's
logic [SLOT_W-1:0] cur_slot;             // this beat's slot
logic [17:0]       len;
logic [6:0]        last_bytes;
logic [3:0]        pre_verdict;
logic              rec_bad_now;
logic              beat_bad;
logic              rec_start;            // a record beat is a record's beat 0
logic [7:0]        rec_left;             // beats of its record after this beat

// Rotating priority over the free slots, from the one after the last
// frame's: the lowest free slot above slot_reg, else the lowest free slot.
// (Masks and two priority encoders, no adders: this sits before the slots'
// write enables.)
always_comb begin
    logic [SLOTS-1:0] above;
    for (int i = 0; i < SLOTS; i++) begin
        above[i] = slot_free[i] && SLOT_W'(i) > slot_reg;
    end
    alloc = |above ? lowest(above) : lowest(slot_free);
end

assign s_axis_tready = in_frame_reg || |slot_free;
assign beat_in = s_axis_tvalid && s_axis_tready;
assign cur_slot = in_frame_reg ? slot_reg : alloc;
assign first = !in_frame_reg;
assign last = s_axis_tlast;

always_comb begin
    last_bytes = '0;
    for (int i = 0; i < 64; i++) begin
        last_bytes = last_bytes + 7'(s_axis_tkeep[i]);
    end
end

assign len = {1'b0, first ? '0 : beat_reg, 6'd0} + 18'(last_bytes);
// The walk: a record starts where the last ended; its beat 0 sets its length.
assign rec_start = left_reg == 8'd0;
assign rec_left = !rec_start ? left_reg - 8'd1 :
                  client_reg ? byte_at(s_axis_tdata, 1) : 8'(rs_reg) - 8'd1;
assign beat_bad = record_bad(s_axis_tdata, hdr_reg.ftype, ph_reg, kl_reg, vl_reg, tl_reg);
// the previous beat was a record beat, not the trailer
assign rec_bad_now = rec_bad_reg || (beat_reg >= BEAT_W'(3) && pend_bad_reg);

// The verdict known at the last beat: every check but the MAC and records.
always_comb begin
    if (first || beat_reg < BEAT_W'(2) || len < 18'(MIN_FRAME)) begin
        pre_verdict = V_SHORT;
    end else if (!l3_ok_reg) begin
        pre_verdict = V_NOT_IPV4_UDP;
    end else if (18'(ip_len_reg) != len - 18'd14 || 18'(udp_len_reg) != len - 18'd34 ||
                 len > 18'(MAX_FRAME) || beat_reg == '1) begin
        pre_verdict = V_BAD_LENGTH;
    end else if (!magic_ok_reg) begin
        pre_verdict = V_BAD_MAGIC;
    end else if (!version_ok_reg) begin
        pre_verdict = V_BAD_VERSION;
    end else if (rs_reg == '0) begin
        pre_verdict = V_BAD_TYPE;
    end else if (!hdr_ok_reg) begin
        pre_verdict = V_BAD_HEADER;
    end else if (len[5:0] != 6'd16 || left_reg != 8'd0 || recs_reg != hdr_reg.count) begin
        // the records fill whole beats, the walk ends at this beat (the
        // trailer, no record) and it found count records
        pre_verdict = V_BAD_COUNT;
    end else begin
        pre_verdict = V_OK;  // so far: the slot checks the MAC
    end
end

// IPv4 header checksum (bytes 14..33) of beat 0
function automatic logic ipv4_sum_ok(input logic [511:0] d);
    logic [19:0] sum = '0;
    for (int i = 14; i < 34; i += 2) begin
        sum = sum + 20'(be16(d, i));
    end
    sum = 20'(sum[15:0]) + 20'(sum[19:16]);
    sum = 20'(sum[15:0]) + 20'(sum[19:16]);
    return sum[15:0] == 16'hffff;
endfunction

// per-slot frame metadata, written at the frame's last beat
logic [15:0]       meta_fnum [SLOTS];
logic [3:0]        meta_pre [SLOTS];
logic              meta_rec_bad [SLOTS];
logic [CNT_W-1:0]  meta_beats [SLOTS];
hdr_t              meta_hdr [SLOTS];

always_ff @(posedge clk) begin
    if (beat_in) begin
        beat_reg <= beat_reg == '1 ? beat_reg : beat_reg + 1'b1;
        in_frame_reg <= 1'b1;
        if (first) begin
            beat_reg <= BEAT_W'(1);
            slot_reg <= alloc;
            // Ethernet, IPv4, UDP
            l3_ok_reg <= be16(s_axis_tdata, 12) == 16'h0800 && byte_at(s_axis_tdata, 14) == 8'h45 &&
                         (be16(s_axis_tdata, 20) & 16'h3fff) == 16'd0 && byte_at(s_axis_tdata, 23) == 8'd17 &&
                         ipv4_sum_ok(s_axis_tdata);
            ip_len_reg <= be16(s_axis_tdata, 16);
            udp_len_reg <= be16(s_axis_tdata, 38);
            hdr_reg.dst_mac <= s_axis_tdata[47:0];
            hdr_reg.src_mac <= s_axis_tdata[95:48];
            hdr_reg.src_ip <= {be16(s_axis_tdata, 26), be16(s_axis_tdata, 28)};
            hdr_reg.dst_ip <= {be16(s_axis_tdata, 30), be16(s_axis_tdata, 32)};
            hdr_reg.src_port <= be16(s_axis_tdata, 34);
            hdr_reg.dst_port <= be16(s_axis_tdata, 36);
            // tally header, payload bytes 0..21
            magic_ok_reg <= s_axis_tdata[8*42 +: 32] == 32'h594c4154;  // "TALY"
            version_ok_reg <= byte_at(s_axis_tdata, 46) == 8'd2;
            hdr_reg.ftype <= byte_at(s_axis_tdata, 47);
            rs_reg <= record_beats(byte_at(s_axis_tdata, 47));
            client_reg <= byte_at(s_axis_tdata, 47) == T_CLIENT_REQUEST ||
                          byte_at(s_axis_tdata, 47) == T_CLIENT_REPLY;
            hdr_reg.sender <= s_axis_tdata[8*50 +: 16];
            hdr_reg.count <= s_axis_tdata[8*52 +: 16];
            hdr_reg.epoch <= s_axis_tdata[8*58 +: 32];
            hdr_ok_reg <= s_axis_tdata[8*48 +: 16] == 16'd0 &&
                          (byte_at(s_axis_tdata, 47) == T_CLIENT_REQUEST ? s_axis_tdata[8*50 +: 16] == 16'hffff
                                                                         : s_axis_tdata[8*50 +: 16] < 16'(NODES)) &&
                          byte_at(s_axis_tdata, 54) == 8'(NODES) && zero(s_axis_tdata, 55, 58) &&
                          zero(s_axis_tdata, 62, 64);
            ph_reg <= '0;
            left_reg <= '0;
            recs_reg <= '0;
            pend_bad_reg <= 1'b0;
            rec_bad_reg <= 1'b0;
        end else if (beat_reg == BEAT_W'(1)) begin
            // payload bytes 22..85
            hdr_reg.seq <= s_axis_tdata[8*2 +: 64];
            hdr_reg.fref <= s_axis_tdata[8*10 +: 64];
            hdr_ok_reg <= hdr_ok_reg && zero(s_axis_tdata, 0, 2) && zero(s_axis_tdata, 18, 64);
        end else begin
            // records (the trailer beat too, harmlessly: the next frame starts afresh)
            rec_bad_reg <= rec_bad_now;
            pend_bad_reg <= beat_bad;
            left_reg <= rec_left;
            ph_reg <= rec_left == 8'd0 ? 5'd0 : ph_reg == '1 ? ph_reg : ph_reg + 5'd1;
            if (rec_start) begin
                recs_reg <= recs_reg + 16'd1;
                // a client record's key length
                kl_reg <= byte_at(s_axis_tdata, 4);
                // a client record's value length, or an MV-register record's
                vl_reg <= hdr_reg.ftype == T_MVSTATE ? byte_at(s_axis_tdata, 21) : byte_at(s_axis_tdata, 5);
                // a client record's token length, or a causal record's dependency length
                tl_reg <= hdr_reg.ftype == T_CAUSAL ? byte_at(s_axis_tdata, 40) : byte_at(s_axis_tdata, 6);
            end
        end
        if (last) begin
            in_frame_reg <= 1'b0;
            beat_reg <= '0;
            fnum_reg <= fnum_reg + 16'd1;
            meta_fnum[cur_slot] <= fnum_reg;
            meta_pre[cur_slot] <= pre_verdict;
            meta_rec_bad[cur_slot] <= rec_bad_now;
            meta_beats[cur_slot] <= CNT_W'(beat_reg + 1'b1);
            meta_hdr[cur_slot] <= hdr_reg;
        end
    end

    if (rst) begin
        in_frame_reg <= 1'b0;
        beat_reg <= '0;
        slot_reg <= '0;
        fnum_reg <= '0;
    end
end

// ---- frame slots ----

for (genvar s = 0; s < SLOTS; s++) begin : g_slot
    logic mine, rd_mine;
    assign mine = beat_in && cur_slot == SLOT_W'(s);

    nic_frame_slot #(
        .BEATS(MAX_BEATS)
    ) slot_inst (
        .clk(clk),
        .rst(rst),
        .claim(mine && first),
        .free(slot_free[s]),
        .wr_en(mine && (first || beat_reg < BEAT_W'(MAX_BEATS))),
        .wr_addr(first ? '0 : ADDR_W'(beat_reg)),
        .wr_data(s_axis_tdata),
        .job(mine && last),
        .job_check(pre_verdict == V_OK),
        .job_beats(CNT_W'(beat_reg + 1'b1)),
        .job_key(node_key), // every frame on the cluster link, client frames too
        .done(slot_done[s]),
        .mac_ok(slot_mac_ok[s]),
        .rd_en(rd_mine),
        .rd_addr(ret_addr_reg),
        .rd_data(slot_rd_data[s]),
        .release_slot(release_slot && ret_reg == SLOT_W'(s))
    );
    assign rd_mine = ret_rd && ret_reg == SLOT_W'(s);
end

// ---- retire, as MACs complete ----

typedef enum logic [1:0] {R_WAIT, R_READ, R_EOF} rstate_t;

rstate_t           rstate_reg = R_WAIT;
logic [SLOT_W-1:0] ret_reg = '0;        // the slot being retired (R_READ, R_EOF)
logic [SLOT_W-1:0] ret_start_reg = '0;  // where the search for the next starts
logic [SLOT_W-1:0] pick;                // the first done slot from ret_start_reg
logic              pick_valid;
logic [SLOT_W-1:0] ret_cur;             // the slot the retire stage looks at
logic [ADDR_W-1:0] ret_addr_reg = '0;
logic [ADDR_W-1:0] ret_end_reg = '0;    // last record beat
logic              inflight_reg = 1'b0; // a record read lands this clock
logic              ret_rd, release_slot;

// record FIFO (registers): {eof, n, p, origin, key, index}
localparam int REC_W = 1 + 64 + 64 + 8 + 128 + 32;
/* verilator coverage_off */
logic [REC_W-1:0]  rec_mem [REC_DEPTH];  // FIFO contents: data
/* verilator coverage_on */
logic [1:0]        rec_wr_reg = '0, rec_rd_reg = '0;
logic [2:0]        rec_count_reg = '0;
logic              rec_push, rec_pop;
logic [REC_W-1:0]  rec_in;

// descriptor FIFO
localparam int DESC_AW = $clog2(DESC_DEPTH);
/* verilator coverage_off */
logic [DESC_W-1:0] desc_mem [DESC_DEPTH];  // FIFO contents: data
/* verilator coverage_on */
logic [DESC_AW-1:0] desc_wr_reg = '0, desc_rd_reg = '0;
logic [DESC_AW:0]  desc_count_reg = '0;
logic              desc_push, desc_pop;
desc_t             desc_in;
logic [3:0]        verdict;
logic [511:0]      ret_data;

// rotating priority over the done slots: the lowest at or above
// ret_start_reg, else the lowest
always_comb begin
    logic [SLOTS-1:0] from_start;
    for (int i = 0; i < SLOTS; i++) begin
        from_start[i] = slot_done[i] && SLOT_W'(i) >= ret_start_reg;
    end
    pick = |from_start ? lowest(from_start) : lowest(slot_done);
    pick_valid = |slot_done;
end
assign ret_cur = rstate_reg == R_WAIT ? pick : ret_reg;

assign ret_data = slot_rd_data[ret_reg];
// a slot record's reserved bytes (checked by the parser) are not needed here
logic unused_reserved;
assign unused_reserved = ^{ret_data[511:320], ret_data[63:48], ret_data[39:32]};

always_comb begin
    if (meta_pre[ret_cur] != V_OK) begin
        verdict = meta_pre[ret_cur];
    end else if (!slot_mac_ok[ret_cur]) begin
        verdict = V_BAD_MAC;
    end else if (meta_rec_bad[ret_cur]) begin
        verdict = V_BAD_RECORD;
    end else begin
        verdict = V_OK;
    end
    desc_in.hdr = meta_hdr[ret_cur];
    desc_in.fnum = meta_fnum[ret_cur];
    desc_in.verdict = verdict;
    desc_in.merge = verdict == V_OK && meta_hdr[ret_cur].ftype == T_REPLICATE && merge_enable;
end

always_comb begin
    ret_rd = 1'b0;
    release_slot = 1'b0;
    desc_push = 1'b0;
    rec_push = inflight_reg;
    rec_in = {1'b0, ret_data[8*32 +: 64], ret_data[8*24 +: 64], ret_data[8*5 +: 8],
              ret_data[8*8 +: 128], ret_data[31:0]};
    case (rstate_reg)
        R_WAIT: desc_push = pick_valid && desc_count_reg != (DESC_AW+1)'(DESC_DEPTH);
        R_READ: ret_rd = 32'(rec_count_reg) + 32'(inflight_reg) < REC_DEPTH - 1;
        R_EOF: begin
            if (!inflight_reg && rec_count_reg != 3'(REC_DEPTH)) begin
                rec_push = 1'b1;
                rec_in = {1'b1, {(REC_W-1){1'b0}}};
                release_slot = 1'b1;
            end
        end
        default: ;
    endcase
end

always_ff @(posedge clk) begin
    inflight_reg <= ret_rd;
    case (rstate_reg)
        R_WAIT: if (desc_push) begin
            ret_reg <= pick;
            ret_addr_reg <= ADDR_W'(2);
            ret_end_reg <= ADDR_W'(meta_beats[pick] - CNT_W'(2));
            rstate_reg <= desc_in.merge && meta_beats[pick] > CNT_W'(3) ? R_READ : R_EOF;
        end
        R_READ: if (ret_rd) begin
            ret_addr_reg <= ret_addr_reg + 1'b1;
            if (ret_addr_reg == ret_end_reg) rstate_reg <= R_EOF;
        end
        R_EOF: if (release_slot) begin
            ret_start_reg <= ret_reg == SLOT_W'(SLOTS - 1) ? '0 : ret_reg + 1'b1;
            rstate_reg <= R_WAIT;
        end
        default: rstate_reg <= R_WAIT;
    endcase

    if (rst) begin
        rstate_reg <= R_WAIT;
        ret_reg <= '0;
        ret_start_reg <= '0;
        inflight_reg <= 1'b0;
    end
end

// record FIFO
assign rec_pop = m_rec_valid && m_rec_ready;
assign {m_rec_eof, m_rec_n, m_rec_p, m_rec_origin, m_rec_key, m_rec_index} = rec_mem[rec_rd_reg];
assign m_rec_valid = rec_count_reg != '0;

always_ff @(posedge clk) begin
    if (rec_push) begin
        rec_mem[rec_wr_reg] <= rec_in;
        rec_wr_reg <= rec_wr_reg + 1'b1;
    end
    if (rec_pop) begin
        rec_rd_reg <= rec_rd_reg + 1'b1;
    end
    rec_count_reg <= rec_count_reg + 3'(rec_push) - 3'(rec_pop);
    if (rst) begin
        rec_wr_reg <= '0;
        rec_rd_reg <= '0;
        rec_count_reg <= '0;
    end
end

// descriptor FIFO
assign desc_pop = m_desc_valid && m_desc_ready;
assign m_desc = desc_mem[desc_rd_reg];
assign m_desc_valid = desc_count_reg != '0;

always_ff @(posedge clk) begin
    if (desc_push) begin
        desc_mem[desc_wr_reg] <= desc_in;
        desc_wr_reg <= desc_wr_reg == DESC_AW'(DESC_DEPTH - 1) ? '0 : desc_wr_reg + 1'b1;
    end
    if (desc_pop) begin
        desc_rd_reg <= desc_rd_reg == DESC_AW'(DESC_DEPTH - 1) ? '0 : desc_rd_reg + 1'b1;
    end
    desc_count_reg <= desc_count_reg + (DESC_AW+1)'(desc_push) - (DESC_AW+1)'(desc_pop);
    if (rst) begin
        desc_wr_reg <= '0;
        desc_rd_reg <= '0;
        desc_count_reg <= '0;
    end
end

assign idle = !in_frame_reg && &slot_free && rec_count_reg == '0 && desc_count_reg == '0 &&
              rstate_reg == R_WAIT;

endmodule

`resetall
