// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors
//
// The Verilator harness of the merge kernels behind kernel_sim.h: a thin
// layer that owns one VerilatedContext and one model per simulation, moves
// pairs between C queues and the AXI-Stream ports, and clocks the model.
// Built twice by meson: once against the plain models and once, with
// TALLY_KSIM_COVERAGE, against models built with --coverage.

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <new>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "kernel_sim.h"

#ifdef TALLY_KSIM_COVERAGE
#include <verilated_cov.h>
#include "Vgcounter_merge_cov.h"
#include "Vvclock_unit_cov.h"
using GcmModel = Vgcounter_merge_cov;
using VcuModel = Vvclock_unit_cov;
#else
#include "Vgcounter_merge.h"
#include "Vvclock_unit.h"
using GcmModel = Vgcounter_merge;
using VcuModel = Vvclock_unit;
#endif

namespace {

// meson builds the models with -GNODES=TALLY_MAX_NODES; create() checks it.
constexpr unsigned kMaxNodes = TALLY_MAX_NODES;

struct Pair {
	uint64_t a[kMaxNodes], b[kMaxNodes];
	uint16_t tag;
};

struct Result {
	uint64_t vec[kMaxNodes];
	uint8_t order;
	uint16_t tag;
};

// Slot i of a vector lives in 32-bit words 2i and 2i+1 of a Verilator wide signal.
template <class W>
void put_vec(W &bus, unsigned word0, const uint64_t *v, unsigned nodes)
{
	for (unsigned i = 0; i < nodes; i++) {
		bus[word0 + 2 * i] = static_cast<uint32_t>(v[i]);
		bus[word0 + 2 * i + 1] = static_cast<uint32_t>(v[i] >> 32);
	}
}

template <class W>
void get_vec(const W &bus, uint64_t *v, unsigned nodes)
{
	for (unsigned i = 0; i < nodes; i++)
		v[i] = static_cast<uint64_t>(bus[2 * i + 1]) << 32 | bus[2 * i];
}

} // namespace

struct tally_ksim {
	virtual ~tally_ksim() = default;
	virtual int step(bool offer, bool ready) = 0;
	virtual int write_coverage(const char *path) = 0;

	enum tally_ksim_kind kind;
	unsigned nodes;
	uint64_t cycles = 0;
	std::deque<Pair> in;
	std::deque<Result> out;
};

namespace {

template <class Model, bool kHasOrder>
class KernelSim final : public tally_ksim {
public:
	KernelSim(enum tally_ksim_kind k, const char *fst_path, int *err)
	{
		kind = k;
		ctx_ = std::make_unique<VerilatedContext>();
		if (fst_path != nullptr)
			ctx_->traceEverOn(true);
		model_ = std::make_unique<Model>(ctx_.get(), tally_ksim_kind_name(k));
		nodes = sizeof(model_->m_axis_tdata) / sizeof(uint64_t);
		if (nodes > kMaxNodes) {
			*err = -EINVAL; /* models and harness built for different widths */
			return;
		}
		if (fst_path != nullptr) {
			trace_ = std::make_unique<VerilatedFstC>();
			model_->trace(trace_.get(), 99);
			trace_->open(fst_path);
			if (!trace_->isOpen()) {
				*err = -EIO;
				return;
			}
		}
		// Two clocks of reset, then ready.
		model_->rst = 1;
		clock(false, false);
		clock(false, false);
		model_->rst = 0;
		*err = 0;
	}

	~KernelSim() override
	{
		if (trace_)
			trace_->close();
		model_->final();
	}

	int step(bool offer, bool ready) override
	{
		int r = clock(offer, ready);
		cycles++;
		return r;
	}

	int write_coverage(const char *path) override
	{
#ifdef TALLY_KSIM_COVERAGE
		ctx_->coveragep()->write(path);
		return 0;
#else
		(void)path;
		return -ENOTSUP;
#endif
	}

private:
	// Drive this clock's inputs, settle, sample both handshakes, then clock.
	int clock(bool offer, bool ready)
	{
		bool valid = offer && !in.empty();
		int r = 0;

		model_->clk = 0;
		model_->s_axis_tvalid = valid;
		model_->m_axis_tready = ready;
		if (valid) {
			const Pair &p = in.front();
			put_vec(model_->s_axis_tdata, 0, p.a, nodes);
			put_vec(model_->s_axis_tdata, 2 * nodes, p.b, nodes);
			model_->s_axis_tuser = p.tag;
		} else {
			// Poison: what a kernel must ignore while tvalid is low.
			for (unsigned w = 0; w < 4 * nodes; w++)
				model_->s_axis_tdata[w] = 0xdead0000u ^ static_cast<uint32_t>(cycles * 977 + w);
			model_->s_axis_tuser = static_cast<uint16_t>(0xbad0 ^ cycles);
		}
		model_->eval();
		dump();

		if (valid && model_->s_axis_tready)
			r |= TALLY_KSIM_ACCEPTED;
		if (model_->m_axis_tvalid && ready) {
			Result res;
			get_vec(model_->m_axis_tdata, res.vec, nodes);
			res.tag = model_->m_axis_tuser;
			res.order = 0;
			if constexpr (kHasOrder)
				res.order = model_->m_axis_order;
			out.push_back(res);
			r |= TALLY_KSIM_EMITTED;
		}

		model_->clk = 1;
		model_->eval();
		dump();
		if (r & TALLY_KSIM_ACCEPTED)
			in.pop_front();
		return r;
	}

	void dump()
	{
		ctx_->timeInc(1);
		if (trace_)
			trace_->dump(ctx_->time());
	}

	std::unique_ptr<VerilatedContext> ctx_;
	std::unique_ptr<Model> model_;
	std::unique_ptr<VerilatedFstC> trace_;
};

} // namespace

extern "C" {

tally_ksim_t *
tally_ksim_create(enum tally_ksim_kind kind, const char *fst_path, int *err)
{
	tally_ksim *s = nullptr;

	*err = 0;
	try {
		switch (kind) {
		case TALLY_KSIM_GCOUNTER_MERGE:
			s = new KernelSim<GcmModel, false>(kind, fst_path, err);
			break;
		case TALLY_KSIM_VCLOCK_UNIT:
			s = new KernelSim<VcuModel, true>(kind, fst_path, err);
			break;
		default:
			*err = -EINVAL;
			return nullptr;
		}
	} catch (const std::bad_alloc &) {
		*err = -ENOMEM;
		return nullptr;
	}
	if (*err != 0) {
		delete s;
		return nullptr;
	}
	return s;
}

void
tally_ksim_free(tally_ksim_t *s)
{
	delete s;
}

unsigned
tally_ksim_nodes(const tally_ksim_t *s)
{
	return s->nodes;
}

void
tally_ksim_push(tally_ksim_t *s, const uint64_t *a, const uint64_t *b, uint16_t tag)
{
	Pair p;

	std::memcpy(p.a, a, s->nodes * sizeof(uint64_t));
	std::memcpy(p.b, b, s->nodes * sizeof(uint64_t));
	p.tag = tag;
	s->in.push_back(p);
}

int
tally_ksim_pop(tally_ksim_t *s, uint64_t *vec, uint8_t *order, uint16_t *tag)
{
	if (s->out.empty())
		return -EAGAIN;
	const Result &r = s->out.front();
	std::memcpy(vec, r.vec, s->nodes * sizeof(uint64_t));
	*order = r.order;
	*tag = r.tag;
	s->out.pop_front();
	return 0;
}

int
tally_ksim_step(tally_ksim_t *s, bool offer, bool ready)
{
	return s->step(offer, ready);
}

uint64_t
tally_ksim_cycles(const tally_ksim_t *s)
{
	return s->cycles;
}

size_t
tally_ksim_queued(const tally_ksim_t *s)
{
	return s->in.size();
}

int
tally_ksim_write_coverage(tally_ksim_t *s, const char *path)
{
	return s->write_coverage(path);
}

const char *
tally_ksim_kind_name(enum tally_ksim_kind kind)
{
	switch (kind) {
	case TALLY_KSIM_GCOUNTER_MERGE:
		return "gcounter_merge";
	case TALLY_KSIM_VCLOCK_UNIT:
		return "vclock_unit";
	default:
		return "invalid";
	}
}

} // extern "C"
