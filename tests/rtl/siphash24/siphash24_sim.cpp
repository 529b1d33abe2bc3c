// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors
//
// The Verilator harness of rtl/siphash24.sv behind siphash24_sim.h: one
// VerilatedContext and one model per simulation, opt-in FST tracing.

#include <cerrno>
#include <memory>
#include <new>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "Vsiphash24.h"
#include "siphash24_sim.h"

struct sip_sim {
	std::unique_ptr<VerilatedContext> ctx;
	std::unique_ptr<Vsiphash24> model;
	std::unique_ptr<VerilatedFstC> trace;

	void tick()
	{
		ctx->timeInc(1);
		if (trace)
			trace->dump(ctx->time());
	}
};

extern "C" {

sip_sim_t *
sip_sim_create(const char *fst_path, int *err)
{
	std::unique_ptr<sip_sim> s(new (std::nothrow) sip_sim);

	if (!s) {
		*err = -ENOMEM;
		return nullptr;
	}
	s->ctx = std::make_unique<VerilatedContext>();
	if (fst_path != nullptr)
		s->ctx->traceEverOn(true);
	s->model = std::make_unique<Vsiphash24>(s->ctx.get(), "siphash24");
	if (fst_path != nullptr) {
		s->trace = std::make_unique<VerilatedFstC>();
		s->model->trace(s->trace.get(), 99);
		s->trace->open(fst_path);
		if (!s->trace->isOpen()) {
			*err = -EIO;
			return nullptr;
		}
	}
	sip_sim_reset(s.get());
	*err = 0;
	return s.release();
}

void
sip_sim_free(sip_sim_t *s)
{
	if (s == nullptr)
		return;
	if (s->trace)
		s->trace->close();
	s->model->final();
	delete s;
}

void
sip_sim_reset(sip_sim_t *s)
{
	struct sip_sim_in in = {};
	struct sip_sim_out out;

	s->model->rst = 1;
	sip_sim_clock(s, &in, &out);
	sip_sim_clock(s, &in, &out);
	s->model->rst = 0;
}

void
sip_sim_clock(sip_sim_t *s, const struct sip_sim_in *in, struct sip_sim_out *out)
{
	Vsiphash24 &m = *s->model;

	m.clk = 0;
	for (unsigned w = 0; w < 4; w++)
		m.key[w] = static_cast<uint32_t>(in->key[4 * w]) |
			   static_cast<uint32_t>(in->key[4 * w + 1]) << 8 |
			   static_cast<uint32_t>(in->key[4 * w + 2]) << 16 |
			   static_cast<uint32_t>(in->key[4 * w + 3]) << 24;
	m.start = in->start;
	m.s_word = in->word;
	m.s_last = in->last;
	m.s_valid = in->valid;
	m.eval();
	s->tick();

	out->ready = m.s_ready;
	out->m_valid = m.m_valid;
	for (unsigned j = 0; j < 16; j++)
		out->hash[j] = static_cast<uint8_t>(m.m_hash[j / 4] >> (8 * (j % 4)));

	m.clk = 1;
	m.eval();
	s->tick();
}

} // extern "C"
