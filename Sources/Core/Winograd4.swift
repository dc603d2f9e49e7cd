import CKernels
import CBLAS
import Foundation

/// Winograd F(4×4, 3×3) (Lavin & Gray 2015): a 4×4 output tile from a 6×6 input tile with 36 multiplies
/// per (cin, cout) instead of 144, so the GEMM work drops by 4× (F(2×2) saves 2.25×). Interpolation points
/// 0, ±1, ±½ and ∞: with ±½ the output transform's entries are 1, ½, ¼, ⅛ (exact in float) and the input
/// transform's are small integers, which keeps the float32 error near F(2×2)'s (`restyle bench --conv-error`
/// prints it per layer). Derived by the Toom-Cook construction and checked symbolically; the rows of Bᵀ
/// were rescaled (and G's inversely) to make Bᵀ integral:
///
///     Bᵀ = [1 0 −5 0 4 0; 0 −1 −1 4 4 0; 0 1 −1 −4 4 0; 0 −1 −2 1 2 0; 0 1 −2 −1 2 0; 0 1 0 −5 0 4]
///     G  = [1 0 0; ⅙ ⅙ ⅙; ⅙ −⅙ ⅙; −4/3 −2/3 −1/3; −4/3 2/3 −1/3; 0 0 ¼]
///     Aᵀ = [1 1 1 1 1 0; 0 1 −1 ½ −½ 0; 0 1 1 ¼ ¼ 0; 0 1 −1 ⅛ −⅛ 1]
///
/// The point set is not closed under p → 1/p, so the rotated kernel's transform is not a permutation of U
/// (the trick F(2×2)'s backward uses). The input gradient is instead the exact transpose of the forward
/// map: dM = A dY Aᵀ per 4×4 gradient tile, dV = Uᵀ dM (the same U, a transposed GEMM), and B dV Bᵀ added
/// into the overlapping 6×6 input tiles. One copy of U serves both directions.
extension Winograd {
    static let g4: [[Double]] = [[1, 0, 0], [1.0 / 6, 1.0 / 6, 1.0 / 6], [1.0 / 6, -1.0 / 6, 1.0 / 6],
                                 [-4.0 / 3, -2.0 / 3, -1.0 / 3], [-4.0 / 3, 2.0 / 3, -1.0 / 3], [0, 0, 0.25]]

    /// U = G g Gᵀ from taps [9][cout][cin] into 36 matrices cout × cin laid out for `kernels`, in
    /// double precision.
    public static func transformWeights4(taps: [Float], cout: Int, cin: Int, kernels: Kernels = .current) -> [Float] {
        var u = [Float](repeating: 0, count: kernels.floats(cout: cout, cin: cin))
        taps.withUnsafeBufferPointer { t in
            u.withUnsafeMutableBufferPointer {
                transformWeights4(taps: t.baseAddress!, cout: cout, cin: cin, into: $0.baseAddress!, kernels: kernels)
            }
        }
        return u
    }

    /// G applied to three values (a column or a row of a 3×3 kernel): the rows of `g4`, written out.
    @inline(__always) static func g4Apply(_ x0: SIMD4<Double>, _ x1: SIMD4<Double>, _ x2: SIMD4<Double>)
        -> (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>) {
        // Multiplied by ⅙ and ⅓ (in double, then rounded to float) rather than divided, as the C kernel
        // (weights.c) does, so the two paths agree bit for bit; against dividing, a float result differs
        // by at most an ulp.
        let even = x0 + x2, a = 4 * x0 + x2, sixth = 1.0 / 6, third = 1.0 / 3
        return (x0, (even + x1) * sixth, (even - x1) * sixth, -(a + 2 * x1) * third, -(a - 2 * x1) * third, x2 * 0.25)
    }

    /// As above into `out`, four input channels at a time. Fast enough (no allocation in the loop) that a
    /// network plan can make a large layer's transform again on every use instead of keeping it
    /// (`VGGNetwork`'s transient transforms).
    public static func transformWeights4(taps: UnsafePointer<Float>, cout: Int, cin: Int, into out: UnsafeMutablePointer<Float>,
                                         kernels: Kernels = .current) {
        let mn = cout * cin, xiFloats = kernels.floatsPerXi(cout: cout, cin: cin), stride = kernels.channelStride
        if kernels == .avx2 {
            // Panel by panel of six output channels, its padding rows written as zeros (never read, but
            // the buffer is reused: kept defined).
            return parallelFor((cout + 5) / 6, work: 36 * mn) { panel in
                restyle_wino4_weights(taps, Int32(cout), Int32(cin), Int32(panel), out, xiFloats)
            }
        }
        parallelFor(cout, work: 36 * mn) { o in
            let start = kernels.rowStart(o: o, cin: cin)
            var c = 0
            while c < cin {
                let lanes = min(4, cin - c), e = o * cin + c
                func tap(_ k: Int) -> SIMD4<Double> {
                    if lanes == 4 { return SIMD4<Double>(UnsafeRawPointer(taps + k * mn + e).loadUnaligned(as: SIMD4<Float>.self)) }
                    var v = SIMD4<Double>()
                    for l in 0..<lanes { v[l] = Double(taps[k * mn + e + l]) }
                    return v
                }
                func store(_ v: SIMD4<Double>, _ xi: Int) {
                    if lanes == 4 && kernels == .portable {
                        UnsafeMutableRawPointer(out + xi * xiFloats + e).storeBytes(of: SIMD4<Float>(v), as: SIMD4<Float>.self)
                        return
                    }
                    let offset = xi * xiFloats + start + c * stride
                    let at = out + offset
                    for l in 0..<lanes { at[l * stride] = Float(v[l]) }
                }
                // G g, column by column: gg[a][j].
                let c0 = g4Apply(tap(0), tap(3), tap(6)), c1 = g4Apply(tap(1), tap(4), tap(7)), c2 = g4Apply(tap(2), tap(5), tap(8))
                func row(_ a: Int, _ x0: SIMD4<Double>, _ x1: SIMD4<Double>, _ x2: SIMD4<Double>) {
                    let r = g4Apply(x0, x1, x2)
                    store(r.0, 6 * a); store(r.1, 6 * a + 1); store(r.2, 6 * a + 2)
                    store(r.3, 6 * a + 3); store(r.4, 6 * a + 4); store(r.5, 6 * a + 5)
                }
                row(0, c0.0, c1.0, c2.0); row(1, c0.1, c1.1, c2.1); row(2, c0.2, c1.2, c2.2)
                row(3, c0.3, c1.3, c2.3); row(4, c0.4, c1.4, c2.4); row(5, c0.5, c1.5, c2.5)
                c += 4
            }
        }
    }

    // Generated from the matrices above (rows, then columns; zero terms dropped). Eight tiles at a time,
    // one SIMD lane per tile, so every value of one ξ is one vector store.
    /// V = Bᵀ d B: a 6×6 input tile (row-major) to its 36 transformed values, ξ = 6a + b.
    @inline(__always) static func inputTransform4(_ x: UnsafePointer<SIMD8<Float>>, _ y: UnsafeMutablePointer<SIMD8<Float>>) {
        let k2: Float = 2
        let k4: Float = 4
        let k5: Float = 5
        let t0_0 = x[0] - k5 * x[12] + k4 * x[24]
        let t1_0 = -x[6] - x[12] + k4 * x[18] + k4 * x[24]
        let t2_0 = x[6] - x[12] - k4 * x[18] + k4 * x[24]
        let t3_0 = -x[6] - k2 * x[12] + x[18] + k2 * x[24]
        let t4_0 = x[6] - k2 * x[12] - x[18] + k2 * x[24]
        let t5_0 = x[6] - k5 * x[18] + k4 * x[30]
        let t0_1 = x[1] - k5 * x[13] + k4 * x[25]
        let t1_1 = -x[7] - x[13] + k4 * x[19] + k4 * x[25]
        let t2_1 = x[7] - x[13] - k4 * x[19] + k4 * x[25]
        let t3_1 = -x[7] - k2 * x[13] + x[19] + k2 * x[25]
        let t4_1 = x[7] - k2 * x[13] - x[19] + k2 * x[25]
        let t5_1 = x[7] - k5 * x[19] + k4 * x[31]
        let t0_2 = x[2] - k5 * x[14] + k4 * x[26]
        let t1_2 = -x[8] - x[14] + k4 * x[20] + k4 * x[26]
        let t2_2 = x[8] - x[14] - k4 * x[20] + k4 * x[26]
        let t3_2 = -x[8] - k2 * x[14] + x[20] + k2 * x[26]
        let t4_2 = x[8] - k2 * x[14] - x[20] + k2 * x[26]
        let t5_2 = x[8] - k5 * x[20] + k4 * x[32]
        let t0_3 = x[3] - k5 * x[15] + k4 * x[27]
        let t1_3 = -x[9] - x[15] + k4 * x[21] + k4 * x[27]
        let t2_3 = x[9] - x[15] - k4 * x[21] + k4 * x[27]
        let t3_3 = -x[9] - k2 * x[15] + x[21] + k2 * x[27]
        let t4_3 = x[9] - k2 * x[15] - x[21] + k2 * x[27]
        let t5_3 = x[9] - k5 * x[21] + k4 * x[33]
        let t0_4 = x[4] - k5 * x[16] + k4 * x[28]
        let t1_4 = -x[10] - x[16] + k4 * x[22] + k4 * x[28]
        let t2_4 = x[10] - x[16] - k4 * x[22] + k4 * x[28]
        let t3_4 = -x[10] - k2 * x[16] + x[22] + k2 * x[28]
        let t4_4 = x[10] - k2 * x[16] - x[22] + k2 * x[28]
        let t5_4 = x[10] - k5 * x[22] + k4 * x[34]
        let t0_5 = x[5] - k5 * x[17] + k4 * x[29]
        let t1_5 = -x[11] - x[17] + k4 * x[23] + k4 * x[29]
        let t2_5 = x[11] - x[17] - k4 * x[23] + k4 * x[29]
        let t3_5 = -x[11] - k2 * x[17] + x[23] + k2 * x[29]
        let t4_5 = x[11] - k2 * x[17] - x[23] + k2 * x[29]
        let t5_5 = x[11] - k5 * x[23] + k4 * x[35]
        y[0] = t0_0 - k5 * t0_2 + k4 * t0_4
        y[1] = -t0_1 - t0_2 + k4 * t0_3 + k4 * t0_4
        y[2] = t0_1 - t0_2 - k4 * t0_3 + k4 * t0_4
        y[3] = -t0_1 - k2 * t0_2 + t0_3 + k2 * t0_4
        y[4] = t0_1 - k2 * t0_2 - t0_3 + k2 * t0_4
        y[5] = t0_1 - k5 * t0_3 + k4 * t0_5
        y[6] = t1_0 - k5 * t1_2 + k4 * t1_4
        y[7] = -t1_1 - t1_2 + k4 * t1_3 + k4 * t1_4
        y[8] = t1_1 - t1_2 - k4 * t1_3 + k4 * t1_4
        y[9] = -t1_1 - k2 * t1_2 + t1_3 + k2 * t1_4
        y[10] = t1_1 - k2 * t1_2 - t1_3 + k2 * t1_4
        y[11] = t1_1 - k5 * t1_3 + k4 * t1_5
        y[12] = t2_0 - k5 * t2_2 + k4 * t2_4
        y[13] = -t2_1 - t2_2 + k4 * t2_3 + k4 * t2_4
        y[14] = t2_1 - t2_2 - k4 * t2_3 + k4 * t2_4
        y[15] = -t2_1 - k2 * t2_2 + t2_3 + k2 * t2_4
        y[16] = t2_1 - k2 * t2_2 - t2_3 + k2 * t2_4
        y[17] = t2_1 - k5 * t2_3 + k4 * t2_5
        y[18] = t3_0 - k5 * t3_2 + k4 * t3_4
        y[19] = -t3_1 - t3_2 + k4 * t3_3 + k4 * t3_4
        y[20] = t3_1 - t3_2 - k4 * t3_3 + k4 * t3_4
        y[21] = -t3_1 - k2 * t3_2 + t3_3 + k2 * t3_4
        y[22] = t3_1 - k2 * t3_2 - t3_3 + k2 * t3_4
        y[23] = t3_1 - k5 * t3_3 + k4 * t3_5
        y[24] = t4_0 - k5 * t4_2 + k4 * t4_4
        y[25] = -t4_1 - t4_2 + k4 * t4_3 + k4 * t4_4
        y[26] = t4_1 - t4_2 - k4 * t4_3 + k4 * t4_4
        y[27] = -t4_1 - k2 * t4_2 + t4_3 + k2 * t4_4
        y[28] = t4_1 - k2 * t4_2 - t4_3 + k2 * t4_4
        y[29] = t4_1 - k5 * t4_3 + k4 * t4_5
        y[30] = t5_0 - k5 * t5_2 + k4 * t5_4
        y[31] = -t5_1 - t5_2 + k4 * t5_3 + k4 * t5_4
        y[32] = t5_1 - t5_2 - k4 * t5_3 + k4 * t5_4
        y[33] = -t5_1 - k2 * t5_2 + t5_3 + k2 * t5_4
        y[34] = t5_1 - k2 * t5_2 - t5_3 + k2 * t5_4
        y[35] = t5_1 - k5 * t5_3 + k4 * t5_5
    }
    /// Y = Aᵀ M A: 36 products to the 4×4 output tile (row-major).
    @inline(__always) static func outputTransform4(_ x: UnsafePointer<SIMD8<Float>>, _ y: UnsafeMutablePointer<SIMD8<Float>>) {
        let k0_125: Float = 0.125
        let k0_25: Float = 0.25
        let k0_5: Float = 0.5
        let t0_0 = x[0] + x[6] + x[12] + x[18] + x[24]
        let t1_0 = x[6] - x[12] + k0_5 * x[18] - k0_5 * x[24]
        let t2_0 = x[6] + x[12] + k0_25 * x[18] + k0_25 * x[24]
        let t3_0 = x[6] - x[12] + k0_125 * x[18] - k0_125 * x[24] + x[30]
        let t0_1 = x[1] + x[7] + x[13] + x[19] + x[25]
        let t1_1 = x[7] - x[13] + k0_5 * x[19] - k0_5 * x[25]
        let t2_1 = x[7] + x[13] + k0_25 * x[19] + k0_25 * x[25]
        let t3_1 = x[7] - x[13] + k0_125 * x[19] - k0_125 * x[25] + x[31]
        let t0_2 = x[2] + x[8] + x[14] + x[20] + x[26]
        let t1_2 = x[8] - x[14] + k0_5 * x[20] - k0_5 * x[26]
        let t2_2 = x[8] + x[14] + k0_25 * x[20] + k0_25 * x[26]
        let t3_2 = x[8] - x[14] + k0_125 * x[20] - k0_125 * x[26] + x[32]
        let t0_3 = x[3] + x[9] + x[15] + x[21] + x[27]
        let t1_3 = x[9] - x[15] + k0_5 * x[21] - k0_5 * x[27]
        let t2_3 = x[9] + x[15] + k0_25 * x[21] + k0_25 * x[27]
        let t3_3 = x[9] - x[15] + k0_125 * x[21] - k0_125 * x[27] + x[33]
        let t0_4 = x[4] + x[10] + x[16] + x[22] + x[28]
        let t1_4 = x[10] - x[16] + k0_5 * x[22] - k0_5 * x[28]
        let t2_4 = x[10] + x[16] + k0_25 * x[22] + k0_25 * x[28]
        let t3_4 = x[10] - x[16] + k0_125 * x[22] - k0_125 * x[28] + x[34]
        let t0_5 = x[5] + x[11] + x[17] + x[23] + x[29]
        let t1_5 = x[11] - x[17] + k0_5 * x[23] - k0_5 * x[29]
        let t2_5 = x[11] + x[17] + k0_25 * x[23] + k0_25 * x[29]
        let t3_5 = x[11] - x[17] + k0_125 * x[23] - k0_125 * x[29] + x[35]
        y[0] = t0_0 + t0_1 + t0_2 + t0_3 + t0_4
        y[1] = t0_1 - t0_2 + k0_5 * t0_3 - k0_5 * t0_4
        y[2] = t0_1 + t0_2 + k0_25 * t0_3 + k0_25 * t0_4
        y[3] = t0_1 - t0_2 + k0_125 * t0_3 - k0_125 * t0_4 + t0_5
        y[4] = t1_0 + t1_1 + t1_2 + t1_3 + t1_4
        y[5] = t1_1 - t1_2 + k0_5 * t1_3 - k0_5 * t1_4
        y[6] = t1_1 + t1_2 + k0_25 * t1_3 + k0_25 * t1_4
        y[7] = t1_1 - t1_2 + k0_125 * t1_3 - k0_125 * t1_4 + t1_5
        y[8] = t2_0 + t2_1 + t2_2 + t2_3 + t2_4
        y[9] = t2_1 - t2_2 + k0_5 * t2_3 - k0_5 * t2_4
        y[10] = t2_1 + t2_2 + k0_25 * t2_3 + k0_25 * t2_4
        y[11] = t2_1 - t2_2 + k0_125 * t2_3 - k0_125 * t2_4 + t2_5
        y[12] = t3_0 + t3_1 + t3_2 + t3_3 + t3_4
        y[13] = t3_1 - t3_2 + k0_5 * t3_3 - k0_5 * t3_4
        y[14] = t3_1 + t3_2 + k0_25 * t3_3 + k0_25 * t3_4
        y[15] = t3_1 - t3_2 + k0_125 * t3_3 - k0_125 * t3_4 + t3_5
    }
    /// The transpose of `outputTransform4`: dM = A dY Aᵀ, a 4×4 output-gradient tile to 36 values.
    @inline(__always) static func gradientInputTransform4(_ x: UnsafePointer<SIMD8<Float>>, _ y: UnsafeMutablePointer<SIMD8<Float>>) {
        let k0_125: Float = 0.125
        let k0_25: Float = 0.25
        let k0_5: Float = 0.5
        let t0_0 = x[0]
        let t1_0 = x[0] + x[4] + x[8] + x[12]
        let t2_0 = x[0] - x[4] + x[8] - x[12]
        let t3_0 = x[0] + k0_5 * x[4] + k0_25 * x[8] + k0_125 * x[12]
        let t4_0 = x[0] - k0_5 * x[4] + k0_25 * x[8] - k0_125 * x[12]
        let t5_0 = x[12]
        let t0_1 = x[1]
        let t1_1 = x[1] + x[5] + x[9] + x[13]
        let t2_1 = x[1] - x[5] + x[9] - x[13]
        let t3_1 = x[1] + k0_5 * x[5] + k0_25 * x[9] + k0_125 * x[13]
        let t4_1 = x[1] - k0_5 * x[5] + k0_25 * x[9] - k0_125 * x[13]
        let t5_1 = x[13]
        let t0_2 = x[2]
        let t1_2 = x[2] + x[6] + x[10] + x[14]
        let t2_2 = x[2] - x[6] + x[10] - x[14]
        let t3_2 = x[2] + k0_5 * x[6] + k0_25 * x[10] + k0_125 * x[14]
        let t4_2 = x[2] - k0_5 * x[6] + k0_25 * x[10] - k0_125 * x[14]
        let t5_2 = x[14]
        let t0_3 = x[3]
        let t1_3 = x[3] + x[7] + x[11] + x[15]
        let t2_3 = x[3] - x[7] + x[11] - x[15]
        let t3_3 = x[3] + k0_5 * x[7] + k0_25 * x[11] + k0_125 * x[15]
        let t4_3 = x[3] - k0_5 * x[7] + k0_25 * x[11] - k0_125 * x[15]
        let t5_3 = x[15]
        y[0] = t0_0
        y[1] = t0_0 + t0_1 + t0_2 + t0_3
        y[2] = t0_0 - t0_1 + t0_2 - t0_3
        y[3] = t0_0 + k0_5 * t0_1 + k0_25 * t0_2 + k0_125 * t0_3
        y[4] = t0_0 - k0_5 * t0_1 + k0_25 * t0_2 - k0_125 * t0_3
        y[5] = t0_3
        y[6] = t1_0
        y[7] = t1_0 + t1_1 + t1_2 + t1_3
        y[8] = t1_0 - t1_1 + t1_2 - t1_3
        y[9] = t1_0 + k0_5 * t1_1 + k0_25 * t1_2 + k0_125 * t1_3
        y[10] = t1_0 - k0_5 * t1_1 + k0_25 * t1_2 - k0_125 * t1_3
        y[11] = t1_3
        y[12] = t2_0
        y[13] = t2_0 + t2_1 + t2_2 + t2_3
        y[14] = t2_0 - t2_1 + t2_2 - t2_3
        y[15] = t2_0 + k0_5 * t2_1 + k0_25 * t2_2 + k0_125 * t2_3
        y[16] = t2_0 - k0_5 * t2_1 + k0_25 * t2_2 - k0_125 * t2_3
        y[17] = t2_3
        y[18] = t3_0
        y[19] = t3_0 + t3_1 + t3_2 + t3_3
        y[20] = t3_0 - t3_1 + t3_2 - t3_3
        y[21] = t3_0 + k0_5 * t3_1 + k0_25 * t3_2 + k0_125 * t3_3
        y[22] = t3_0 - k0_5 * t3_1 + k0_25 * t3_2 - k0_125 * t3_3
        y[23] = t3_3
        y[24] = t4_0
        y[25] = t4_0 + t4_1 + t4_2 + t4_3
        y[26] = t4_0 - t4_1 + t4_2 - t4_3
        y[27] = t4_0 + k0_5 * t4_1 + k0_25 * t4_2 + k0_125 * t4_3
        y[28] = t4_0 - k0_5 * t4_1 + k0_25 * t4_2 - k0_125 * t4_3
        y[29] = t4_3
        y[30] = t5_0
        y[31] = t5_0 + t5_1 + t5_2 + t5_3
        y[32] = t5_0 - t5_1 + t5_2 - t5_3
        y[33] = t5_0 + k0_5 * t5_1 + k0_25 * t5_2 + k0_125 * t5_3
        y[34] = t5_0 - k0_5 * t5_1 + k0_25 * t5_2 - k0_125 * t5_3
        y[35] = t5_3
    }
    /// The transpose of `inputTransform4`: dd = B dV Bᵀ, 36 values to a 6×6 input-gradient tile.
    @inline(__always) static func gradientOutputTransform4(_ x: UnsafePointer<SIMD8<Float>>, _ y: UnsafeMutablePointer<SIMD8<Float>>) {
        let k2: Float = 2
        let k4: Float = 4
        let k5: Float = 5
        let t0_0 = x[0]
        let t1_0 = -x[6] + x[12] - x[18] + x[24] + x[30]
        let t2_0 = -k5 * x[0] - x[6] - x[12] - k2 * x[18] - k2 * x[24]
        let t3_0 = k4 * x[6] - k4 * x[12] + x[18] - x[24] - k5 * x[30]
        let t4_0 = k4 * x[0] + k4 * x[6] + k4 * x[12] + k2 * x[18] + k2 * x[24]
        let t5_0 = k4 * x[30]
        let t0_1 = x[1]
        let t1_1 = -x[7] + x[13] - x[19] + x[25] + x[31]
        let t2_1 = -k5 * x[1] - x[7] - x[13] - k2 * x[19] - k2 * x[25]
        let t3_1 = k4 * x[7] - k4 * x[13] + x[19] - x[25] - k5 * x[31]
        let t4_1 = k4 * x[1] + k4 * x[7] + k4 * x[13] + k2 * x[19] + k2 * x[25]
        let t5_1 = k4 * x[31]
        let t0_2 = x[2]
        let t1_2 = -x[8] + x[14] - x[20] + x[26] + x[32]
        let t2_2 = -k5 * x[2] - x[8] - x[14] - k2 * x[20] - k2 * x[26]
        let t3_2 = k4 * x[8] - k4 * x[14] + x[20] - x[26] - k5 * x[32]
        let t4_2 = k4 * x[2] + k4 * x[8] + k4 * x[14] + k2 * x[20] + k2 * x[26]
        let t5_2 = k4 * x[32]
        let t0_3 = x[3]
        let t1_3 = -x[9] + x[15] - x[21] + x[27] + x[33]
        let t2_3 = -k5 * x[3] - x[9] - x[15] - k2 * x[21] - k2 * x[27]
        let t3_3 = k4 * x[9] - k4 * x[15] + x[21] - x[27] - k5 * x[33]
        let t4_3 = k4 * x[3] + k4 * x[9] + k4 * x[15] + k2 * x[21] + k2 * x[27]
        let t5_3 = k4 * x[33]
        let t0_4 = x[4]
        let t1_4 = -x[10] + x[16] - x[22] + x[28] + x[34]
        let t2_4 = -k5 * x[4] - x[10] - x[16] - k2 * x[22] - k2 * x[28]
        let t3_4 = k4 * x[10] - k4 * x[16] + x[22] - x[28] - k5 * x[34]
        let t4_4 = k4 * x[4] + k4 * x[10] + k4 * x[16] + k2 * x[22] + k2 * x[28]
        let t5_4 = k4 * x[34]
        let t0_5 = x[5]
        let t1_5 = -x[11] + x[17] - x[23] + x[29] + x[35]
        let t2_5 = -k5 * x[5] - x[11] - x[17] - k2 * x[23] - k2 * x[29]
        let t3_5 = k4 * x[11] - k4 * x[17] + x[23] - x[29] - k5 * x[35]
        let t4_5 = k4 * x[5] + k4 * x[11] + k4 * x[17] + k2 * x[23] + k2 * x[29]
        let t5_5 = k4 * x[35]
        y[0] = t0_0
        y[1] = -t0_1 + t0_2 - t0_3 + t0_4 + t0_5
        y[2] = -k5 * t0_0 - t0_1 - t0_2 - k2 * t0_3 - k2 * t0_4
        y[3] = k4 * t0_1 - k4 * t0_2 + t0_3 - t0_4 - k5 * t0_5
        y[4] = k4 * t0_0 + k4 * t0_1 + k4 * t0_2 + k2 * t0_3 + k2 * t0_4
        y[5] = k4 * t0_5
        y[6] = t1_0
        y[7] = -t1_1 + t1_2 - t1_3 + t1_4 + t1_5
        y[8] = -k5 * t1_0 - t1_1 - t1_2 - k2 * t1_3 - k2 * t1_4
        y[9] = k4 * t1_1 - k4 * t1_2 + t1_3 - t1_4 - k5 * t1_5
        y[10] = k4 * t1_0 + k4 * t1_1 + k4 * t1_2 + k2 * t1_3 + k2 * t1_4
        y[11] = k4 * t1_5
        y[12] = t2_0
        y[13] = -t2_1 + t2_2 - t2_3 + t2_4 + t2_5
        y[14] = -k5 * t2_0 - t2_1 - t2_2 - k2 * t2_3 - k2 * t2_4
        y[15] = k4 * t2_1 - k4 * t2_2 + t2_3 - t2_4 - k5 * t2_5
        y[16] = k4 * t2_0 + k4 * t2_1 + k4 * t2_2 + k2 * t2_3 + k2 * t2_4
        y[17] = k4 * t2_5
        y[18] = t3_0
        y[19] = -t3_1 + t3_2 - t3_3 + t3_4 + t3_5
        y[20] = -k5 * t3_0 - t3_1 - t3_2 - k2 * t3_3 - k2 * t3_4
        y[21] = k4 * t3_1 - k4 * t3_2 + t3_3 - t3_4 - k5 * t3_5
        y[22] = k4 * t3_0 + k4 * t3_1 + k4 * t3_2 + k2 * t3_3 + k2 * t3_4
        y[23] = k4 * t3_5
        y[24] = t4_0
        y[25] = -t4_1 + t4_2 - t4_3 + t4_4 + t4_5
        y[26] = -k5 * t4_0 - t4_1 - t4_2 - k2 * t4_3 - k2 * t4_4
        y[27] = k4 * t4_1 - k4 * t4_2 + t4_3 - t4_4 - k5 * t4_5
        y[28] = k4 * t4_0 + k4 * t4_1 + k4 * t4_2 + k2 * t4_3 + k2 * t4_4
        y[29] = k4 * t4_5
        y[30] = t5_0
        y[31] = -t5_1 + t5_2 - t5_3 + t5_4 + t5_5
        y[32] = -k5 * t5_0 - t5_1 - t5_2 - k2 * t5_3 - k2 * t5_4
        y[33] = k4 * t5_1 - k4 * t5_2 + t5_3 - t5_4 - k5 * t5_5
        y[34] = k4 * t5_0 + k4 * t5_1 + k4 * t5_2 + k2 * t5_3 + k2 * t5_4
        y[35] = k4 * t5_5
    }
}

extension Ops {
    /// The same result as `convForward` by Winograd F(4×4, 3×3); `u` is `VGGWeights.Conv.winograd4`
    /// (`Winograd.transformWeights4` for `kernels`). With `relu`, the ReLU is applied as the output is
    /// written (one pass fewer).
    public static func winograd4Forward(x: UnsafePointer<Float>, _ s: PaddedShape, u: UnsafePointer<Float>,
                                        bias: UnsafePointer<Float>, cout: Int, y: UnsafeMutablePointer<Float>,
                                        scratch: WinogradScratch, relu: Bool = false, kernels: Kernels = .current) {
        let os = PaddedShape(c: cout, h: s.h, w: s.w)
        winograd4(inC: s.c, outC: cout, s, u: u, kernels: kernels, transposed: false, scratch: scratch,
                  input: { v, first, n, ld, stride, parallel in
                      inputTransform4(x, s, first: first, count: n, ld: ld, xiStride: stride, parallel: parallel,
                                      kernels: kernels, v: v)
                  },
                  output: { m, first, n, ld, stride, parallel in
                      outputTransform4(m, os, first: first, count: n, ld: ld, xiStride: stride, parallel: parallel,
                                       kernels: kernels, bias: bias, relu: relu, y: y)
                  })
        // The transforms write only the interior; the buffer may hold anything from another shape.
        zeroBorders(y, os)
    }

    /// The same result as `convBackward` (dy must have zero borders). With `reluOutput`, dy is first
    /// multiplied by (reluOutput > 0): the ReLU's backward done as the gradient is read.
    public static func winograd4Backward(dy: UnsafePointer<Float>, _ s: PaddedShape, u: UnsafePointer<Float>,
                                         cout: Int, dx: UnsafeMutablePointer<Float>, scratch: WinogradScratch,
                                         reluOutput: UnsafePointer<Float>? = nil, kernels: Kernels = .current) {
        let ds = PaddedShape(c: cout, h: s.h, w: s.w)
        zero(dx, s)
        winograd4(inC: cout, outC: s.c, s, u: u, kernels: kernels, transposed: true, scratch: scratch,
                  input: { v, first, n, ld, stride, parallel in
                      gradientInputTransform4(dy, ds, mask: reluOutput, first: first, count: n, ld: ld, xiStride: stride,
                                              parallel: parallel, kernels: kernels, v: v)
                  },
                  output: { m, first, n, ld, stride, parallel in
                      gradientOutputTransform4(m, s, first: first, count: n, ld: ld, xiStride: stride, parallel: parallel,
                                               kernels: kernels, dx: dx)
                  })
        zeroBorders(dx, s)
    }

    /// Tiles of a plane: 4×4 output blocks.
    @inline(__always) static func tiles4(_ s: PaddedShape) -> (x: Int, y: Int) { ((s.w + 3) / 4, (s.h + 3) / 4) }

    /// The pipeline: transform a set of tiles into V, 36 GEMMs into M, transform M out. Layers with many
    /// tiles are cut into blocks that each thread carries through all three steps alone (`TileBlocks`), so
    /// V and M stay in that core's cache and no thread waits at a barrier; layers with few tiles (deep ones)
    /// run each step over all threads, the 36 GEMMs side by side. U is [36][outC][inC], or with `transposed`
    /// [36][inC][outC], either laid out for `kernels`. The input gradient's output transform adds into
    /// overlapping 6×6 tiles, so `transposed` runs neighbouring blocks in different phases.
    static func winograd4(inC: Int, outC: Int, _ s: PaddedShape, u: UnsafePointer<Float>, kernels: Kernels,
                          transposed: Bool, scratch: WinogradScratch,
                          input: (UnsafeMutablePointer<Float>, Int, Int, Int, Int, Bool) -> Void,
                          output: (UnsafePointer<Float>, Int, Int, Int, Int, Bool) -> Void) {
        let (tx, ty) = tiles4(s)
        let xiFloats = transposed ? kernels.floatsPerXi(cout: inC, cin: outC) : kernels.floatsPerXi(cout: outC, cin: inC)
        func products(_ v: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>, n: Int, ld: Int, vStride: Int,
                      mStride: Int, xi: Int, parallel: Bool) {
            switch kernels {
            case .avx2:
                GEMM.winogradProduct(m: outC, n: n, k: inC, u: u + xi * xiFloats, transposed: transposed,
                                     b: v + xi * vStride, ldb: ld, c: m + xi * mStride, ldc: ld, parallel: parallel)
            case .portable:
                GEMM.run(transA: transposed, m: outC, n: n, k: inC, a: u + xi * xiFloats, lda: transposed ? outC : inC,
                         b: v + xi * vStride, ldb: ld, beta: 0, c: m + xi * mStride, ldc: ld, parallel: parallel)
            }
        }
        let threads = Threads.count
        if let b = TileBlocks(inC: inC, outC: outC, tilesX: tx, tilesY: ty, threads: threads,
                              scratchFloats: scratch.buffer.count, schedule: scratch.schedule) {
            let vStride = inC * b.ld + 32, mStride = outC * b.ld + 32
            Threads.withSerialBLAS {
                for phase in b.phases(overlapping: transposed) {
                    parallelParts(phase.count, threads: threads) { part, i in
                        let v = scratch.buffer.ptr + part * b.sliceFloats, m = v + 36 * vStride
                        let (ty0, tx0, rows, cols) = b.block(phase[i])
                        for r in 0..<rows { input(v + r * cols, (ty0 + r) * tx + tx0, cols, b.ld, vStride, false) }
                        for xi in 0..<36 { products(v, m, n: rows * cols, ld: b.ld, vStride: vStride, mStride: mStride, xi: xi, parallel: false) }
                        for r in 0..<rows { output(m + r * cols, (ty0 + r) * tx + tx0, cols, b.ld, mStride, false) }
                    }
                }
            }
            return
        }
        let tiles = tx * ty
        // Rows of at least n + 7 floats, because a group of eight tiles is stored whole even where fewer
        // are real.
        let (chunk, ldn) = winogradChunk(xis: 36, rowPad: 7, inC: inC, outC: outC, tiles: tiles, scratchFloats: scratch.buffer.count)
        let vStride = inC * ldn + 32, mStride = outC * ldn + 32
        let v = scratch.buffer.ptr, m = scratch.buffer.ptr + 36 * vStride
        var t0 = 0
        while t0 < tiles {
            let n = min(chunk, tiles - t0)
            input(v, t0, n, ldn, vStride, true)
            gemms(count: 36, sideBySide: scratch.sideBySide) { xi, parallel in
                products(v, m, n: n, ld: ldn, vStride: vStride, mStride: mStride, xi: xi, parallel: parallel)
            }
            output(m, t0, n, ldn, mStride, true)
            t0 += n
        }
    }

    /// Runs independent GEMMs: side by side, each on one thread, when there are at least as many as
    /// threads; else one after another, each split over all threads by `GEMM` (body's second argument).
    static func gemms(count: Int, sideBySide: Bool, _ body: (Int, Bool) -> Void) {
        if sideBySide && Threads.count > 1 && count >= Threads.count {
            Threads.withSerialBLAS { parallelFor(count, work: Int.max) { body($0, false) } }
        } else {
            for i in 0..<count { body(i, true) }
        }
    }

    /// Iterates the tiles first..<first+count of a plane in groups of up to eight along one tile row:
    /// body(position in chunk, tile row, first tile column, tiles in the group).
    @inline(__always) static func tileGroups(_ tilesX: Int, first: Int, count n: Int, _ body: (Int, Int, Int, Int) -> Void) {
        var i = 0
        while i < n {
            let t = first + i, ty = t / tilesX, tx0 = t % tilesX
            let tx1 = min(tilesX, tx0 + (n - i))
            var tx = tx0
            while tx < tx1 {
                let k = min(8, tx1 - tx)
                body(i + tx - tx0, ty, tx, k)
                tx += k
            }
            i += tx1 - tx0
        }
    }

    /// The tile row and first tile column of tiles first..<first+count when they lie in one tile row (a
    /// block's calls, which `prefetch` helps), else nil (a long run the hardware prefetcher follows).
    @inline(__always) static func tileRow(_ tilesX: Int, first: Int, count: Int) -> (ty: Int, tx: Int)? {
        let ty = first / tilesX, tx = first % tilesX
        return tx + count <= tilesX ? (ty, tx) : nil
    }

    /// Asks for rows of channel c + 2 of a padded tensor while channel c is transformed: a block's few
    /// rows per channel are too short a run for the hardware prefetcher, and the input transform of conv1_2
    /// at 512² spent about a fifth of its time waiting for them (C harness: 263 → 210 ns per group).
    @inline(__always) static func prefetch(_ p: UnsafePointer<Float>, _ s: PaddedShape, channel c: Int, row: Int,
                                           rows: Int, column: Int, floats: Int, write: Bool = false) {
        guard c + 2 < s.c, rows > 0 else { return }
        restyle_prefetch_rows(p + (c + 2) * s.plane + row * s.rowStride + column, s.rowStride, Int32(rows), floats, write)
    }

    @inline(__always) static func loadV8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func storeV8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    // A group of eight tiles reads and writes rows of 32 consecutive floats, four per tile; the lanes are
    // tiles. These turn such a row into its four columns (c_j[l] = p[4l + j]) and back with eight vector
    // loads or stores and in-register transposes, instead of 32 scalar loads or stores with strides.

    @inline(__always) static func transpose4(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
        -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        (SIMD4(a[0], b[0], c[0], d[0]), SIMD4(a[1], b[1], c[1], d[1]), SIMD4(a[2], b[2], c[2], d[2]), SIMD4(a[3], b[3], c[3], d[3]))
    }

    @inline(__always) static func columns4(_ p: UnsafePointer<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = transpose4(load4(p), load4(p + 4), load4(p + 8), load4(p + 12))
        let b = transpose4(load4(p + 16), load4(p + 20), load4(p + 24), load4(p + 28))
        return (SIMD8(lowHalf: a.0, highHalf: b.0), SIMD8(lowHalf: a.1, highHalf: b.1),
                SIMD8(lowHalf: a.2, highHalf: b.2), SIMD8(lowHalf: a.3, highHalf: b.3))
    }

    /// p[4l + j] = c_j[l] (`add`: +=) for the 32 floats from p.
    @inline(__always) static func storeColumns4(_ c0: SIMD8<Float>, _ c1: SIMD8<Float>, _ c2: SIMD8<Float>, _ c3: SIMD8<Float>,
                                                _ p: UnsafeMutablePointer<Float>, add: Bool) {
        let a = transpose4(c0.lowHalf, c1.lowHalf, c2.lowHalf, c3.lowHalf)
        let b = transpose4(c0.highHalf, c1.highHalf, c2.highHalf, c3.highHalf)
        for (k, v) in [a.0, a.1, a.2, a.3, b.0, b.1, b.2, b.3].enumerated() {
            let q = UnsafeMutableRawPointer(p + 4 * k)
            q.storeBytes(of: add ? q.loadUnaligned(as: SIMD4<Float>.self) + v : v, as: SIMD4<Float>.self)
        }
    }

    /// c shifted down one lane, `last` entering at lane 7: lane l holds c[l + 1].
    @inline(__always) static func nextLane(_ c: SIMD8<Float>, _ last: Float) -> SIMD8<Float> {
        SIMD8(c[1], c[2], c[3], c[4], c[5], c[6], c[7], last)
    }

    /// c shifted up one lane, zero entering at lane 0: lane l holds c[l − 1].
    @inline(__always) static func previousLane(_ c: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(0, c[0], c[1], c[2], c[3], c[4], c[5], c[6])
    }

    /// V[ξ][c][i] for tiles first..<first+count: tile (ty, tx) reads padded rows 4ty…4ty+5 and columns
    /// 4tx…4tx+5; what lies past the padded plane (sizes not a multiple of 4) reads as zero.
    static func inputTransform4(_ x: UnsafePointer<Float>, _ s: PaddedShape, first: Int, count n: Int,
                                ld: Int, xiStride stride: Int, parallel: Bool = true, kernels: Kernels = .current,
                                v: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane, tilesX = tiles4(s).x, run = tileRow(tilesX, first: first, count: n)
        channels(s.c, parallel: parallel, work: s.c * n * 36) { c in
            if let (ty, tx) = run { prefetch(x, s, channel: c, row: 4 * ty, rows: min(6, s.h + 2 - 4 * ty), column: 4 * tx, floats: 4 * n + 2) }
            let p = x + c * plane, out = v + c * ld
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 72) { buf in
                let d = buf.baseAddress!, e = d + 36
                tileGroups(tilesX, first: first, count: n) { pos, ty, tx, k in
                    let base = p + 4 * ty * rs + 4 * tx
                    if k == 8 && 4 * ty + 5 <= s.h + 1 && 4 * (tx + 7) + 5 <= s.w + 1 {
                        if kernels == .avx2 { return restyle_wino4_input8(base, rs, out + pos, stride) }
                        // Columns 4 and 5 of tile l are columns 0 and 1 of tile l + 1.
                        for r in 0..<6 {
                            let row = base + r * rs
                            let (c0, c1, c2, c3) = columns4(row)
                            d[6 * r] = c0; d[6 * r + 1] = c1; d[6 * r + 2] = c2; d[6 * r + 3] = c3
                            d[6 * r + 4] = nextLane(c0, row[32]); d[6 * r + 5] = nextLane(c1, row[33])
                        }
                    } else {
                        for q in 0..<36 { d[q] = SIMD8() }
                        let rows = min(6, s.h + 2 - 4 * ty)
                        for lane in 0..<k {
                            let cols = min(6, s.w + 2 - 4 * (tx + lane))
                            for r in 0..<rows { for j in 0..<cols { d[6 * r + j][lane] = base[r * rs + 4 * lane + j] } }
                        }
                    }
                    Winograd.inputTransform4(d, e)
                    for xi in 0..<36 { storeV8(e[xi], out + xi * stride + pos) }
                }
            }
        }
    }

    /// y (padded interior) = Aᵀ M A + bias (then ReLU) for tiles first..<first+count; outputs past H or W
    /// are dropped.
    static func outputTransform4(_ m: UnsafePointer<Float>, _ s: PaddedShape, first: Int, count n: Int, ld: Int,
                                 xiStride stride: Int, parallel: Bool = true, kernels: Kernels = .current,
                                 bias: UnsafePointer<Float>, relu: Bool, y: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane, tilesX = tiles4(s).x, run = tileRow(tilesX, first: first, count: n)
        channels(s.c, parallel: parallel, work: s.c * n * 36) { c in
            if let (ty, tx) = run {
                prefetch(UnsafePointer(y), s, channel: c, row: 4 * ty + 1, rows: min(4, s.h - 4 * ty), column: 4 * tx + 1, floats: 4 * n, write: true)
            }
            let b = SIMD8<Float>(repeating: bias[c])
            let q = y + c * plane, src = m + c * ld
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 52) { buf in
                let d = buf.baseAddress!, e = d + 36
                tileGroups(tilesX, first: first, count: n) { pos, ty, tx, k in
                    let whole = k == 8 && 4 * ty + 4 <= s.h && 4 * (tx + 8) <= s.w
                    if whole && kernels == .avx2 {
                        return restyle_wino4_output8(src + pos, stride, bias[c], relu, q + (4 * ty + 1) * rs + 4 * tx + 1, rs)
                    }
                    for xi in 0..<36 { d[xi] = loadV8(src + xi * stride + pos) }
                    Winograd.outputTransform4(d, e)
                    for j in 0..<16 {
                        // A NaN stays NaN: an overflow (∞ − ∞ inside the transform) must reach the loss and
                        // be reported as not finite, not be zeroed into a plausible activation.
                        let r = e[j] + b
                        e[j] = relu ? r.replacing(with: 0, where: r .< 0) : r
                    }
                    if whole {
                        let dst = q + (4 * ty + 1) * rs + 4 * tx + 1
                        for r in 0..<4 { storeColumns4(e[4 * r], e[4 * r + 1], e[4 * r + 2], e[4 * r + 3], dst + r * rs, add: false) }
                        return
                    }
                    e.withMemoryRebound(to: Float.self, capacity: 128) { f in
                        let rows = min(4, s.h - 4 * ty)
                        for lane in 0..<k {
                            let cols = min(4, s.w - 4 * (tx + lane))
                            let dst = q + (4 * ty + 1) * rs + 4 * (tx + lane) + 1
                            for r in 0..<rows { for j in 0..<cols { dst[r * rs + j] = f[8 * (4 * r + j) + lane] } }
                        }
                    }
                }
            }
        }
    }

    /// dM[ξ][c][i] = (A dY Aᵀ)[ξ] for the 4×4 gradient tiles first..<first+count, dY masked by
    /// (mask > 0) when a mask is given. Outside H×W dY is zero (its border, or past the plane).
    static func gradientInputTransform4(_ dy: UnsafePointer<Float>, _ s: PaddedShape, mask: UnsafePointer<Float>?,
                                        first: Int, count n: Int, ld: Int, xiStride stride: Int, parallel: Bool = true,
                                        kernels: Kernels = .current, v: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane, tilesX = tiles4(s).x, run = tileRow(tilesX, first: first, count: n)
        channels(s.c, parallel: parallel, work: s.c * n * 36) { c in
            if let (ty, tx) = run {
                let rows = min(4, s.h - 4 * ty)
                prefetch(dy, s, channel: c, row: 4 * ty + 1, rows: rows, column: 4 * tx + 1, floats: 4 * n)
                if let mask { prefetch(mask, s, channel: c, row: 4 * ty + 1, rows: rows, column: 4 * tx + 1, floats: 4 * n) }
            }
            let p = dy + c * plane, mp = mask.map { $0 + c * plane }, out = v + c * ld
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 52) { buf in
                let d = buf.baseAddress!, e = d + 16
                tileGroups(tilesX, first: first, count: n) { pos, ty, tx, k in
                    let offset = (4 * ty + 1) * rs + 4 * tx + 1
                    if k == 8 && 4 * ty + 4 <= s.h && 4 * (tx + 7) + 4 <= s.w {
                        if kernels == .avx2 { return restyle_wino4_gradient_input8(p + offset, mp.map { $0 + offset }, rs, out + pos, stride) }
                        for r in 0..<4 {
                            let (g0, g1, g2, g3) = columns4(p + offset + r * rs)
                            if let mp {
                                let (a0, a1, a2, a3) = columns4(mp + offset + r * rs)
                                d[4 * r] = g0.replacing(with: 0, where: .!(a0 .> 0)); d[4 * r + 1] = g1.replacing(with: 0, where: .!(a1 .> 0))
                                d[4 * r + 2] = g2.replacing(with: 0, where: .!(a2 .> 0)); d[4 * r + 3] = g3.replacing(with: 0, where: .!(a3 .> 0))
                            } else {
                                d[4 * r] = g0; d[4 * r + 1] = g1; d[4 * r + 2] = g2; d[4 * r + 3] = g3
                            }
                        }
                    } else {
                        for q in 0..<16 { d[q] = SIMD8() }
                        let rows = min(4, s.h - 4 * ty)
                        for lane in 0..<k {
                            let cols = min(4, s.w - 4 * (tx + lane))
                            for r in 0..<rows { for j in 0..<cols {
                                let o = offset + r * rs + 4 * lane + j
                                d[4 * r + j][lane] = mp.map { $0[o] > 0 ? p[o] : 0 } ?? p[o]
                            } }
                        }
                    }
                    Winograd.gradientInputTransform4(d, e)
                    for xi in 0..<36 { storeV8(e[xi], out + xi * stride + pos) }
                }
            }
        }
    }

    /// dx += B dV Bᵀ over the 6×6 input tiles (which overlap by two rows and columns; one thread owns each
    /// channel, so the additions never race). Values that fall on the border are cleared by the caller.
    static func gradientOutputTransform4(_ m: UnsafePointer<Float>, _ s: PaddedShape, first: Int, count n: Int, ld: Int,
                                         xiStride stride: Int, parallel: Bool = true, kernels: Kernels = .current,
                                         dx: UnsafeMutablePointer<Float>) {
        let rs = s.rowStride, plane = s.plane, tilesX = tiles4(s).x, run = tileRow(tilesX, first: first, count: n)
        channels(s.c, parallel: parallel, work: s.c * n * 36) { c in
            if let (ty, tx) = run {
                prefetch(UnsafePointer(dx), s, channel: c, row: 4 * ty, rows: min(6, s.h + 2 - 4 * ty), column: 4 * tx, floats: 4 * n + 2, write: true)
            }
            let q = dx + c * plane, src = m + c * ld
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 72) { buf in
                let d = buf.baseAddress!, e = d + 36
                tileGroups(tilesX, first: first, count: n) { pos, ty, tx, k in
                    let whole = k == 8 && 4 * ty + 6 <= s.h + 2 && 4 * (tx + 8) + 2 <= s.w + 2
                    if whole && kernels == .avx2 { return restyle_wino4_gradient_output8(src + pos, stride, q + 4 * ty * rs + 4 * tx, rs) }
                    for xi in 0..<36 { d[xi] = loadV8(src + xi * stride + pos) }
                    Winograd.gradientOutputTransform4(d, e)
                    if whole {
                        // Columns 4 and 5 of tile l land on columns 0 and 1 of tile l + 1: added there in
                        // the same vector, the last tile's after the row.
                        for r in 0..<6 {
                            let row = q + (4 * ty + r) * rs + 4 * tx
                            let c4 = e[6 * r + 4], c5 = e[6 * r + 5]
                            storeColumns4(e[6 * r] + previousLane(c4), e[6 * r + 1] + previousLane(c5), e[6 * r + 2], e[6 * r + 3], row, add: true)
                            row[32] += c4[7]; row[33] += c5[7]
                        }
                        return
                    }
                    e.withMemoryRebound(to: Float.self, capacity: 288) { f in
                        let rows = min(6, s.h + 2 - 4 * ty)
                        for lane in 0..<k {
                            let cols = min(6, s.w + 2 - 4 * (tx + lane))
                            let dst = q + 4 * ty * rs + 4 * (tx + lane)
                            for r in 0..<rows { for j in 0..<cols { dst[r * rs + j] += f[8 * (6 * r + j) + lane] } }
                        }
                    }
                }
            }
        }
    }
}
