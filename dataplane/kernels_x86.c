/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * AVX2 and AVX-512 batch kernels. Each function carries its own target
 * attribute, so this file builds with the distribution's baseline flags and
 * the kernels run only where tally_kernels_get() has checked the CPU.
 *
 * AVX2 has no unsigned 64-bit compare: flipping the sign bit of both operands
 * turns the signed compare (vpcmpgtq) into an unsigned one, and a byte blend
 * then selects the larger operand. AVX-512F has vpmaxuq / vpcmpuq directly.
 * Loads and stores are unaligned forms so a caller's misaligned buffer is
 * slow rather than a fault; on aligned data they cost the same.
 */

#include "kernels.h"

#if defined(__x86_64__) && TALLY_MAX_NODES % 4 == 0

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* All-ones lanes where a > b, unsigned. */
static inline AVX2 __m256i
gt_epu64_avx2(__m256i a, __m256i b)
{
	const __m256i sign = _mm256_set1_epi64x(INT64_MIN);

	return _mm256_cmpgt_epi64(_mm256_xor_si256(a, sign), _mm256_xor_si256(b, sign));
}

static AVX2 void
merge_avx2(tally_vec_t *restrict dst, const tally_vec_t *restrict src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (unsigned j = 0; j < TALLY_MAX_NODES; j += 4) {
			__m256i *d = (__m256i *)&dst[i].slot[j];
			__m256i a = _mm256_loadu_si256(d);
			__m256i b = _mm256_loadu_si256((const __m256i *)&src[i].slot[j]);
#ifdef TALLY_MUTATION_MERGE_MIN
			__m256i take_b = gt_epu64_avx2(a, b);
#else
			__m256i take_b = gt_epu64_avx2(b, a);
#endif
			_mm256_storeu_si256(d, _mm256_blendv_epi8(a, b, take_b));
		}
	}
}

static AVX2 void
compare_avx2(const tally_vec_t *a, const tally_vec_t *b, uint8_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__m256i lt = _mm256_setzero_si256(), gt = _mm256_setzero_si256();

		for (unsigned j = 0; j < TALLY_MAX_NODES; j += 4) {
			__m256i x = _mm256_loadu_si256((const __m256i *)&a[i].slot[j]);
			__m256i y = _mm256_loadu_si256((const __m256i *)&b[i].slot[j]);

			gt = _mm256_or_si256(gt, gt_epu64_avx2(x, y));
			lt = _mm256_or_si256(lt, gt_epu64_avx2(y, x));
		}
		order[i] = (uint8_t)(!_mm256_testz_si256(gt, gt) << 1 |
				     !_mm256_testz_si256(lt, lt));
	}
}

const struct tally_kernels tally_kernels_avx2 = {
	.name = "avx2",
	.isa = TALLY_ISA_AVX2,
	.merge = merge_avx2,
	.compare = compare_avx2,
};

#else
const struct tally_kernels tally_kernels_avx2 = { .name = "avx2", .isa = TALLY_ISA_AVX2 };
#endif

#if defined(__x86_64__) && TALLY_MAX_NODES % 8 == 0

#define AVX512 __attribute__((target("avx512f")))

static AVX512 void
merge_avx512(tally_vec_t *restrict dst, const tally_vec_t *restrict src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (unsigned j = 0; j < TALLY_MAX_NODES; j += 8) {
			void *d = &dst[i].slot[j];
			__m512i a = _mm512_loadu_si512(d);
			__m512i b = _mm512_loadu_si512(&src[i].slot[j]);
#ifdef TALLY_MUTATION_MERGE_MIN
			_mm512_storeu_si512(d, _mm512_min_epu64(a, b));
#else
			_mm512_storeu_si512(d, _mm512_max_epu64(a, b));
#endif
		}
	}
}

static AVX512 void
compare_avx512(const tally_vec_t *a, const tally_vec_t *b, uint8_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__mmask8 lt = 0, gt = 0;

		for (unsigned j = 0; j < TALLY_MAX_NODES; j += 8) {
			__m512i x = _mm512_loadu_si512(&a[i].slot[j]);
			__m512i y = _mm512_loadu_si512(&b[i].slot[j]);

			lt |= _mm512_cmplt_epu64_mask(x, y);
			gt |= _mm512_cmpgt_epu64_mask(x, y);
		}
		order[i] = (uint8_t)((gt != 0) << 1 | (lt != 0));
	}
}

const struct tally_kernels tally_kernels_avx512 = {
	.name = "avx512",
	.isa = TALLY_ISA_AVX512,
	.merge = merge_avx512,
	.compare = compare_avx512,
};

#else
const struct tally_kernels tally_kernels_avx512 = { .name = "avx512", .isa = TALLY_ISA_AVX512 };
#endif
