import Foundation

/// How L-BFGS stores its curvature pairs. `half` is bfloat16 (float32's sign, 8-bit exponent and top 7
/// mantissa bits): the pairs are differences of gradients of ~1e-5 per pixel and smaller, below float16's
/// normal range (6e-5) and near its smallest subnormal (6e-8), while bfloat16 keeps float32's exponent
/// range, so nothing underflows and no scaling is needed; it halves the history's memory.
/// `byte` is `BlockInt8`: 8 bits a value with a scale per 64, about half of `half`'s memory again.
public enum LBFGSPrecision: String, Codable, CaseIterable, Sendable { case float, half, byte }

/// bfloat16 packing: round to nearest even; NaN stays NaN, ±inf stays ±inf, and a finite value beyond the
/// largest bfloat16 saturates to it rather than becoming infinite.
public enum BFloat16 {
    @inline(__always) public static func pack(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }
        var h = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
        if h & 0x7F80 == 0x7F80 && f.isFinite { h = (h & 0x8000) | 0x7F7F }
        return h
    }

    @inline(__always) public static func unpack(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    @inline(__always) public static func isFinite(_ h: UInt16) -> Bool { h & 0x7F80 != 0x7F80 }

    /// Σ a[i]·b[i] in double, as `cblas_dsdot`, with `a` in bfloat16.
    static func dot(_ a: UnsafePointer<UInt16>, _ b: UnsafePointer<Float>, count n: Int) -> Double {
        let parts = 8
        return parallelSum(parts: parts, work: n) { part in
            let lo = n * part / parts / 8 * 8, hi = part == parts - 1 ? n : n * (part + 1) / parts / 8 * 8
            var acc = SIMD8<Double>()
            var i = lo
            while i + 8 <= hi {
                let h = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<UInt16>.self)
                let x = unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD8<Float>.self)
                let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
                acc += SIMD8<Double>(x) * SIMD8<Double>(y)
                i += 8
            }
            var s = acc.sum()
            while i < hi { s += Double(unpack(a[i])) * Double(b[i]); i += 1 }
            return s
        }
    }

    /// y[i] += alpha·x[i], as `cblas_saxpy`, with `x` in bfloat16.
    static func axpy(_ alpha: Float, _ x: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        parallelFor(8, work: n) { part in
            let lo = n * part / 8 / 8 * 8, hi = part == 7 ? n : n * (part + 1) / 8 / 8 * 8
            var i = lo
            while i + 8 <= hi {
                let h = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<UInt16>.self)
                let v = unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16, to: SIMD8<Float>.self)
                let p = UnsafeMutableRawPointer(y + i)
                p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) + alpha * v, as: SIMD8<Float>.self)
                i += 8
            }
            while i < hi { y[i] += alpha * unpack(x[i]); i += 1 }
        }
    }
}
