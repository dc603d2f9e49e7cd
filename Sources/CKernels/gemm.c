// The Winograd products are many small GEMMs (m and k 64…512, n about 100 tiles per thread's block).
// On those OpenBLAS spent a quarter of its time packing A and B and zeroing C (issue 8's profile:
// sgemm_beta, itcopy, oncopy, otcopy); this kernel reads U in a layout made for it and B where it lies.
#include "CKernels.h"

#if defined(__x86_64__)
#include "avx2.h"

bool restyle_kernels_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached != 0;
}


// Lanes 0..<count of an 8-float vector as a mask for maskload/maskstore.
KERNEL_TARGET static inline __m256i lanes(int count) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), index);
}

// MR rows × 16 columns of C over p < k, with A(r, p) = a[r·ARS + (p / 6)·gs + (p % 6)·QS]: forward
// panels are (ARS 1, QS 6, gs 36), transposed ones (ARS 6, QS 1, gs 6·cin). MR, ARS and QS are
// constants, so the row loops unroll into 2·MR accumulators (12 of the 16 ymm registers at MR 6), and
// whole groups of six p are unrolled too. LOAD reads B's two vectors of a row; the masked variant is
// for the right edge (`cols` < 16), where B's loads and C's stores are masked.
// Sixteen columns of a row of C (fewer at the right edge), written or (`add`) added to.
KERNEL_TARGET static inline void store(float *c, int cols, bool add, __m256 v0, __m256 v1) {
    if (cols >= 16) {
        if (add) { v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c)); v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8)); }
        _mm256_storeu_ps(c, v0); _mm256_storeu_ps(c + 8, v1);
        return;
    }
    __m256i m0 = lanes(cols), m1 = lanes(cols - 8);
    if (add) {
        v0 = _mm256_add_ps(v0, _mm256_maskload_ps(c, m0)); v1 = _mm256_add_ps(v1, _mm256_maskload_ps(c + 8, m1));
    }
    _mm256_maskstore_ps(c, m0, v0); _mm256_maskstore_ps(c + 8, m1, v1);
}

#define STEP(MR, ARS, ap, LOAD)                                                                           \
    do {                                                                                                  \
        __m256 b0, b1; LOAD;                                                                              \
        for (int r = 0; r < MR; r++) {                                                                    \
            __m256 x = _mm256_broadcast_ss((ap) + r * ARS);                                               \
            acc0[r] = _mm256_fmadd_ps(x, b0, acc0[r]);                                                    \
            acc1[r] = _mm256_fmadd_ps(x, b1, acc1[r]);                                                    \
        }                                                                                                 \
        bp += bs;                                                                                         \
    } while (0)

#define TILE_BODY(MR, ARS, QS, LOAD, STORE)                                                               \
    __m256 acc0[MR], acc1[MR];                                                                            \
    for (int r = 0; r < MR; r++) { acc0[r] = _mm256_setzero_ps(); acc1[r] = _mm256_setzero_ps(); }        \
    const float *bp = b;                                                                                  \
    int g = 0;                                                                                            \
    for (; g * 6 + 6 <= k; g++) {                                                                         \
        const float *ag = a + g * gs;                                                                     \
        STEP(MR, ARS, ag, LOAD); STEP(MR, ARS, ag + QS, LOAD); STEP(MR, ARS, ag + 2 * QS, LOAD);          \
        STEP(MR, ARS, ag + 3 * QS, LOAD); STEP(MR, ARS, ag + 4 * QS, LOAD); STEP(MR, ARS, ag + 5 * QS, LOAD); \
    }                                                                                                     \
    for (int q = 0; g * 6 + q < k; q++) STEP(MR, ARS, a + g * gs + q * QS, LOAD);                         \
    for (int r = 0; r < MR; r++) { STORE; }

// B's rows lie bs floats apart (16 in a packed panel); at the right edge (cols < 16) its loads are masked.
#define MICRO_TILE(NAME, MR, ARS, QS)                                                                     \
KERNEL_TARGET static void NAME(int k, const float *a, long gs, const float *b, long bs, float *c, long ldc, \
                               int cols, bool add) {                                                      \
    if (cols >= 16) {                                                                                     \
        TILE_BODY(MR, ARS, QS, (b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8)),                 \
                  store(c + r * ldc, cols, add, acc0[r], acc1[r]))                                        \
    } else {                                                                                              \
        __m256i m0 = lanes(cols), m1 = lanes(cols - 8);                                                   \
        TILE_BODY(MR, ARS, QS, (b0 = _mm256_maskload_ps(bp, m0), b1 = _mm256_maskload_ps(bp + 8, m1)),   \
                  store(c + r * ldc, cols, add, acc0[r], acc1[r]))                                        \
    }                                                                                                     \
}

MICRO_TILE(fwd1, 1, 1, 6) MICRO_TILE(fwd2, 2, 1, 6) MICRO_TILE(fwd3, 3, 1, 6)
MICRO_TILE(fwd4, 4, 1, 6) MICRO_TILE(fwd5, 5, 1, 6) MICRO_TILE(fwd6, 6, 1, 6)
MICRO_TILE(bwd1, 1, 6, 1) MICRO_TILE(bwd2, 2, 6, 1) MICRO_TILE(bwd3, 3, 6, 1)
MICRO_TILE(bwd4, 4, 6, 1) MICRO_TILE(bwd5, 5, 6, 1) MICRO_TILE(bwd6, 6, 6, 1)

typedef void (*tile_fn)(int, const float *, long, const float *, long, float *, long, int, bool);

// B's columns j0..<j1, as panels of 16 columns each k × 16 contiguous, the last padded with zeros: the
// tiles then read B sequentially, where at large k·ldb (the deep layers' long chunks of tiles) every
// row of B was a TLB miss. One buffer per thread, 128 KB. A B of at most DIRECT_FLOATS (a block of
// tiles' V, already in cache) is read where it lies: copying it cost a sixth of the GEMM time.
enum { DIRECT_FLOATS = 16384 };
enum { PACK_FLOATS = 32768 };
static _Thread_local float packed[PACK_FLOATS] __attribute__((aligned(32)));

KERNEL_TARGET static void pack_b(int k, const float *b, long ldb, int cols, float *out) {
    for (int j = 0; j < cols; j += 16, out += 16L * k) {
        int w = cols - j < 16 ? cols - j : 16;
        __m256i m0 = lanes(w), m1 = lanes(w - 8);
        for (int p = 0; p < k; p++) {
            const float *row = b + p * ldb + j;
            _mm256_store_ps(out + 16 * p, _mm256_maskload_ps(row, m0));
            _mm256_store_ps(out + 16 * p + 8, _mm256_maskload_ps(row + 8, m1));
        }
    }
}

KERNEL_TARGET void restyle_winograd_gemm(int m, int n, int k, const float *u, int cin, bool transposed,
                                         const float *b, long ldb, float *c, long ldc) {
    static const tile_fn fwd[6] = {fwd1, fwd2, fwd3, fwd4, fwd5, fwd6};
    static const tile_fn bwd[6] = {bwd1, bwd2, bwd3, bwd4, bwd5, bwd6};
    long gs = transposed ? 6L * cin : 36;
    if (k <= 0) {
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[(long)i * ldc + j] = 0;
        return;
    }
    // Columns in blocks whose packed B (kc × jc floats, ≤ 128 KB) stays in L2 while every panel of six
    // rows of A (6·kc floats, in L1) passes over it; k in steps of about 256 (a multiple of 6, so a
    // step starts on a group of U's panel layout), the later steps adding into C. The steps are also
    // for accuracy: one running sum over k = 512 had twice OpenBLAS's error (which sums in steps of 256).
    int steps = (k + 255) / 256, step = ((k + steps - 1) / steps + 5) / 6 * 6;
    for (int p0 = 0; p0 < k; p0 += step) {
        int kc = k - p0 < step ? k - p0 : step;
        int jc = PACK_FLOATS / kc / 16 * 16;
        const float *up = u + (long)(p0 / 6) * gs;
        bool direct = (long)kc * ldb <= DIRECT_FLOATS;
        if (direct) jc = n;
        for (int j0 = 0; j0 < n; j0 += jc) {
            int cols = n - j0 < jc ? n - j0 : jc;
            const float *bj = b + (long)p0 * ldb + j0;
            if (!direct) pack_b(kc, bj, ldb, cols, packed);
            for (int i = 0; i < m; i += 6) {
                int mr = m - i < 6 ? m - i : 6;
                // Forward: row panel i / 6 starts at (i / 6)·6·cin. Transposed: row i (= c) at 6·i.
                const float *a = transposed ? up + 6L * i : up + (long)i * cin;
                tile_fn tile = transposed ? bwd[mr - 1] : fwd[mr - 1];
                for (int j = 0; j < cols; j += 16)
                    tile(kc, a, gs, direct ? bj + j : packed + (long)j * kc, direct ? ldb : 16,
                         c + (long)i * ldc + j0 + j, ldc, cols - j < 16 ? cols - j : 16, p0 > 0);
            }
        }
    }
}

#else

bool restyle_kernels_available(void) { return false; }

void restyle_winograd_gemm(int m, int n, int k, const float *u, int cin, bool transposed,
                           const float *b, long ldb, float *c, long ldc) {
    (void)m; (void)n; (void)k; (void)u; (void)cin; (void)transposed; (void)b; (void)ldb; (void)c; (void)ldc;
}

#endif
