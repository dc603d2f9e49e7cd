// Winograd F(4×4, 3×3) transforms for whole groups of eight tiles (one AVX lane per tile), the same
// maps as the Swift ones in Winograd4.swift (whose comments give Bᵀ, G and Aᵀ). Swift builds for the
// baseline x86-64, so its SIMD8 runs as pairs of SSE operations without FMA; here each is one AVX2
// instruction. Tiles at the plane's edges, and CPUs without AVX2, keep the Swift code.
#include "CKernels.h"

void restyle_prefetch_rows(const float *p, long rs, int rows, long floats, bool write) {
    for (int r = 0; r < rows; r++) {
        const char *row = (const char *)(p + r * rs);
        for (long b = 0; b < floats * 4 + 63; b += 64) {
            if (write) __builtin_prefetch(row + b, 1); else __builtin_prefetch(row + b, 0);
        }
    }
}

#if defined(__x86_64__)
#include "avx2.h"

typedef float v8 __attribute__((vector_size(32)));

// A row of eight tiles is 32 consecutive floats, four per tile: column j of the group is c_j[l] =
// p[4l + j]. Four loads, 4×4 transposes within 128-bit halves, then one lane permutation per column
// to put tile l in lane l.
KERNEL_TARGET static inline void columns(const float *p, v8 *c0, v8 *c1, v8 *c2, v8 *c3) {
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256 y0 = _mm256_loadu_ps(p), y1 = _mm256_loadu_ps(p + 8), y2 = _mm256_loadu_ps(p + 16), y3 = _mm256_loadu_ps(p + 24);
    __m256 a = _mm256_unpacklo_ps(y0, y1), b = _mm256_unpackhi_ps(y0, y1);
    __m256 c = _mm256_unpacklo_ps(y2, y3), d = _mm256_unpackhi_ps(y2, y3);
    *c0 = (v8)_mm256_permutevar8x32_ps(_mm256_shuffle_ps(a, c, 0x44), order);
    *c1 = (v8)_mm256_permutevar8x32_ps(_mm256_shuffle_ps(a, c, 0xEE), order);
    *c2 = (v8)_mm256_permutevar8x32_ps(_mm256_shuffle_ps(b, d, 0x44), order);
    *c3 = (v8)_mm256_permutevar8x32_ps(_mm256_shuffle_ps(b, d, 0xEE), order);
}

// The inverse: p[4l + j] = c_j[l], or with `add` p[4l + j] += c_j[l].
KERNEL_TARGET static inline void store_columns(v8 c0, v8 c1, v8 c2, v8 c3, float *p, int add) {
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256 e0 = _mm256_permutevar8x32_ps((__m256)c0, order), e1 = _mm256_permutevar8x32_ps((__m256)c1, order);
    __m256 e2 = _mm256_permutevar8x32_ps((__m256)c2, order), e3 = _mm256_permutevar8x32_ps((__m256)c3, order);
    __m256 a = _mm256_unpacklo_ps(e0, e1), b = _mm256_unpacklo_ps(e2, e3);
    __m256 c = _mm256_unpackhi_ps(e0, e1), d = _mm256_unpackhi_ps(e2, e3);
    __m256 y[4] = {_mm256_shuffle_ps(a, b, 0x44), _mm256_shuffle_ps(a, b, 0xEE),
                   _mm256_shuffle_ps(c, d, 0x44), _mm256_shuffle_ps(c, d, 0xEE)};
    for (int k = 0; k < 4; k++) {
        if (add) y[k] = _mm256_add_ps(y[k], _mm256_loadu_ps(p + 8 * k));
        _mm256_storeu_ps(p + 8 * k, y[k]);
    }
}

// Lane l holds c[l + 1]; `last` enters at lane 7.
KERNEL_TARGET static inline v8 next_lane(v8 c, float last) {
    __m256 shifted = _mm256_permutevar8x32_ps((__m256)c, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
    return (v8)_mm256_blend_ps(shifted, _mm256_set1_ps(last), 0x80);
}

// Lane l holds c[l − 1]; zero enters at lane 0.
KERNEL_TARGET static inline v8 previous_lane(v8 c) {
    __m256 shifted = _mm256_permutevar8x32_ps((__m256)c, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
    return (v8)_mm256_blend_ps(shifted, _mm256_setzero_ps(), 0x01);
}

// The 1-D transforms, applied along rows and then along columns (each 2-D transform is separable:
// Bᵀ d B is Bᵀ on each column of d B), one row or column at a time through a small local array, so a
// handful of vectors are live at once. The fully expanded 2-D expressions kept some 70 vectors live, and
// the compiler spilled them in a stream of stack moves that cost more than the arithmetic.

// y = Bᵀ x (6 → 6): the input transform.
KERNEL_TARGET static inline void bt(v8 x0, v8 x1, v8 x2, v8 x3, v8 x4, v8 x5, v8 *y) {
    v8 s = 4 * x4 - x2, t = 4 * x3 - x1, u = 2 * (x4 - x2), w = x3 - x1;
    y[0] = x0 - 5 * x2 + 4 * x4;
    y[1] = s + t;
    y[2] = s - t;
    y[3] = u + w;
    y[4] = u - w;
    y[5] = x1 - 5 * x3 + 4 * x5;
}

// y = Aᵀ x (6 → 4): the output transform.
KERNEL_TARGET static inline void at(v8 x0, v8 x1, v8 x2, v8 x3, v8 x4, v8 x5, v8 *y) {
    v8 p = x1 + x2, m = x1 - x2, q = x3 + x4, n = x3 - x4;
    y[0] = x0 + p + q;
    y[1] = m + 0.5f * n;
    y[2] = p + 0.25f * q;
    y[3] = m + 0.125f * n + x5;
}

// y = A x (4 → 6): the transpose of Aᵀ, the input gradient's first transform.
KERNEL_TARGET static inline void a6(v8 x0, v8 x1, v8 x2, v8 x3, v8 *y) {
    v8 e = x0 + x2, o = x1 + x3, e4 = x0 + 0.25f * x2, o4 = 0.5f * x1 + 0.125f * x3;
    y[0] = x0;
    y[1] = e + o;
    y[2] = e - o;
    y[3] = e4 + o4;
    y[4] = e4 - o4;
    y[5] = x3;
}

// y = B x (6 → 6): the transpose of Bᵀ, the input gradient's last transform.
KERNEL_TARGET static inline void b6(v8 x0, v8 x1, v8 x2, v8 x3, v8 x4, v8 x5, v8 *y) {
    y[0] = x0;
    y[1] = -x1 + x2 - x3 + x4 + x5;
    y[2] = -5 * x0 - x1 - x2 - 2 * x3 - 2 * x4;
    y[3] = 4 * x1 - 4 * x2 + x3 - x4 - 5 * x5;
    y[4] = 4 * x0 + 4 * x1 + 4 * x2 + 2 * x3 + 2 * x4;
    y[5] = 4 * x5;
}

// Column j of the 6 × 6 values ξ = 6r + j (one vector per tile group each, `stride` apart): read into
// x[r], or written from y[r].
KERNEL_TARGET static inline void load_column(const float *m, long stride, int j, v8 *x) {
    for (int r = 0; r < 6; r++) x[r] = (v8)_mm256_loadu_ps(m + (6 * r + j) * stride);
}

KERNEL_TARGET static inline void store_column(const v8 *y, int j, float *out, long stride) {
    for (int r = 0; r < 6; r++) _mm256_storeu_ps(out + (6 * r + j) * stride, (__m256)y[r]);
}

KERNEL_TARGET void restyle_wino4_input8(const float *base, long rs, float *out, long stride) {
    v8 u[36];   // u[6r + b]: row r of the tile transformed along the row
    for (int r = 0; r < 6; r++) {
        const float *row = base + r * rs;
        v8 c0, c1, c2, c3;
        columns(row, &c0, &c1, &c2, &c3);
        // Columns 4 and 5 of tile l are columns 0 and 1 of tile l + 1.
        bt(c0, c1, c2, c3, next_lane(c0, row[32]), next_lane(c1, row[33]), &u[6 * r]);
    }
    for (int b = 0; b < 6; b++) {
        v8 y[6];
        bt(u[b], u[6 + b], u[12 + b], u[18 + b], u[24 + b], u[30 + b], y);
        store_column(y, b, out, stride);
    }
}

KERNEL_TARGET void restyle_wino4_output8(const float *m, long stride, float bias, bool relu, float *dst, long rs) {
    v8 w[24];   // w[6a + j]: column j of M transformed down the column
    for (int j = 0; j < 6; j++) {
        v8 x[6], y[4];
        load_column(m, stride, j, x);
        at(x[0], x[1], x[2], x[3], x[4], x[5], y);
        for (int a = 0; a < 4; a++) w[6 * a + j] = y[a];
    }
    __m256 b = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
    for (int a = 0; a < 4; a++) {
        v8 y[4];
        at(w[6 * a], w[6 * a + 1], w[6 * a + 2], w[6 * a + 3], w[6 * a + 4], w[6 * a + 5], y);
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_add_ps((__m256)y[k], b);
            // max(0, v) returns v when v is NaN: an overflow must reach the loss, not become a zero.
            y[k] = (v8)(relu ? _mm256_max_ps(zero, v) : v);
        }
        store_columns(y[0], y[1], y[2], y[3], dst + a * rs, 0);
    }
}

KERNEL_TARGET void restyle_wino4_gradient_input8(const float *dy, const float *mask, long rs, float *out, long stride) {
    v8 u[24];   // u[6r + b]: row r of the gradient tile transformed along the row
    __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < 4; r++) {
        v8 d[4];
        columns(dy + r * rs, &d[0], &d[1], &d[2], &d[3]);
        if (mask) {
            v8 a[4];
            columns(mask + r * rs, &a[0], &a[1], &a[2], &a[3]);
            // Kept where the ReLU's output is > 0 (a NaN output passes no gradient, as in Swift).
            for (int j = 0; j < 4; j++) d[j] = (v8)_mm256_and_ps((__m256)d[j], _mm256_cmp_ps((__m256)a[j], zero, _CMP_GT_OQ));
        }
        a6(d[0], d[1], d[2], d[3], &u[6 * r]);
    }
    for (int b = 0; b < 6; b++) {
        v8 y[6];
        a6(u[b], u[6 + b], u[12 + b], u[18 + b], y);
        store_column(y, b, out, stride);
    }
}

KERNEL_TARGET void restyle_wino4_gradient_output8(const float *m, long stride, float *dx, long rs) {
    v8 u[36];   // u[6a + j]: column j of dV transformed down the column
    for (int j = 0; j < 6; j++) {
        v8 x[6], y[6];
        load_column(m, stride, j, x);
        b6(x[0], x[1], x[2], x[3], x[4], x[5], y);
        for (int a = 0; a < 6; a++) u[6 * a + j] = y[a];
    }
    for (int r = 0; r < 6; r++) {
        v8 e[6];
        b6(u[6 * r], u[6 * r + 1], u[6 * r + 2], u[6 * r + 3], u[6 * r + 4], u[6 * r + 5], e);
        float *row = dx + r * rs;
        // Columns 4 and 5 of tile l land on columns 0 and 1 of tile l + 1: added there in the same
        // vector, the last tile's after the row.
        store_columns(e[0] + previous_lane(e[4]), e[1] + previous_lane(e[5]), e[2], e[3], row, 1);
        row[32] += e[4][7];
        row[33] += e[5][7];
    }
}

#else

void restyle_wino4_input8(const float *base, long rs, float *out, long stride) { (void)base; (void)rs; (void)out; (void)stride; }
void restyle_wino4_output8(const float *m, long stride, float bias, bool relu, float *dst, long rs) {
    (void)m; (void)stride; (void)bias; (void)relu; (void)dst; (void)rs;
}
void restyle_wino4_gradient_input8(const float *dy, const float *mask, long rs, float *out, long stride) {
    (void)dy; (void)mask; (void)rs; (void)out; (void)stride;
}
void restyle_wino4_gradient_output8(const float *m, long stride, float *dx, long rs) { (void)m; (void)stride; (void)dx; (void)rs; }

#endif
