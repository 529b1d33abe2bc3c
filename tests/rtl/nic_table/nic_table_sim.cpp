// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors
//
// The Verilator harness of rtl/nic_table.sv behind nic_table_sim.h: one
// VerilatedContext and one model, the request and response ports packed
// and unpacked, one clock per step. Nothing of the test's model lives here.

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "Vnic_table.h"
#include "nic_table_sim.h"

namespace {

constexpr unsigned kNodes = TALLY_MAX_NODES;

// Slot i lives in 32-bit words 2i and 2i+1 of a wide signal; at NODES 1 the
// port is a plain 64-bit QData.
template <class W>
void put_vec(W &bus, const uint64_t *v)
{
	if constexpr (std::is_integral_v<W>) {
		bus = v[0];
	} else {
		for (unsigned i = 0; i < kNodes; i++) {
			bus[2 * i] = static_cast<uint32_t>(v[i]);
			bus[2 * i + 1] = static_cast<uint32_t>(v[i] >> 32);
		}
	}
}

template <class W>
void get_vec(const W &bus, uint64_t *v)
{
	if constexpr (std::is_integral_v<W>) {
		v[0] = bus;
	} else {
		for (unsigned i = 0; i < kNodes; i++)
			v[i] = static_cast<uint64_t>(bus[2 * i + 1]) << 32 | bus[2 * i];
	}
}

// meson builds the model with -GNODES=TALLY_MAX_NODES.
static_assert(sizeof(Vnic_table::s_p) == 8 * kNodes, "model built for another NODES");

} // namespace

struct ntsim {
	std::unique_ptr<VerilatedContext> ctx;
	std::unique_ptr<Vnic_table> model;
	std::unique_ptr<VerilatedFstC> trace;
	uint64_t cycles = 0;

	void dump()
	{
		ctx->timeInc(1);
		if (trace)
			trace->dump(ctx->time());
	}

	// Drive this clock's inputs, settle, sample both handshakes, then clock.
	int clock(const struct ntsim_req *req, bool ready, struct ntsim_resp *out)
	{
		int r = 0;

		model->clk = 0;
		model->s_valid = req != nullptr;
		model->m_ready = ready;
		if (req != nullptr) {
			model->s_op = req->op;
			model->s_index = req->index;
			for (unsigned w = 0; w < 4; w++) {
				uint32_t x;
				std::memcpy(&x, req->key + 4 * w, 4);
				model->s_key[w] = x;
			}
			put_vec(model->s_p, req->p);
			put_vec(model->s_n, req->n);
			model->s_tag = req->tag;
		} else {
			// Poison: what the table must ignore while s_valid is low.
			uint64_t junk[kNodes];
			for (unsigned i = 0; i < kNodes; i++)
				junk[i] = 0xdead0000deadbeefu ^ (cycles * 977 + i);
			model->s_op = static_cast<uint8_t>(cycles % 6);
			model->s_index = static_cast<uint32_t>(cycles % 5);
			for (unsigned w = 0; w < 4; w++)
				model->s_key[w] = 0xbad0000u ^ static_cast<uint32_t>(cycles);
			put_vec(model->s_p, junk);
			put_vec(model->s_n, junk);
			model->s_tag = static_cast<uint16_t>(0xbad0 ^ cycles);
		}
		model->eval();
		dump();

		if (req != nullptr && model->s_ready)
			r |= NTSIM_ACCEPTED;
		if (model->m_valid && ready) {
			out->op = model->m_op;
			out->index = model->m_index;
			out->hit = model->m_hit;
			get_vec(model->m_p, out->p);
			get_vec(model->m_n, out->n);
			out->order_p = model->m_order_p;
			out->order_n = model->m_order_n;
			out->tag = model->m_tag;
			r |= NTSIM_EMITTED;
		}

		model->clk = 1;
		model->eval();
		dump();
		cycles++;
		return r;
	}
};

extern "C" {

ntsim_t *
ntsim_create(const char *fst_path, uint64_t seed, int *err)
{
	ntsim *s;
	try {
		s = new ntsim;
		s->ctx = std::make_unique<VerilatedContext>();
		// Memory and unreset registers start random, so a row read before
		// it is ever written cannot pass by luck of zeros.
		s->ctx->randReset(2);
		s->ctx->randSeed(static_cast<int>(seed % 0x7fffffffu) + 1);
		if (fst_path != nullptr)
			s->ctx->traceEverOn(true);
		s->model = std::make_unique<Vnic_table>(s->ctx.get(), "nic_table");
	} catch (const std::bad_alloc &) {
		*err = -ENOMEM;
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
	ntsim_reset(s);
	*err = 0;
	return s;
}

void
ntsim_free(ntsim_t *s)
{
	if (s == nullptr)
		return;
	if (s->trace)
		s->trace->close();
	s->model->final();
	delete s;
}

void
ntsim_reset(ntsim_t *s)
{
	struct ntsim_resp unused;

	s->model->rst = 1;
	s->clock(nullptr, false, &unused);
	s->clock(nullptr, false, &unused);
	s->model->rst = 0;
}

int
ntsim_step(ntsim_t *s, const struct ntsim_req *req, bool ready, struct ntsim_resp *out)
{
	return s->clock(req, ready, out);
}

bool
ntsim_s_ready(const ntsim_t *s)
{
	return s->model->s_ready;
}

uint64_t
ntsim_cycles(const ntsim_t *s)
{
	return s->cycles;
}

} // extern "C"
