// SPDX-License-Identifier: BSD-3-Clause
// Copyright (c) 2026 The tally authors
//
// The Verilator harness behind csr_sim.h: one VerilatedContext and one
// nic_csr model per simulation, pins copied in and out, nothing else.

#include <cerrno>
#include <memory>
#include <new>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "csr_sim.h"
#include "tally_csr.h"
#include "Vnic_csr.h"
#include "Vnic_csr_carry.h"
#include "Vnic_csr_wrap.h"

static_assert(TALLY_CSR_CNT_COUNT <= 32, "cnt_inc is driven from a uint32_t");

struct csr_sim {
	virtual ~csr_sim() = default;
	virtual void eval(const csr_sim_in &in, csr_sim_out &out) = 0;
	virtual void edge(csr_sim_out &out) = 0;
	uint64_t cycles = 0;
};

namespace {

template <class W>
void get_key(const W &bus, uint8_t *key)
{
	for (unsigned j = 0; j < 16; j++)
		key[j] = static_cast<uint8_t>(bus[j / 4] >> (8 * (j % 4)));
}

template <class Model>
class CsrSim final : public csr_sim {
public:
	CsrSim(const char *name, const char *fst_path, int *err)
	{
		ctx_ = std::make_unique<VerilatedContext>();
		if (fst_path != nullptr)
			ctx_->traceEverOn(true);
		model_ = std::make_unique<Model>(ctx_.get(), name);
		if (fst_path != nullptr) {
			trace_ = std::make_unique<VerilatedFstC>();
			model_->trace(trace_.get(), 99);
			trace_->open(fst_path);
			if (!trace_->isOpen()) {
				*err = -EIO;
				return;
			}
		}
		csr_sim_in idle = {};
		csr_sim_out out;
		model_->rst = 1;
		for (int i = 0; i < 2; i++) {
			eval(idle, out);
			edge(out);
		}
		model_->rst = 0;
		cycles = 0;
		*err = 0;
	}

	~CsrSim() override
	{
		if (trace_)
			trace_->close();
		model_->final();
	}

	void eval(const csr_sim_in &in, csr_sim_out &out) override
	{
		Model &m = *model_;

		m.clk = 0;
		m.s_axil_awaddr = in.awaddr;
		m.s_axil_awvalid = in.awvalid;
		m.s_axil_wdata = in.wdata;
		m.s_axil_wstrb = in.wstrb;
		m.s_axil_wvalid = in.wvalid;
		m.s_axil_bready = in.bready;
		m.s_axil_araddr = in.araddr;
		m.s_axil_arvalid = in.arvalid;
		m.s_axil_rready = in.rready;
		m.cnt_inc = in.cnt_inc;
		m.status_idle = in.status_idle;
		m.eval();
		dump();
		sample(out);
	}

	void edge(csr_sim_out &out) override
	{
		model_->clk = 1;
		model_->eval();
		dump();
		sample(out);
		cycles++;
	}

private:
	void sample(csr_sim_out &out)
	{
		const Model &m = *model_;

		out.awready = m.s_axil_awready;
		out.wready = m.s_axil_wready;
		out.bvalid = m.s_axil_bvalid;
		out.bresp = m.s_axil_bresp;
		out.arready = m.s_axil_arready;
		out.rvalid = m.s_axil_rvalid;
		out.rdata = m.s_axil_rdata;
		out.rresp = m.s_axil_rresp;
		out.ctrl_merge_enable = m.ctrl_merge_enable;
		get_key(m.node_key, out.node_key);
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

csr_sim_t *
csr_sim_create(enum csr_sim_variant variant, const char *fst_path, int *err)
{
	csr_sim *s = nullptr;
	const char *name = csr_sim_variant_name(variant);

	*err = 0;
	try {
		switch (variant) {
		case CSR_SIM_PLAIN:
			s = new CsrSim<Vnic_csr>(name, fst_path, err);
			break;
		case CSR_SIM_CARRY:
			s = new CsrSim<Vnic_csr_carry>(name, fst_path, err);
			break;
		case CSR_SIM_WRAP:
			s = new CsrSim<Vnic_csr_wrap>(name, fst_path, err);
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
csr_sim_free(csr_sim_t *s)
{
	delete s;
}

void
csr_sim_eval(csr_sim_t *s, const struct csr_sim_in *in, struct csr_sim_out *out)
{
	s->eval(*in, *out);
}

void
csr_sim_edge(csr_sim_t *s, struct csr_sim_out *out)
{
	s->edge(*out);
}

uint64_t
csr_sim_cycles(const csr_sim_t *s)
{
	return s->cycles;
}

const char *
csr_sim_variant_name(enum csr_sim_variant variant)
{
	switch (variant) {
	case CSR_SIM_PLAIN:
		return "plain";
	case CSR_SIM_CARRY:
		return "carry";
	case CSR_SIM_WRAP:
		return "wrap";
	default:
		return "invalid";
	}
}

} // extern "C"
