// 2×2 stride-2 pooling rows, eight outputs at a time: the same results as Ops.poolForward and the
// argmax poolBackward (Swift's max(x, y) is y >= x ? y : x, and the argmax takes the first maximum in
// row-major order), which ran a scalar loop of four loads per output.
#include "CKernels.h"

#if defined(__x86_64__)
#include "avx2.h"


// The even and odd entries of p[0..<16].
KERNEL_TARGET static inline void split(const float *p, __m256 *even, __m256 *odd) {
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
}

// Swift's max(x, y): y where y >= x, else x (so a NaN in x stays, a NaN in y does not win).
KERNEL_TARGET static inline __m256 swift_max(__m256 x, __m256 y) { return _mm256_blendv_ps(x, y, _mm256_cmp_ps(y, x, _CMP_GE_OQ)); }

static inline float scalar_max(float x, float y) { return y >= x ? y : x; }

KERNEL_TARGET void restyle_pool_row(const float *r0, const float *r1, int ow, bool max, float *y, uint8_t *argmax) {
    int j = 0;
    for (; j + 8 <= ow; j += 8) {
        __m256 a, b, d, e;
        split(r0 + 2 * j, &a, &b);
        split(r1 + 2 * j, &d, &e);
        if (!max) {
            _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a, b), d), e), _mm256_set1_ps(0.25f)));
            continue;
        }
        _mm256_storeu_ps(y + j, swift_max(swift_max(a, b), swift_max(d, e)));
        if (argmax) {
            __m256 v = a, best = _mm256_setzero_ps(), m;
            m = _mm256_cmp_ps(b, v, _CMP_GT_OQ); v = _mm256_blendv_ps(v, b, m); best = _mm256_blendv_ps(best, _mm256_set1_ps(1), m);
            m = _mm256_cmp_ps(d, v, _CMP_GT_OQ); v = _mm256_blendv_ps(v, d, m); best = _mm256_blendv_ps(best, _mm256_set1_ps(2), m);
            m = _mm256_cmp_ps(e, v, _CMP_GT_OQ); best = _mm256_blendv_ps(best, _mm256_set1_ps(3), m);
            __m256i codes = _mm256_cvtps_epi32(best);
            __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
            _mm_storel_epi64((__m128i *)(argmax + j), _mm_packus_epi16(words, words));
        }
    }
    for (; j < ow; j++) {
        float a = r0[2 * j], b = r0[2 * j + 1], d = r1[2 * j], e = r1[2 * j + 1];
        y[j] = max ? scalar_max(scalar_max(a, b), scalar_max(d, e)) : (a + b + d + e) * 0.25f;
        if (max && argmax) {
            uint8_t best = 0;
            float v = a;
            if (b > v) { best = 1; v = b; }
            if (d > v) { best = 2; v = d; }
            if (e > v) best = 3;
            argmax[j] = best;
        }
    }
}

KERNEL_TARGET void restyle_pool_backward_row(const float *g, const uint8_t *argmax, int ow, float *d0, float *d1) {
    int j = 0;
    const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2), three = _mm256_set1_epi32(3);
    // + 0 as the zeroed buffer's add did: a −0 gradient is written as +0.
    const __m256 zero = _mm256_setzero_ps();
    for (; j + 8 <= ow; j += 8) {
        __m256 gv = _mm256_add_ps(_mm256_loadu_ps(g + j), zero);
        __m256i codes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(argmax + j)));
        __m256 p0 = _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(codes, _mm256_setzero_si256())));
        __m256 p1 = _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(codes, one)));
        __m256 p2 = _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(codes, two)));
        __m256 p3 = _mm256_and_ps(gv, _mm256_castsi256_ps(_mm256_cmpeq_epi32(codes, three)));
        // Interleave (p0, p1) into row 0 and (p2, p3) into row 1.
        __m256 lo = _mm256_unpacklo_ps(p0, p1), hi = _mm256_unpackhi_ps(p0, p1);
        _mm256_storeu_ps(d0 + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(d0 + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
        lo = _mm256_unpacklo_ps(p2, p3); hi = _mm256_unpackhi_ps(p2, p3);
        _mm256_storeu_ps(d1 + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(d1 + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; j < ow; j++) {
        float v = g[j] + 0.0f;
        d0[2 * j] = argmax[j] == 0 ? v : 0.0f;
        d0[2 * j + 1] = argmax[j] == 1 ? v : 0.0f;
        d1[2 * j] = argmax[j] == 2 ? v : 0.0f;
        d1[2 * j + 1] = argmax[j] >= 3 ? v : 0.0f;
    }
}

#else

void restyle_pool_row(const float *r0, const float *r1, int ow, bool max, float *y, uint8_t *argmax) {
    (void)r0; (void)r1; (void)ow; (void)max; (void)y; (void)argmax;
}
void restyle_pool_backward_row(const float *g, const uint8_t *argmax, int ow, float *d0, float *d1) {
    (void)g; (void)argmax; (void)ow; (void)d0; (void)d1;
}

#endif
