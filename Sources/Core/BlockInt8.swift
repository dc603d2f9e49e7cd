import Foundation

/// L-BFGS curvature pairs in 8 bits: blocks of 64 values, each stored as signed bytes (−127…127) times one
/// float scale per block (the block's largest magnitude / 127). A pair vector of n values takes
/// ⌈n/64⌉ scales followed by n bytes (padded with zeros to whole floats) — 1.06 bytes a value, against 2
/// for bfloat16 — which is what lets a 1024² run keep its full history within 2 GB.
///
/// Why this is accurate enough: a value's error is at most half a step of its block's scale, about 0.4%
/// of the block's largest value. The pairs are image-shaped and smooth within 64 neighbouring values of a
/// row, and the recursion only ever uses them through dot products over millions of values and through
/// axpy into a direction, where independent rounding errors average out; ρ and the scale are computed
/// from the stored values, as for bfloat16, so the recursion is consistent with the pairs it holds. The
/// L-BFGS figure that decides the default is in the README ("Speed and memory").
public enum BlockInt8 {
    public static let block = 64

    static func blocks(_ n: Int) -> Int { (n + block - 1) / block }

    /// Floats of the buffer that holds n values.
    public static func floats(count n: Int) -> Int { blocks(n) + (n + 3) / 4 }

    @inline(__always) static func codes(_ b: UnsafePointer<Float>, _ n: Int) -> UnsafePointer<Int8> {
        UnsafeRawPointer(b + blocks(n)).assumingMemoryBound(to: Int8.self)
    }

    /// Work over whole blocks split in eight parts (as `BFloat16`'s kernels), so each part runs on its own.
    @inline(__always) static func blockParts(_ n: Int, _ body: (Range<Int>) -> Void) {
        let nb = blocks(n), parts = 8
        parallelFor(parts, work: n) { part in body(nb * part / parts ..< nb * (part + 1) / parts) }
    }

    /// Stores v[0..<n] into `b`. A block holding a non-finite value gets a NaN scale, so every value read
    /// back from it is NaN: a non-finite pair must stay visible (and be dropped by yᵀs), not become zero.
    public static func pack(_ v: UnsafePointer<Float>, count n: Int, into b: UnsafeMutablePointer<Float>) {
        let q = UnsafeMutableRawPointer(b + blocks(n)).assumingMemoryBound(to: Int8.self)
        blockParts(n) { range in
            for k in range {
                let lo = k * block, hi = min(n, lo + block)
                var top: Float = 0, finite = true
                for i in lo..<hi {
                    let a = abs(v[i])
                    if !(a <= top) { if a > top { top = a } else { finite = false } }
                }
                finite = finite && top.isFinite
                // Rounded down where needed so that 127 steps never exceed the largest value (which
                // near the float range's top would read back as infinity).
                var scale = top / 127
                if scale * 127 > top { scale = scale.nextDown }
                b[k] = finite ? scale : .nan
                if !finite {
                    // Codes 0: times a NaN scale they read as NaN, and a non-finite value is never converted.
                    for i in lo..<hi { q[i] = 0 }
                    continue
                }
                let inverse: Float = top > 0 ? 127 / top : 0
                if !inverse.isFinite || scale == 0 {
                    // A block of subnormals (top below 127 / the largest float): 127 / top overflows, so
                    // divide by the scale instead, and where even the scale underflows store zeros.
                    for i in lo..<hi { q[i] = scale == 0 ? 0 : Int8(min(127, max(-127, (v[i] / scale).rounded(.toNearestOrEven)))) }
                    continue
                }
                var i = lo
                while i + 8 <= hi {
                    let x = (UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self) * inverse)
                        .clamped(lowerBound: .init(repeating: -127), upperBound: .init(repeating: 127))
                    // 1.5·2²³ + x has x rounded to nearest even in its low mantissa bits (the generic SIMD
                    // float-to-integer conversion is not specialised and took most of the time).
                    let bits = unsafeBitCast(x + magic, to: SIMD8<Int32>.self) &- magicBits
                    UnsafeMutableRawPointer(q + i).storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: bits), as: SIMD8<Int8>.self)
                    i += 8
                }
                while i < hi { q[i] = Int8(min(127, max(-127, (v[i] * inverse).rounded(.toNearestOrEven)))); i += 1 }
            }
        }
        // The pad after the last value, so a saved buffer is the same bytes every time.
        var i = n
        while i % 4 != 0 { q[i] = 0; i += 1 }
    }

    static let magic = SIMD8<Float>(repeating: 0x1.8p23)
    static let magicBits = SIMD8<Int32>(repeating: 0x4B40_0000)

    /// Eight codes as floats, by the same trick in reverse: the code's bits placed in the mantissa of 1.5·2²³.
    @inline(__always) static func load8(_ q: UnsafePointer<Int8>) -> SIMD8<Float> {
        let c = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(q).loadUnaligned(as: SIMD8<Int8>.self))
        return unsafeBitCast(c &+ magicBits, to: SIMD8<Float>.self) - magic
    }

    /// Value i as stored.
    @inline(__always) public static func value(_ b: UnsafePointer<Float>, _ i: Int, count n: Int) -> Float {
        b[i / block] * Float(codes(b, n)[i])
    }

    /// The n stored values as floats, into `out`.
    public static func unpack(_ b: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Float>) {
        let q = codes(b, n)
        blockParts(n) { range in
            for k in range {
                let lo = k * block, hi = min(n, lo + block), scale = b[k]
                var i = lo
                while i + 8 <= hi { UnsafeMutableRawPointer(out + i).storeBytes(of: load8(q + i) * scale, as: SIMD8<Float>.self); i += 8 }
                while i < hi { out[i] = Float(q[i]) * scale; i += 1 }
            }
        }
    }

    /// Σ a[i]·x[i] in double, as `cblas_dsdot`, with `a` stored in blocks: each block's sum is taken in
    /// float over its 64 products and scaled, the blocks summed in double.
    public static func dot(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) -> Double {
        let q = codes(a, n)
        let nb = blocks(n)
        return parallelSum(parts: 8, work: n) { part in
            var total = 0.0
            for k in nb * part / 8 ..< nb * (part + 1) / 8 {
                let lo = k * block, hi = min(n, lo + block)
                var acc = SIMD8<Float>()
                var i = lo
                while i + 8 <= hi { acc += load8(q + i) * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
                var s = acc.sum()
                while i < hi { s += Float(q[i]) * x[i]; i += 1 }
                total += Double(a[k]) * Double(s)
            }
            return total
        }
    }

    /// y[i] += alpha·a[i], as `cblas_saxpy`, with `a` stored in blocks.
    public static func axpy(_ alpha: Float, _ a: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        let q = codes(a, n)
        blockParts(n) { range in
            for k in range {
                let lo = k * block, hi = min(n, lo + block), f = alpha * a[k]
                var i = lo
                while i + 8 <= hi {
                    let p = UnsafeMutableRawPointer(y + i)
                    p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) + f * load8(q + i), as: SIMD8<Float>.self)
                    i += 8
                }
                while i < hi { y[i] += f * Float(q[i]); i += 1 }
            }
        }
    }

    /// Why a buffer read from a file is not one `pack` can have written, or nil: every scale finite and
    /// not negative, no code −128, the pad zero.
    public static func problem(_ b: UnsafePointer<Float>, count n: Int) -> String? {
        for k in 0..<blocks(n) where !(b[k].isFinite && b[k] >= 0) { return "a block scale that is negative or not finite" }
        let q = codes(b, n)
        for i in 0..<n where q[i] == -128 { return "a value code of −128" }
        var i = n
        while i % 4 != 0 { if q[i] != 0 { return "a non-zero pad" }; i += 1 }
        return nil
    }
}
