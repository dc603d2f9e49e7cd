// ReLU's passes over whole tensors, for the layers whose ReLU is not fused into a Winograd transform
// (conv1_1, which runs direct). Swift's loop skipped the store where the value was positive, a branch on
// every element's sign that the predictor gets wrong half the time; written as a select, the compiler
// makes it a vector compare and mask at the baseline x86-64. The 1-bit masks of the compact memory
// plan (BackwardRecords.swift) are one compare and movemask per eight elements in AVX2.
#include "CKernels.h"

void restyle_relu(float *p, long n) {
    for (long i = 0; i < n; i++) p[i] = p[i] > 0 ? p[i] : 0.0f;
}

void restyle_relu_backward(float *g, const float *a, long n) {
    for (long i = 0; i < n; i++) {
        float v = g[i];   // loaded either way, so the select needs no branch
        g[i] = a[i] > 0 ? v : 0.0f;
    }
}

#if defined(__x86_64__)
#include "avx2.h"

KERNEL_TARGET void restyle_relu_mask(const float *a, long bytes, uint8_t *bits) {
    __m256 zero = _mm256_setzero_ps();
    // Bit l of a byte is lane l's comparison (NaN and ±0 are not > 0).
    for (long b = 0; b < bytes; b++)
        bits[b] = (uint8_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(a + 8 * b), zero, _CMP_GT_OQ));
}

KERNEL_TARGET void restyle_relu_mask_backward(float *g, const uint8_t *bits, long bytes) {
    const __m256i lanes = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (long b = 0; b < bytes; b++) {
        int v = bits[b];
        if (v == 0xFF) continue;
        __m256i keep = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(v), lanes), lanes);
        float *p = g + 8 * b;
        // Cleared lanes become +0, as in Swift.
        _mm256_storeu_ps(p, _mm256_and_ps(_mm256_loadu_ps(p), _mm256_castsi256_ps(keep)));
    }
}

#else

void restyle_relu_mask(const float *a, long bytes, uint8_t *bits) { (void)a; (void)bytes; (void)bits; }
void restyle_relu_mask_backward(float *g, const uint8_t *bits, long bytes) { (void)g; (void)bits; (void)bytes; }

#endif
