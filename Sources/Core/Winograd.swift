import CBLAS
import Foundation

/// Winograd F(2×2, 3×3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
/// 2015). Each 2×2 output tile costs 16 multiplies per (cin, cout) instead of 36, so the GEMM work drops by
/// 2.25×; what it adds is the input/output transforms, linear in the channel count, which is why it only
/// pays once there are enough channels (see `Ops.winogradPays`).
///
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]      U = G g Gᵀ     (4×4 per cout, cin; done once at load)
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]            V = Bᵀ d B     (d: 4×4 input tile, stride 2)
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]                               Y = Aᵀ M A,  M[ξ] = U[ξ] · V[ξ]  (16 GEMMs)
///
/// The backward (input gradient) is a correlation of dY with the 180°-rotated kernel and the channels
/// swapped. Because G·flip(g) = P·G·g with P swapping entries 0 and 3, the rotated kernel's transform is
/// U with indices 0↔3 swapped in both dimensions: the backward reuses U through `permuted` and a
/// transposed GEMM, so no second copy of the weights exists.
public enum Winograd {
    /// ξ = 4a + b → 4p(a) + p(b), p = (3 1 2 0): the transform of the rotated kernel.
    static let permuted: [Int] = (0..<16).map { xi in
        let p = [3, 1, 2, 0]
        return 4 * p[xi / 4] + p[xi % 4]
    }

    /// U = G g Gᵀ from taps [9][cout][cin] into [16][cout][cin].
    public static func transformWeights(taps: [Float], cout: Int, cin: Int) -> [Float] {
        var u = [Float](repeating: 0, count: 16 * cout * cin)
        let mn = cout * cin
        taps.withUnsafeBufferPointer { tp in
            u.withUnsafeMutableBufferPointer { up in
                let t = tp.baseAddress!, out = up.baseAddress!
                parallelFor(cout, work: 16 * mn) { o in
                    for c in 0..<cin {
                        let e = o * cin + c
                        // Rows of g as vectors: G g is then four vector combinations, and (G g) Gᵀ applies
                        // the same combinations to the components of each row.
                        let g0 = SIMD4<Float>(t[e], t[mn + e], t[2 * mn + e], 0)
                        let g1 = SIMD4<Float>(t[3 * mn + e], t[4 * mn + e], t[5 * mn + e], 0)
                        let g2 = SIMD4<Float>(t[6 * mn + e], t[7 * mn + e], t[8 * mn + e], 0)
                        func emit(_ i: Int, _ r: SIMD4<Float>) {
                            out[(4 * i + 0) * mn + e] = r[0]
                            out[(4 * i + 1) * mn + e] = 0.5 * (r[0] + r[1] + r[2])
                            out[(4 * i + 2) * mn + e] = 0.5 * (r[0] - r[1] + r[2])
                            out[(4 * i + 3) * mn + e] = r[2]
                        }
                        emit(0, g0); emit(1, 0.5 * (g0 + g1 + g2)); emit(2, 0.5 * (g0 - g1 + g2)); emit(3, g2)
                    }
                }
            }
        }
        return u
    }
}

/// Transformed-tile scratch for one network, planned once. Its size, not the image, bounds how many tiles
/// go through the GEMMs at a time, so memory stays flat at any image size.
public final class WinogradScratch {
    let buffer: FloatBuffer
    /// 32 MB: at 512+512 channels that is 512 tiles per GEMM (N), already enough for OpenBLAS to run near
    /// its peak; small-channel layers get proportionally more tiles.
    public static let defaultFloats = 8 << 20
    /// How a layer's steps share the threads; read once per plan.
    public let schedule: WinogradSchedule
    /// The 36 (or 16) GEMMs of a pass run side by side, each single-threaded (`Ops.gemms`).
    var sideBySide: Bool { schedule != .pool }
    public init(floats: Int = WinogradScratch.defaultFloats, schedule: WinogradSchedule = .fromEnvironment) throws {
        buffer = try FloatBuffer(count: floats, slack: 0)
        self.schedule = schedule
    }
}

/// How a Winograd layer's three steps (input transform, GEMMs, output transform) use the threads.
public enum WinogradSchedule: Sendable, Equatable {
    /// Each step over all threads; the GEMMs one after another, each split over all threads (`GEMM`).
    case pool
    /// Each step over all threads; the GEMMs side by side, each on one thread.
    case sideBySide
    /// F(4×4): blocks of tiles that one thread carries through all three steps (`TileBlocks`) wherever a
    /// layer has enough tiles for that, else as `sideBySide`. The parameters exist for tests, which force
    /// small blocks on small shapes.
    case blocks(minTiles: Int, targetFloats: Int)

    public static let defaultBlocks = WinogradSchedule.blocks(minTiles: TileBlocks.minTiles, targetFloats: TileBlocks.targetFloats)

    /// `RESTYLE_WINOGRAD_GEMMS=pool|side` picks the older schedules for A/B runs in `restyle bench`.
    public static var fromEnvironment: WinogradSchedule {
        switch ProcessInfo.processInfo.environment["RESTYLE_WINOGRAD_GEMMS"] {
        case "pool": return .pool
        case "side": return .sideBySide
        default: return defaultBlocks
        }
    }
}

extension Ops {
    /// Where Winograd beats the shifted GEMM on this machine class (2 cores, OpenBLAS). It saves GEMM work
    /// ∝ cin·cout per tile and adds transforms ∝ cin + cout, so it pays once cin·cout/(cin + cout) is large
    /// enough: measured with `restyle bench --layers`, 64→64 (32) wins once its tiles run in per-thread
    /// blocks, which keep V and M in cache. conv1_1 (cin 3) stays direct. Planes under 4×4 are mostly
    /// padding tiles, so they stay direct too.
    public static func winogradPays(_ s: PaddedShape, cout: Int) -> Bool {
        winogradPays(cin: s.c, cout: cout) && s.h >= 4 && s.w >= 4
    }

    /// The channel half of `winogradPays`, which also decides which weight transforms are made.
    static func winogradPays(cin: Int, cout: Int) -> Bool { cin * cout >= 32 * (cin + cout) }

    /// The same result as `convForward` (padded in, padded out, zero border) by Winograd F(2×2, 3×3);
    /// `u` is `VGGWeights.Conv.winograd` ([16][cout][cin]).
    public static func winogradForward(x: UnsafePointer<Float>, _ s: PaddedShape, u: UnsafePointer<Float>,
                                       bias: UnsafePointer<Float>, cout: Int, y: UnsafeMutablePointer<Float>,
                                       scratch: WinogradScratch) {
        winograd(input: x, s, outC: cout, u: u, transposed: false, bias: bias, output: y, scratch: scratch)
    }

    /// The same result as `convBackward`: dx from dy (which must have zero borders), through the same U.
    public static func winogradBackward(dy: UnsafePointer<Float>, _ s: PaddedShape, u: UnsafePointer<Float>,
                                        cout: Int, dx: UnsafeMutablePointer<Float>, scratch: WinogradScratch) {
        let ds = PaddedShape(c: cout, h: s.h, w: s.w)
        winograd(input: dy, ds, outC: s.c, u: u, transposed: true, bias: nil, output: dx, scratch: scratch)
    }

    /// One correlation `input` (s.c channels) → `output` (outC channels), chunk by chunk of tiles.
    /// U is [16][outC][inC]; with `transposed` (backward) it is [16][inC][outC], read rotated via `permuted`.
    static func winograd(input: UnsafePointer<Float>, _ s: PaddedShape, outC: Int, u: UnsafePointer<Float>,
                         transposed: Bool, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                         scratch: WinogradScratch) {
        let inC = s.c
        let tilesX = (s.w + 1) / 2, tilesY = (s.h + 1) / 2, tiles = tilesX * tilesY
        let (chunk, ldn) = winogradChunk(xis: 16, rowPad: 0, inC: inC, outC: outC, tiles: tiles, scratchFloats: scratch.buffer.count)
        let vStride = inC * ldn + 32, mStride = outC * ldn + 32
        let v = scratch.buffer.ptr, m = scratch.buffer.ptr + 16 * vStride
        let mn = inC * outC
        var t0 = 0
        while t0 < tiles {
            let n = min(chunk, tiles - t0)
            inputTransform(input, s, tilesX: tilesX, first: t0, count: n, ld: ldn, xiStride: vStride, v: v)
            for xi in 0..<16 {
                let a = u + (transposed ? Winograd.permuted[xi] : xi) * mn
                GEMM.run(transA: transposed, m: outC, n: n, k: inC, a: a, lda: transposed ? outC : inC,
                         b: v + xi * vStride, ldb: ldn, beta: 0, c: m + xi * mStride, ldc: ldn)
            }
            outputTransform(m, PaddedShape(c: outC, h: s.h, w: s.w), tilesX: tilesX, first: t0, count: n,
                            ld: ldn, xiStride: mStride, bias: bias, y: output)
            t0 += n
        }
        // The output buffer may be a ping-pong gradient buffer last used at another shape, so its border
        // holds anything: the transforms only ever write the interior.
        zeroBorders(output, PaddedShape(c: outC, h: s.h, w: s.w))
    }

    /// V[ξ][c][i] = (Bᵀ d B)[ξ] for tiles first..<first+count. Rows or columns past the padded plane (odd
    /// H or W: the last tile sticks out by one) read as zero, which is the padding they stand for.
    static func inputTransform(_ x: UnsafePointer<Float>, _ s: PaddedShape, tilesX: Int, first: Int, count n: Int,
                               ld: Int, xiStride stride: Int, v: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane
        let fullX = s.w / 2          // tiles whose four columns all lie inside the padded row
        parallelFor(s.c, work: s.c * n * 16) { c in
            let p = x + c * plane
            let out = v + c * ld
            var i = 0
            while i < n {
                let t = first + i, ty = t / tilesX, tx0 = t % tilesX
                let tx1 = min(tilesX, tx0 + (n - i))
                let r0 = 2 * ty, rowsValid = min(4, s.h + 2 - r0)
                var tx = tx0
                // Eight tiles at a time, one SIMD lane per tile: every store is then a vector into one ξ
                // stream instead of a scalar into sixteen, which is what bound this loop. Column j of
                // tiles tx…tx+7 is the even or odd half of a 16-wide load at 2·tx or 2·tx + 2.
                if rowsValid == 4 {
                    while tx + 8 <= min(tx1, fullX) {
                        let base = p + r0 * rs + 2 * tx
                        let o = out + (i + tx - tx0)
                        func columns(_ r: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                            let lo = load16(base + r * rs), hi = load16(base + r * rs + 2)
                            let c0 = lo.evenHalf, c1 = lo.oddHalf, c2 = hi.evenHalf, c3 = hi.oddHalf
                            return (c0 - c2, c1 + c2, c2 - c1, c1 - c3)     // d B, row r
                        }
                        let d0 = columns(0), d1 = columns(1), d2 = columns(2), d3 = columns(3)
                        func put(_ xi: Int, _ val: SIMD8<Float>) {
                            UnsafeMutableRawPointer(o + xi * stride).storeBytes(of: val, as: SIMD8<Float>.self)
                        }
                        // Bᵀ (d B): rows 0 − 2, 1 + 2, 2 − 1, 1 − 3.
                        put(0, d0.0 - d2.0); put(1, d0.1 - d2.1); put(2, d0.2 - d2.2); put(3, d0.3 - d2.3)
                        put(4, d1.0 + d2.0); put(5, d1.1 + d2.1); put(6, d1.2 + d2.2); put(7, d1.3 + d2.3)
                        put(8, d2.0 - d1.0); put(9, d2.1 - d1.1); put(10, d2.2 - d1.2); put(11, d2.3 - d1.3)
                        put(12, d1.0 - d3.0); put(13, d1.1 - d3.1); put(14, d1.2 - d3.2); put(15, d1.3 - d3.3)
                        tx += 8
                    }
                }
                for tx in tx..<tx1 {
                    let base = p + r0 * rs + 2 * tx
                    var d = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                    if rowsValid == 4 && tx < fullX {
                        d.0 = load4(base); d.1 = load4(base + rs); d.2 = load4(base + 2 * rs); d.3 = load4(base + 3 * rs)
                    } else {
                        let cols = min(4, s.w + 2 - 2 * tx)
                        func row(_ r: Int) -> SIMD4<Float> {
                            var q = SIMD4<Float>()
                            guard r < rowsValid else { return q }
                            for j in 0..<cols { q[j] = base[r * rs + j] }
                            return q
                        }
                        d = (row(0), row(1), row(2), row(3))
                    }
                    // Bᵀ d (rows), then · B (columns of each row).
                    let b0 = d.0 - d.2, b1 = d.1 + d.2, b2 = d.2 - d.1, b3 = d.1 - d.3
                    let o = out + (i + tx - tx0)
                    store4(b0, o, 0, stride); store4(b1, o, 4, stride); store4(b2, o, 8, stride); store4(b3, o, 12, stride)
                }
                i += tx1 - tx0
            }
        }
    }

    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    /// Row r of Bᵀ d, times B, into V[ξ0…ξ0+3].
    @inline(__always) static func store4(_ r: SIMD4<Float>, _ o: UnsafeMutablePointer<Float>, _ xi0: Int, _ stride: Int) {
        o[xi0 * stride] = r.x - r.z
        o[(xi0 + 1) * stride] = r.y + r.z
        o[(xi0 + 2) * stride] = r.z - r.y
        o[(xi0 + 3) * stride] = r.y - r.w
    }

    /// y (padded interior) = Aᵀ M A (+ bias) for tiles first..<first+count; outputs past H or W (odd sizes)
    /// are dropped.
    static func outputTransform(_ m: UnsafePointer<Float>, _ s: PaddedShape, tilesX: Int, first: Int, count n: Int,
                                ld: Int, xiStride stride: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane
        let fullX = s.w / 2
        parallelFor(s.c, work: s.c * n * 16) { c in
            let b = bias?[c] ?? 0
            let q = y + c * plane
            let src = m + c * ld
            var i = 0
            while i < n {
                let t = first + i, ty = t / tilesX, tx0 = t % tilesX
                let tx1 = min(tilesX, tx0 + (n - i))
                let rowsValid = min(2, s.h - 2 * ty)
                for tx in tx0..<tx1 {
                    let e = src + (i + tx - tx0)
                    func row(_ r: Int) -> SIMD4<Float> {
                        SIMD4(e[(4 * r) * stride], e[(4 * r + 1) * stride], e[(4 * r + 2) * stride], e[(4 * r + 3) * stride])
                    }
                    let m0 = row(0), m1 = row(1), m2 = row(2), m3 = row(3)
                    // Aᵀ M (two rows), then · A.
                    let a0 = m0 + m1 + m2, a1 = m1 - m2 - m3
                    let dst = q + (2 * ty + 1) * rs + 2 * tx + 1
                    let y00 = a0.x + a0.y + a0.z + b, y01 = a0.y - a0.z - a0.w + b
                    let y10 = a1.x + a1.y + a1.z + b, y11 = a1.y - a1.z - a1.w + b
                    if tx < fullX {
                        dst[0] = y00; dst[1] = y01
                        if rowsValid == 2 { dst[rs] = y10; dst[rs + 1] = y11 }
                    } else {
                        dst[0] = y00
                        if rowsValid == 2 { dst[rs] = y10 }
                    }
                }
                i += tx1 - tx0
            }
        }
    }
}

/// The length of a V or M row holding n tiles (+ pad floats a store may spill): an odd multiple of 16
/// floats, so the 36 (or 16) rows of one channel do not fall on the same cache sets.
func winogradRow(_ n: Int, pad: Int) -> Int {
    let r = (n + pad + 15) / 16
    return 16 * (r % 2 == 0 ? r + 1 : r)
}

/// How many tiles one pass over the scratch transforms at once, and the row length `ld` of its ξ blocks.
/// Strides that are powers of two put the 16 or 36 streams a transform reads or writes in the same cache
/// sets (with the 32 MB scratch they were exactly 1 MB apart), so a row is an odd multiple of 16 floats
/// and each ξ block is skewed by another 32. `rowPad` floats more per row let vector groups of tiles be
/// stored whole past the last real tile. A scratch too small for one tile stops the program: carrying
/// on would overrun it.
func winogradChunk(xis: Int, rowPad: Int, inC: Int, outC: Int, tiles: Int, scratchFloats: Int) -> (chunk: Int, ld: Int) {
    func ld(_ n: Int) -> Int { winogradRow(n, pad: rowPad) }
    func footprint(_ n: Int) -> Int { xis * (inC + outC) * ld(n) + 2 * xis * 32 }
    var chunk = min(tiles, scratchFloats / (xis * (inC + outC)))
    while chunk > 1 && footprint(chunk) > scratchFloats { chunk -= chunk > 64 ? 16 : 1 }
    guard chunk >= 1 && footprint(chunk) <= scratchFloats else {
        fatalError("Winograd scratch of \(scratchFloats) floats too small for \(inC)+\(outC) channels")
    }
    // As many passes as that takes, of equal size: conv4 at 512² ran 227 tiles and then 29, conv3 at 1024²
    // nine of 455 and then one, and each of the 36 GEMMs of such a short pass reads all of its U for a
    // handful of columns.
    let passes = (tiles + chunk - 1) / max(chunk, 1)
    chunk = (tiles + passes - 1) / max(passes, 1)
    return (chunk, ld(chunk))
}
