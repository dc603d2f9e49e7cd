// F(4×4) weight transforms, U = G g Gᵀ, into the AVX2 kernels' panel layout. Layers with many tiles make
// theirs again for every pass instead of keeping them (VGGNetwork's transient transforms, 37 MB at
// 512²); in Swift's double-precision SIMD4 (pairs of SSE operations) that was about 1.7% of an
// iteration. The same operations in the same order as Winograd.transformWeights4 (no FMA contraction),
// so the results are the Swift ones bit for bit; both multiply by ⅙ and ⅓ instead of dividing, as the
// divisions took most of the time.
#include "CKernels.h"

#if defined(__x86_64__)
#include "avx2.h"

typedef double v4d __attribute__((vector_size(32)));

// G applied to three values (a column or a row of a 3×3 kernel), as Winograd.g4Apply.
KERNEL_TARGET static inline void g4(v4d x0, v4d x1, v4d x2, v4d *y) {
#pragma clang fp contract(off)
    const double sixth = 1.0 / 6, third = 1.0 / 3;
    v4d even = x0 + x2, a = 4 * x0 + x2;
    y[0] = x0;
    y[1] = (even + x1) * sixth;
    y[2] = (even - x1) * sixth;
    y[3] = -(a + 2 * x1) * third;
    y[4] = -(a - 2 * x1) * third;
    y[5] = x2 * 0.25;
}

KERNEL_TARGET void restyle_wino4_weights(const float *taps, int cout, int cin, int o, float *out, long xi_floats,
                                         long start, long stride) {
    long mn = (long)cout * cin;
    for (int c = 0; c < cin; c += 4) {
        int lanes = cin - c < 4 ? cin - c : 4;
        v4d t[9];
        for (int k = 0; k < 9; k++) {
            const float *p = taps + k * mn + (long)o * cin + c;
            float f[4] = {0, 0, 0, 0};
            for (int l = 0; l < lanes; l++) f[l] = p[l];
            t[k] = (v4d)_mm256_cvtps_pd(_mm_loadu_ps(f));
        }
        // G g, column by column (gg[a][j] in col[j][a]), then G on each row of that.
        v4d col[3][6];
        for (int j = 0; j < 3; j++) g4(t[j], t[3 + j], t[6 + j], col[j]);
        for (int a = 0; a < 6; a++) {
            v4d r[6];
            g4(col[0][a], col[1][a], col[2][a], r);
            for (int b = 0; b < 6; b++) {
                float v[4];
                _mm_storeu_ps(v, _mm256_cvtpd_ps((__m256d)r[b]));
                float *at = out + (6 * a + b) * xi_floats + start + (long)c * stride;
                for (int l = 0; l < lanes; l++) at[l * stride] = v[l];
            }
        }
    }
}

#else

void restyle_wino4_weights(const float *taps, int cout, int cin, int o, float *out, long xi_floats, long start, long stride) {
    (void)taps; (void)cout; (void)cin; (void)o; (void)out; (void)xi_floats; (void)start; (void)stride;
}

#endif
