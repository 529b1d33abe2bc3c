/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Run-time choice of batch kernels by CPU feature. The tables themselves are
 * constant; nothing here is mutable state.
 */

#include <string.h>

#include "kernels.h"

static const struct tally_kernels *const tables[TALLY_ISA_COUNT] = {
	[TALLY_ISA_SCALAR] = &tally_kernels_scalar,
	[TALLY_ISA_AVX2] = &tally_kernels_avx2,
	[TALLY_ISA_AVX512] = &tally_kernels_avx512,
};

static int
cpu_has(enum tally_isa isa)
{
	switch (isa) {
	case TALLY_ISA_SCALAR:
		return 1;
#if defined(__x86_64__)
	case TALLY_ISA_AVX2:
		return __builtin_cpu_supports("avx2");
	case TALLY_ISA_AVX512:
		return __builtin_cpu_supports("avx512f");
#endif
	default:
		return 0;
	}
}

const struct tally_kernels *
tally_kernels_get(enum tally_isa isa)
{
	if ((unsigned)isa >= TALLY_ISA_COUNT)
		return NULL;
	/* A table without functions was compiled out for this target or width. */
	if (tables[isa]->merge == NULL || !cpu_has(isa))
		return NULL;
	return tables[isa];
}

const struct tally_kernels *
tally_kernels_by_name(const char *name)
{
	for (unsigned i = 0; i < TALLY_ISA_COUNT; i++)
		if (strcmp(tables[i]->name, name) == 0)
			return tally_kernels_get((enum tally_isa)i);
	return NULL;
}

const struct tally_kernels *
tally_kernels_best(void)
{
	for (int i = TALLY_ISA_COUNT - 1; i > TALLY_ISA_SCALAR; i--) {
		const struct tally_kernels *k = tally_kernels_get((enum tally_isa)i);

		if (k != NULL)
			return k;
	}
	return &tally_kernels_scalar;
}
