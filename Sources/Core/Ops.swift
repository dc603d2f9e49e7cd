import CKernels
import CBLAS
import Foundation

/// Activations live in a zero-bordered ("padded") layout: C planes of (H+2)×(W+2). A 3×3 convolution with
/// zero padding then becomes nine GEMMs over shifted views of the same memory (no im2col copy), and its
/// output, computed over H rows of W+2 columns, lands in the next padded buffer at offset W+3: the two
/// extra columns fall exactly on that buffer's left/right border, which is re-zeroed afterwards.
public struct PaddedShape: Equatable {
    public var c: Int, h: Int, w: Int
    public init(c: Int, h: Int, w: Int) { self.c = c; self.h = h; self.w = w }
    public var rowStride: Int { w + 2 }
    public var plane: Int { (h + 2) * (w + 2) }
    public var count: Int { c * plane }
    /// Offset of interior pixel (y, x) inside a plane.
    @inline(__always) public func at(_ y: Int, _ x: Int) -> Int { (y + 1) * (w + 2) + x + 1 }
}

public enum Ops {
    /// Zeroes the one-pixel border of every plane.
    public static func zeroBorders(_ p: UnsafeMutablePointer<Float>, _ s: PaddedShape) {
        parallelFor(s.c, work: s.count) { c in zeroOutside(p + c * s.plane, s, rows: s.h, columns: s.w) }
    }

    /// Zeroes everything of one padded plane outside its interior's first `rows` × `columns`: the border,
    /// and (when they are smaller than the interior) the rows below and the columns to the right.
    static func zeroOutside(_ q: UnsafeMutablePointer<Float>, _ s: PaddedShape, rows: Int, columns: Int) {
        let rs = s.rowStride
        memset(q, 0, rs * 4)
        memset(q + (rows + 1) * rs, 0, (s.h + 1 - rows) * rs * 4)
        for y in stride(from: 1, through: rows, by: 1) {
            q[y * rs] = 0
            for x in (columns + 1)..<rs { q[y * rs + x] = 0 }
        }
    }

    /// Zeroes a padded tensor, its channels side by side: a backward pass zeroes its whole input
    /// gradient (67 MB for conv1_2 at 512²) before adding into it, and one thread alone took about 1% of
    /// an iteration doing so while the other waited.
    public static func zero(_ p: UnsafeMutablePointer<Float>, _ s: PaddedShape) {
        parallelFor(s.c, work: s.count) { c in memset(p + c * s.plane, 0, s.plane * 4) }
    }

    /// y = conv3x3(x) + bias, both padded; `taps` is [9][cout][cin]. Given a scratch, a layer with few input
    /// channels takes the blocked im2col path (ConvSmallChannels.swift); else, or without one, nine shifted
    /// GEMMs (the reference the tests hold that path to).
    public static func convForward(x: UnsafePointer<Float>, _ s: PaddedShape, taps: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>, cout: Int, y: UnsafeMutablePointer<Float>,
                                   scratch: WinogradScratch? = nil) {
        if let scratch, usesSmallChannels(s),
           smallChannelsForward(x: x, s, taps: taps, bias: bias, cout: cout, y: y, scratch: scratch) { return }
        let rs = s.rowStride, n = s.h * rs, plane = s.plane
        for k in 0..<9 {
            let off = (k / 3) * rs + (k % 3)
            GEMM.run(m: cout, n: n, k: s.c, a: taps + k * cout * s.c, lda: s.c, b: x + off, ldb: plane,
                     beta: k == 0 ? 0 : 1, c: y + rs + 1, ldc: plane)
        }
        let os = PaddedShape(c: cout, h: s.h, w: s.w)
        parallelFor(cout, work: os.count) { c in
            let b = bias[c]
            let q = y + c * plane
            for i in 0..<plane { q[i] += b }
        }
        zeroBorders(y, os)
    }

    /// dx = convᵀ(dy): the gradient with respect to the convolution's input. `dy` must have zero borders.
    /// The scratch picks the path as in `convForward`.
    public static func convBackward(dy: UnsafePointer<Float>, _ s: PaddedShape, taps: UnsafePointer<Float>,
                                    cout: Int, dx: UnsafeMutablePointer<Float>, scratch: WinogradScratch? = nil) {
        if let scratch, usesSmallChannels(s),
           smallChannelsBackward(dy: dy, s, taps: taps, cout: cout, dx: dx, scratch: scratch) { return }
        let rs = s.rowStride, n = s.h * rs, plane = s.plane
        zero(dx, s)
        for k in 0..<9 {
            let off = (k / 3) * rs + (k % 3)
            GEMM.run(transA: true, m: s.c, n: n, k: cout, a: taps + k * cout * s.c, lda: s.c, b: dy + rs + 1,
                     ldb: plane, beta: 1, c: dx + off, ldc: plane)
        }
        zeroBorders(dx, s)
    }

    public static func reluForward(_ p: UnsafeMutablePointer<Float>, count: Int) {
        parallelFor(8, work: count) { part in
            let lo = count * part / 8, hi = count * (part + 1) / 8
            restyle_relu(p + lo, hi - lo)
        }
    }

    /// g *= (a > 0): ReLU's derivative is taken as 0 at 0.
    public static func reluBackward(_ g: UnsafeMutablePointer<Float>, output a: UnsafePointer<Float>, count: Int) {
        parallelFor(8, work: count) { part in
            let lo = count * part / 8, hi = count * (part + 1) / 8
            restyle_relu_backward(g + lo, a + lo, hi - lo)
        }
    }

    public static func pooledShape(_ s: PaddedShape) -> PaddedShape { PaddedShape(c: s.c, h: s.h / 2, w: s.w / 2) }

    /// 2×2 stride-2 pooling, output floor(H/2)×floor(W/2). With `argmax` (max pooling only), also records
    /// which of the four inputs `poolBackward` would pick (0…3, row-major), `argmaxBytes(s)` bytes.
    public static func poolForward(x: UnsafePointer<Float>, _ s: PaddedShape, y: UnsafeMutablePointer<Float>, max useMax: Bool,
                                   argmax: UnsafeMutablePointer<UInt8>? = nil, kernels: Kernels = .current) {
        let o = pooledShape(s)
        parallelFor(s.c, work: s.count) { c in
            let xp = x + c * s.plane, yp = y + c * o.plane, ap = argmax.map { $0 + c * o.h * o.w }
            if kernels == .avx2 {
                for i in 0..<o.h {
                    restyle_pool_row(xp + s.at(2 * i, 0), xp + s.at(2 * i + 1, 0), Int32(o.w), useMax, yp + o.at(i, 0),
                                     ap.map { $0 + i * o.w })
                }
                return
            }
            for i in 0..<o.h {
                for j in 0..<o.w {
                    let a = xp[s.at(2 * i, 2 * j)], b = xp[s.at(2 * i, 2 * j + 1)]
                    let d = xp[s.at(2 * i + 1, 2 * j)], e = xp[s.at(2 * i + 1, 2 * j + 1)]
                    yp[o.at(i, j)] = useMax ? Swift.max(Swift.max(a, b), Swift.max(d, e)) : (a + b + d + e) * 0.25
                    if let ap {
                        // The comparisons of `poolBackward`, so the record picks what it would.
                        var best: UInt8 = 0, v = a
                        if b > v { best = 1; v = b }
                        if d > v { best = 2; v = d }
                        if e > v { best = 3 }
                        ap[i * o.w + j] = best
                    }
                }
            }
        }
        zeroBorders(y, o)
    }

    /// Max: the whole gradient goes to the first maximum in row-major order; avg: a quarter to each.
    public static func poolBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, _ s: PaddedShape,
                                    dx: UnsafeMutablePointer<Float>, max useMax: Bool) {
        let o = pooledShape(s)
        zero(dx, s)
        parallelFor(s.c, work: s.count) { c in
            let xp = x + c * s.plane, gp = dy + c * o.plane, dp = dx + c * s.plane
            for i in 0..<o.h {
                for j in 0..<o.w {
                    let g = gp[o.at(i, j)]
                    let i0 = s.at(2 * i, 2 * j), i1 = i0 + 1, i2 = i0 + s.rowStride, i3 = i2 + 1
                    if useMax {
                        var best = i0
                        if xp[i1] > xp[best] { best = i1 }
                        if xp[i2] > xp[best] { best = i2 }
                        if xp[i3] > xp[best] { best = i3 }
                        dp[best] += g
                    } else {
                        let q = g * 0.25
                        dp[i0] += q; dp[i1] += q; dp[i2] += q; dp[i3] += q
                    }
                }
            }
        }
    }
}
