#ifndef RESTYLE_CKERNELS_H
#define RESTYLE_CKERNELS_H

#include <stdbool.h>
#include <stdint.h>

/// True when this CPU runs the AVX2 + FMA kernels below. The package is built for the baseline x86-64
/// (no unsafe flags), so these functions carry their own target attribute and are chosen at run time.
bool restyle_kernels_available(void);

/// One Winograd product, C = A·B (β = 0), row-major, single-threaded, with U in restyle's panel layout:
/// U[o][c] (cout × cin) is stored at ((o / 6)·cin + c)·6 + o % 6, rows padded with zeros to a multiple
/// of 6. Forward (transposed false): A = U, m = cout, k = cin. Input gradient (transposed true): A = Uᵀ,
/// m = cin, k = cout. Either way a micro-tile's six rows of A for one p are one broadcast each from a
/// few cache lines, so U is never packed again per call. B is k × n (row stride ldb), C m × n (ldc).
/// Only when available() is true.
void restyle_winograd_gemm(int m, int n, int k, const float *u, int cin, bool transposed,
                           const float *b, long ldb, float *c, long ldc);

/// F(4×4, 3×3) transforms of one whole group of eight tiles along a tile row, one AVX lane per tile,
/// exactly as the fast paths of Winograd4.swift's transforms (which call these when `Kernels` is avx2).
/// `stride` is the distance between two ξ's rows of V or M, `rs` a padded plane's row stride.
/// Input: 6 rows of 34 floats from `base` (the group's top-left) to V's 36 vectors at out + ξ·stride.
void restyle_wino4_input8(const float *base, long rs, float *out, long stride);
/// Output: M's 36 vectors to 4 rows of 32 floats at dst, plus bias, then (relu) max(0, ·) keeping NaN.
void restyle_wino4_output8(const float *m, long stride, float bias, bool relu, float *dst, long rs);
/// Input gradient's first transform: 4 rows of 32 floats of dy (times mask > 0, when mask is not
/// NULL; it has dy's layout) to dM's 36 vectors.
void restyle_wino4_gradient_input8(const float *dy, const float *mask, long rs, float *out, long stride);
/// Input gradient's last transform: 36 vectors added into 6 rows of 34 floats of dx (the tiles overlap).
void restyle_wino4_gradient_output8(const float *m, long stride, float *dx, long rs);

/// F(4×4) weight transform U = G g Gᵀ of output channels 6·panel ..< 6·panel + 6 (zeros past cout) for
/// every input channel, from taps [9][cout][cin], in double precision, into the panel layout (see
/// restyle_winograd_gemm; xi_floats apart per ξ). Bit for bit Winograd.transformWeights4. Only when
/// restyle_kernels_available() is true.
void restyle_wino4_weights(const float *taps, int cout, int cin, int panel, float *out, long xi_floats);

/// One output row of 2×2 stride-2 pooling (max, else average) from the two input rows r0 and r1 (each
/// from interior column 0), as Ops.poolForward computes it; with max and a non-NULL argmax, also the
/// argmax codes 0…3 (row-major, first maximum).
void restyle_pool_row(const float *r0, const float *r1, int ow, bool max, float *y, uint8_t *argmax);
/// Max pooling's backward for one output row: g[j] written to the input its argmax code names and 0 to the
/// other three, in rows d0 and d1 (from interior column 0).
void restyle_pool_backward_row(const float *g, const uint8_t *argmax, int ow, float *d0, float *d1);

/// p = p > 0 ? p : +0 (NaN too), n floats: what Ops.reluForward computes. Any CPU.
void restyle_relu(float *p, long n);
/// g = a > 0 ? g : +0, n floats: ReLU's backward from its output a (Ops.reluBackward). Any CPU.
void restyle_relu_backward(float *g, const float *a, long n);

/// bits[b] = (a[8b + l] > 0) as bit l, for `bytes` whole bytes: Ops.reluMask's. Only when available().
void restyle_relu_mask(const float *a, long bytes, uint8_t *bits);
/// g[8b + l] = +0 where bit l of bits[b] is clear, for `bytes` whole bytes: Ops.reluBackward(bits:)'s.
/// Only when available().
void restyle_relu_mask_backward(float *g, const uint8_t *bits, long bytes);

/// Asks the cache for `rows` rows of `floats` floats from p, `rs` floats apart (`write`: to be written).
/// A transform calls it for the channel after next: each channel's few rows of a tile row are too short a
/// run for the hardware prefetcher to find before they are read. Any CPU.
void restyle_prefetch_rows(const float *p, long rs, int rows, long floats, bool write);

#endif
