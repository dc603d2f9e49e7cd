import CKernels
import Foundation

/// What the backward pass keeps of a stage whose activation is not kept: a ReLU's mask as one bit per
/// element and a max pool's choice as one byte per output. The input gradient needs nothing more (a
/// convolution's backward reads only its weights), so these replace whole activations at 1/32 and 1/16
/// of their size.
extension Ops {
    /// Bytes of a one-bit-per-element mask over `count` elements.
    public static func maskBytes(_ count: Int) -> Int { (count + 7) / 8 }

    /// bit i = (a[i] > 0), eight elements per byte, lowest bit first.
    public static func reluMask(_ a: UnsafePointer<Float>, count: Int, bits: UnsafeMutablePointer<UInt8>,
                                kernels: Kernels = .current) {
        let bytes = maskBytes(count), lanes = laneBits
        parallelFor(8, work: count) { part in
            var lo = bytes * part / 8
            let hi = bytes * (part + 1) / 8, whole = min(hi, count / 8)
            if kernels == .avx2 && whole > lo { restyle_relu_mask(a + 8 * lo, whole - lo, bits + lo); lo = whole }
            for b in lo..<hi {
                let base = 8 * b
                if base + 8 <= count {
                    // The lanes' bit values where a > 0 (NaN and ±0 give none), summed into the byte.
                    let x = UnsafeRawPointer(a + base).loadUnaligned(as: SIMD8<Float>.self)
                    bits[b] = UInt8(truncatingIfNeeded: SIMD8<Int32>().replacing(with: lanes, where: x .> 0).wrappedSum())
                    continue
                }
                var v: UInt8 = 0
                for k in 0..<(count - base) where a[base + k] > 0 { v |= 1 << UInt8(k) }
                bits[b] = v
            }
        }
    }

    /// 1 << lane: a mask byte's bits as lanes.
    static let laneBits = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)

    /// g *= mask: the same result as `reluBackward(_:output:count:)` on the output the mask was taken from.
    public static func reluBackward(_ g: UnsafeMutablePointer<Float>, bits: UnsafePointer<UInt8>, count: Int,
                                    kernels: Kernels = .current) {
        let bytes = maskBytes(count), lanes = laneBits
        parallelFor(8, work: count) { part in
            var lo = bytes * part / 8
            let hi = bytes * (part + 1) / 8, whole = min(hi, count / 8)
            if kernels == .avx2 && whole > lo { restyle_relu_mask_backward(g + 8 * lo, bits + lo, whole - lo); lo = whole }
            for b in lo..<hi {
                let v = bits[b], base = 8 * b
                if v == 0xFF { continue }
                if base + 8 <= count {
                    // Lanes whose bit is set keep their bits (m − 1 ≥ 0 shifts to 0, so ~0 … all ones); the
                    // others become +0. Integer operations only: the SIMD comparison and select were not
                    // specialised here and made this slower than the scalar loop.
                    let m = SIMD8<Int32>(repeating: Int32(v)) & lanes
                    let keep = ~((m &- 1) &>> 31)
                    let p = UnsafeMutableRawPointer(g + base)
                    let x = unsafeBitCast(p.loadUnaligned(as: SIMD8<Float>.self), to: SIMD8<Int32>.self)
                    p.storeBytes(of: unsafeBitCast(x & keep, to: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    continue
                }
                for k in 0..<(count - base) where v & (1 << UInt8(k)) == 0 { g[base + k] = 0 }
            }
        }
    }

    /// Bytes of a max pool's record: one per interior output element.
    public static func argmaxBytes(_ s: PaddedShape) -> Int { let o = pooledShape(s); return o.c * o.h * o.w }

    /// Max pooling's backward from the choices `poolForward(…, argmax:)` recorded: the same result as
    /// `poolBackward` on the input they were recorded from. Each 2×2 window is written whole (the gradient
    /// where its choice was, zeros elsewhere) and only what no window covers is zeroed, rather than all of dx
    /// zeroed and then added to: dx is the largest tensor of its stage (67 MB before pool1 at 512²).
    public static func poolBackward(dy: UnsafePointer<Float>, argmax: UnsafePointer<UInt8>, _ s: PaddedShape,
                                    dx: UnsafeMutablePointer<Float>, kernels: Kernels = .current) {
        let o = pooledShape(s)
        parallelFor(s.c, work: s.count) { c in
            let gp = dy + c * o.plane, dp = dx + c * s.plane, ap = argmax + c * o.h * o.w
            zeroOutside(dp, s, rows: 2 * o.h, columns: 2 * o.w)  // what no window covers
            if kernels == .avx2 {
                for i in 0..<o.h {
                    restyle_pool_backward_row(gp + o.at(i, 0), ap + i * o.w, Int32(o.w), dp + s.at(2 * i, 0), dp + s.at(2 * i + 1, 0))
                }
                return
            }
            for i in 0..<o.h {
                for j in 0..<o.w {
                    let i0 = s.at(2 * i, 2 * j), code = ap[i * o.w + j], v = gp[o.at(i, j)] + 0  // −0 → +0, as an add to 0 gave
                    dp[i0] = code == 0 ? v : 0
                    dp[i0 + 1] = code == 1 ? v : 0
                    dp[i0 + s.rowStride] = code == 2 ? v : 0
                    dp[i0 + s.rowStride + 1] = code >= 3 ? v : 0
                }
            }
        }
    }
}
