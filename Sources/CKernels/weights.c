// F(4×4) weight transforms, U = G g Gᵀ, into the AVX2 kernels' panel layout ([36][cout/6][cin][6]).
// Layers with many tiles make theirs again for every pass instead of keeping them (VGGNetwork's
// transient transforms, 37 MB at 512²); in Swift's double-precision SIMD4 (pairs of SSE operations)
// that was about 1.7% of an iteration. The same operations in the same order as Winograd.transformWeights4 (no FMA contraction),
// so the results are the Swift ones bit for bit (both multiply by ⅙ and ⅓ rather than divide). What made
// it slow was writing each kernel's 36 values to 36 planes; it now writes a panel at a time.
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

KERNEL_TARGET void restyle_wino4_weights(const float *taps, int cout, int cin, int panel, float *out, long xi_floats) {
    long mn = (long)cout * cin;
    // One chunk of four input channels for the panel's six outputs, as the layout holds it: local[ξ]
    // is 4 channels × 6 outputs, which then go out as one contiguous run per ξ. Writing each (o, c)'s
    // 36 values straight to their 36 planes (a quarter of a megabyte apart, six floats between
    // neighbours) made this store-bound at 73 ns a kernel.
    float local[36][24];
    for (int c = 0; c < cin; c += 4) {
        int lanes = cin - c < 4 ? cin - c : 4;
        for (int q = 0; q < 6; q++) {
            int o = 6 * panel + q;
            if (o >= cout) {   // the panel's padding rows
                for (int xi = 0; xi < 36; xi++) for (int l = 0; l < 4; l++) local[xi][6 * l + q] = 0;
                continue;
            }
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
                    for (int l = 0; l < 4; l++) local[6 * a + b][6 * l + q] = v[l];
                }
            }
        }
        long at = ((long)panel * cin + c) * 6;
        for (int xi = 0; xi < 36; xi++) {
            float *dst = out + xi * xi_floats + at;
            for (int i = 0; i < 6 * lanes; i++) dst[i] = local[xi][i];
        }
    }
}

#else

void restyle_wino4_weights(const float *taps, int cout, int cin, int panel, float *out, long xi_floats) {
    (void)taps; (void)cout; (void)cin; (void)panel; (void)out; (void)xi_floats;
}

#endif
