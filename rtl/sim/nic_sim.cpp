// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors
//
// The Verilator harness of the NIC behind nic_sim.h: it owns one
// VerilatedContext and one nic_top model, moves frames, commands and CSR
// accesses onto the ports, collects events, and clocks the model. Built
// twice by meson: against the plain model and, with TALLY_NSIM_COVERAGE,
// against a model built with --coverage.

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <vector>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "nic_sim.h"
#include "tally_csr.h"

#ifdef TALLY_NSIM_COVERAGE
#include <verilated_cov.h>
#include "Vnic_top_cov.h"
using Model = Vnic_top_cov;
#else
#include "Vnic_top.h"
using Model = Vnic_top;
#endif

namespace {

// Bits [lsb, lsb + width) of a Verilator signal (width <= 64).
template <size_t N>
uint64_t get_bits(const VlWide<N> &w, unsigned lsb, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < width; i++) {
		unsigned b = lsb + i;
		v |= static_cast<uint64_t>((w[b / 32] >> (b % 32)) & 1u) << i;
	}
	return v;
}

template <size_t N>
void get_vec(const VlWide<N> &w, uint64_t *v, unsigned nodes)
{
	for (unsigned i = 0; i < nodes; i++)
		v[i] = static_cast<uint64_t>(w[2 * i + 1]) << 32 | w[2 * i];
}

inline void get_vec(const QData &w, uint64_t *v, unsigned nodes)
{
	(void)nodes;
	v[0] = w;
}

template <size_t N>
void put_vec(VlWide<N> &w, const uint64_t *v, unsigned nodes)
{
	for (unsigned i = 0; i < nodes; i++) {
		w[2 * i] = static_cast<uint32_t>(v[i]);
		w[2 * i + 1] = static_cast<uint32_t>(v[i] >> 32);
	}
}

inline void put_vec(QData &w, const uint64_t *v, unsigned nodes)
{
	(void)nodes;
	w = v[0];
}

void put_bytes(VlWide<4> &w, const uint8_t *b)
{
	for (unsigned i = 0; i < 4; i++)
		w[i] = static_cast<uint32_t>(b[4 * i]) | static_cast<uint32_t>(b[4 * i + 1]) << 8 |
		       static_cast<uint32_t>(b[4 * i + 2]) << 16 | static_cast<uint32_t>(b[4 * i + 3]) << 24;
}

void get_bytes(const VlWide<4> &w, uint8_t *b)
{
	for (unsigned i = 0; i < 16; i++)
		b[i] = static_cast<uint8_t>(w[i / 4] >> (8 * (i % 4)));
}

// nic_pkg::hdr_t, packed: the first member is the most significant.
struct HdrField {
	unsigned lsb, width;
};
constexpr HdrField kRef{0, 64}, kSeq{64, 64}, kEpoch{128, 32}, kCount{160, 16}, kSender{176, 16},
	kType{192, 8}, kDstPort{200, 16}, kSrcPort{216, 16}, kDstIp{232, 32}, kSrcIp{264, 32},
	kSrcMac{296, 48}, kDstMac{344, 48};

} // namespace

struct tally_nsim {
	std::unique_ptr<VerilatedContext> ctx;
	std::unique_ptr<Model> model;
	std::unique_ptr<VerilatedFstC> trace;
	unsigned nodes = 0, depth = 0, slots = 0;
	uint64_t cycles = 0, rx_beats = 0;

	std::deque<std::vector<uint8_t>> frames;
	size_t frame_off = 0;
	uint64_t frames_pushed = 0, frame_events = 0;
	std::deque<tally_nsim_cmd> cmds;
	uint64_t cmds_pushed = 0, cmd_events = 0;
	std::deque<tally_nsim_event> events;

	// CSR bus state for this clock
	bool ar = false, aw = false, w = false;
	uint32_t axil_addr = 0, axil_wdata = 0;

	void dump()
	{
		ctx->timeInc(1);
		if (trace)
			trace->dump(ctx->time());
	}

	void drive_rx(bool offer)
	{
		bool valid = offer && !frames.empty();
		model->s_axis_rx_tvalid = valid;
		if (!valid) {
			// Poison: what the NIC must ignore while tvalid is low.
			for (unsigned i = 0; i < 16; i++)
				model->s_axis_rx_tdata[i] = 0xdead0000u ^ static_cast<uint32_t>(cycles * 977 + i);
			model->s_axis_rx_tkeep = ~0ull;
			model->s_axis_rx_tlast = (cycles & 1) != 0;
			return;
		}
		const std::vector<uint8_t> &f = frames.front();
		size_t n = f.size() - frame_off < 64 ? f.size() - frame_off : 64;
		uint8_t beat[64] = {0};
		std::memcpy(beat, f.data() + frame_off, n);
		for (unsigned i = 0; i < 16; i++)
			model->s_axis_rx_tdata[i] = static_cast<uint32_t>(beat[4 * i]) |
						    static_cast<uint32_t>(beat[4 * i + 1]) << 8 |
						    static_cast<uint32_t>(beat[4 * i + 2]) << 16 |
						    static_cast<uint32_t>(beat[4 * i + 3]) << 24;
		model->s_axis_rx_tkeep = n == 64 ? ~0ull : (1ull << n) - 1;
		model->s_axis_rx_tlast = frame_off + n == f.size();
	}

	void drive_cmd()
	{
		model->s_cmd_valid = !cmds.empty();
		if (cmds.empty())
			return;
		const tally_nsim_cmd &c = cmds.front();
		model->s_cmd_op = c.op;
		model->s_cmd_index = c.index;
		put_bytes(model->s_cmd_key, c.key);
		put_vec(model->s_cmd_p, c.p, nodes);
		put_vec(model->s_cmd_n, c.n, nodes);
	}

	void capture_event()
	{
		tally_nsim_event e;
		std::memset(&e, 0, sizeof(e));
		e.kind = model->m_evt_kind;
		e.frame = model->m_evt_frame;
		e.op = model->m_evt_op;
		e.hit = model->m_evt_hit;
		e.origin = model->m_evt_origin;
		e.order_p = model->m_evt_order_p;
		e.order_n = model->m_evt_order_n;
		e.index = model->m_evt_index;
		get_bytes(model->m_evt_key, e.key);
		get_vec(model->m_evt_p, e.p, nodes);
		get_vec(model->m_evt_n, e.n, nodes);
		e.verdict = model->m_evt_verdict;
		e.disposition = model->m_evt_disposition;
		e.merged = model->m_evt_merged;
		const auto &h = model->m_evt_hdr;
		uint64_t dst = get_bits(h, kDstMac.lsb, kDstMac.width), src = get_bits(h, kSrcMac.lsb, kSrcMac.width);
		for (unsigned i = 0; i < 6; i++) {
			e.dst_mac[i] = static_cast<uint8_t>(dst >> (8 * i));
			e.src_mac[i] = static_cast<uint8_t>(src >> (8 * i));
		}
		e.src_ip = static_cast<uint32_t>(get_bits(h, kSrcIp.lsb, kSrcIp.width));
		e.dst_ip = static_cast<uint32_t>(get_bits(h, kDstIp.lsb, kDstIp.width));
		e.src_port = static_cast<uint16_t>(get_bits(h, kSrcPort.lsb, kSrcPort.width));
		e.dst_port = static_cast<uint16_t>(get_bits(h, kDstPort.lsb, kDstPort.width));
		e.type = static_cast<uint8_t>(get_bits(h, kType.lsb, kType.width));
		e.sender = static_cast<uint16_t>(get_bits(h, kSender.lsb, kSender.width));
		e.count = static_cast<uint16_t>(get_bits(h, kCount.lsb, kCount.width));
		e.epoch = static_cast<uint32_t>(get_bits(h, kEpoch.lsb, kEpoch.width));
		e.seq = get_bits(h, kSeq.lsb, kSeq.width);
		e.ref = get_bits(h, kRef.lsb, kRef.width);
		e.cycle = cycles;
		if (e.kind == TALLY_NSIM_EVT_FRAME)
			frame_events++;
		else if (e.kind == TALLY_NSIM_EVT_CMD)
			cmd_events++;
		events.push_back(e);
	}

	// One clock: drive, settle, sample handshakes, rising edge.
	// @return the AXI-Lite handshakes seen: 1 ar, 2 aw, 4 w, 8 r, 16 b.
	unsigned clock(bool offer, bool ready)
	{
		unsigned hs = 0;

		model->clk = 0;
		drive_rx(offer);
		drive_cmd();
		model->m_evt_ready = ready;
		model->s_axil_arvalid = ar;
		model->s_axil_awvalid = aw;
		model->s_axil_wvalid = w;
		model->s_axil_araddr = axil_addr;
		model->s_axil_awaddr = axil_addr;
		model->s_axil_wdata = axil_wdata;
		model->s_axil_wstrb = 0xf;
		model->s_axil_rready = 1;
		model->s_axil_bready = 1;
		model->eval();
		dump();

		bool rx_hs = model->s_axis_rx_tvalid && model->s_axis_rx_tready;
		bool last = rx_hs && model->s_axis_rx_tlast;
		bool cmd_hs = model->s_cmd_valid && model->s_cmd_ready;
		if (model->m_evt_valid && ready)
			capture_event();
		if (ar && model->s_axil_arready)
			hs |= 1;
		if (aw && model->s_axil_awready)
			hs |= 2;
		if (w && model->s_axil_wready)
			hs |= 4;
		if (model->s_axil_rvalid)
			hs |= 8;
		if (model->s_axil_bvalid)
			hs |= 16;
		rdata = model->s_axil_rdata;
		resp = (hs & 8) ? model->s_axil_rresp : model->s_axil_bresp;

		model->clk = 1;
		model->eval();
		dump();
		cycles++;

		if (rx_hs) {
			rx_beats++;
			frame_off += 64;
			if (last) {
				frames.pop_front();
				frame_off = 0;
			}
		}
		if (cmd_hs)
			cmds.pop_front();
		return hs;
	}

	uint32_t rdata = 0;
	uint8_t resp = 0;
};

extern "C" {

tally_nsim_t *
tally_nsim_create(const char *fst_path, int *err)
{
	tally_nsim *s;

	try {
		s = new tally_nsim;
		s->ctx = std::make_unique<VerilatedContext>();
		if (fst_path != nullptr)
			s->ctx->traceEverOn(true);
		s->model = std::make_unique<Model>(s->ctx.get(), "nic_top");
	} catch (const std::bad_alloc &) {
		*err = -ENOMEM;
		return nullptr;
	}
	s->nodes = sizeof(s->model->m_evt_p) / sizeof(uint64_t);
	if (s->nodes > TALLY_NSIM_MAX_NODES) {
		delete s;
		*err = -EINVAL;
		return nullptr;
	}
	if (fst_path != nullptr) {
		s->trace = std::make_unique<VerilatedFstC>();
		s->model->trace(s->trace.get(), 99);
		s->trace->open(fst_path);
		if (!s->trace->isOpen()) {
			delete s;
			*err = -EIO;
			return nullptr;
		}
	}
	s->model->rst = 1;
	s->clock(false, true);
	s->clock(false, true);
	s->model->rst = 0;
	s->cycles = 0;
	uint32_t v = 0;
	if (tally_nsim_csr_read(s, TALLY_CSR_TABLE_DEPTH, &v) != 0) {
		delete s;
		*err = -EIO;
		return nullptr;
	}
	s->depth = v;
	if (tally_nsim_csr_read(s, TALLY_CSR_MAC_ENGINES, &v) != 0) {
		delete s;
		*err = -EIO;
		return nullptr;
	}
	s->slots = v;
	*err = 0;
	return s;
}

void
tally_nsim_free(tally_nsim_t *s)
{
	if (s == nullptr)
		return;
	if (s->trace)
		s->trace->close();
	s->model->final();
	delete s;
}

unsigned
tally_nsim_nodes(const tally_nsim_t *s)
{
	return s->nodes;
}

unsigned
tally_nsim_depth(const tally_nsim_t *s)
{
	return s->depth;
}

unsigned
tally_nsim_slots(const tally_nsim_t *s)
{
	return s->slots;
}

int
tally_nsim_rx_push(tally_nsim_t *s, const void *frame, size_t len)
{
	if (len == 0)
		return -EINVAL;
	try {
		const uint8_t *b = static_cast<const uint8_t *>(frame);
		s->frames.emplace_back(b, b + len);
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
	s->frames_pushed++;
	return 0;
}

size_t
tally_nsim_rx_queued(const tally_nsim_t *s)
{
	return s->frames.size();
}

void
tally_nsim_cmd_push(tally_nsim_t *s, const struct tally_nsim_cmd *c)
{
	s->cmds.push_back(*c);
	s->cmds_pushed++;
}

int
tally_nsim_event_pop(tally_nsim_t *s, struct tally_nsim_event *e)
{
	if (s->events.empty())
		return -EAGAIN;
	*e = s->events.front();
	s->events.pop_front();
	return 0;
}

size_t
tally_nsim_events(const tally_nsim_t *s)
{
	return s->events.size();
}

void
tally_nsim_step(tally_nsim_t *s, bool offer, bool ready)
{
	s->clock(offer, ready);
}

int
tally_nsim_run(tally_nsim_t *s, uint64_t max_cycles)
{
	for (uint64_t i = 0; i < max_cycles; i++) {
		if (s->frames.empty() && s->cmds.empty() && s->frame_events == s->frames_pushed &&
		    s->cmd_events == s->cmds_pushed)
			return 0;
		s->clock(true, true);
	}
	return -ETIMEDOUT;
}

// Bound on the clocks an AXI-Lite access may take: a watchdog, not a timing.
static const unsigned kCsrTimeout = 64;

int
tally_nsim_csr_read(tally_nsim_t *s, uint32_t addr, uint32_t *val)
{
	s->axil_addr = addr;
	s->ar = true;
	for (unsigned i = 0; i < kCsrTimeout; i++) {
		unsigned hs = s->clock(false, true);
		if (hs & 1)
			s->ar = false;
		if (hs & 8) {
			s->ar = false;
			*val = s->rdata;
			return s->resp == 0 ? 0 : -EIO;
		}
	}
	s->ar = false;
	return -ETIMEDOUT;
}

int
tally_nsim_csr_write(tally_nsim_t *s, uint32_t addr, uint32_t val)
{
	s->axil_addr = addr;
	s->axil_wdata = val;
	s->aw = s->w = true;
	for (unsigned i = 0; i < kCsrTimeout; i++) {
		unsigned hs = s->clock(false, true);
		if (hs & 2)
			s->aw = false;
		if (hs & 4)
			s->w = false;
		if (hs & 16) {
			s->aw = s->w = false;
			return s->resp == 0 ? 0 : -EIO;
		}
	}
	s->aw = s->w = false;
	return -ETIMEDOUT;
}

int
tally_nsim_load_key(tally_nsim_t *s, const uint8_t node[16])
{
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *n = node + 4 * i;
		uint32_t wn = n[0] | static_cast<uint32_t>(n[1]) << 8 | static_cast<uint32_t>(n[2]) << 16 |
			      static_cast<uint32_t>(n[3]) << 24;
		if (tally_nsim_csr_write(s, TALLY_CSR_NODE_KEY(i), wn) != 0)
			return -EIO;
	}
	return 0;
}

int
tally_nsim_csr_read64(tally_nsim_t *s, uint32_t lo_addr, uint64_t *val)
{
	uint32_t lo, hi;
	int rc = tally_nsim_csr_read(s, lo_addr, &lo);

	if (rc == 0)
		rc = tally_nsim_csr_read(s, lo_addr + 4, &hi);
	if (rc == 0)
		*val = static_cast<uint64_t>(hi) << 32 | lo;
	return rc;
}

uint64_t
tally_nsim_cycles(const tally_nsim_t *s)
{
	return s->cycles;
}

uint64_t
tally_nsim_rx_beats(const tally_nsim_t *s)
{
	return s->rx_beats;
}

int
tally_nsim_write_coverage(tally_nsim_t *s, const char *path)
{
#ifdef TALLY_NSIM_COVERAGE
	s->ctx->coveragep()->write(path);
	return 0;
#else
	(void)s;
	(void)path;
	return -ENOTSUP;
#endif
}

} // extern "C"
