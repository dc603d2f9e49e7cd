@testable import Core
import CKernels
import XCTest

/// restyle's AVX2 kernel for the Winograd products against a double-precision product, on shapes that
/// hit every edge: rows not a multiple of 6 (each partial micro-tile), columns not a multiple of 16
/// (masked stores), k across its steps of 2040 (later steps add into C), strides past the row, and the
/// column split over threads. Skipped, loudly, only on a CPU without AVX2 (where nothing calls it).
final class WinogradKernelTests: XCTestCase {
    func testProductsMatchDoublePrecision() throws {
        try XCTSkipUnless(restyle_kernels_available(), "this CPU has no AVX2/FMA: the kernel is never used here")
        var rng = SplitMix64(seed: 616)
        let shapes: [(cout: Int, cin: Int, n: Int)] = [
            (1, 1, 1), (6, 6, 16), (7, 5, 17), (5, 7, 15), (12, 13, 33), (64, 64, 113), (3, 64, 100),
            (64, 3, 100), (13, 2100, 31), (2100, 13, 9), (11, 4090, 40), (1, 1, 200), (66, 70, 2300),
        ]
        for (cout, cin, n) in shapes {
            let kernels = Kernels.avx2
            let taps = randomFloats(cout * cin, &rng)       // one ξ's U, rows cout × cin
            var u = [Float](repeating: .nan, count: kernels.floatsPerXi(cout: cout, cin: cin))   // padding unread
            for o in 0..<cout { for c in 0..<cin { u[kernels.index(o: o, c: c, cin: cin)] = taps[o * cin + c] } }
            for transposed in [false, true] {
                let (m, k) = transposed ? (cin, cout) : (cout, cin)
                let ldb = n + 5, ldc = n + 3
                let b = randomFloats(k * ldb, &rng)
                for parallel in [false, true] {
                    var c = [Float](repeating: 7, count: m * ldc)
                    u.withUnsafeBufferPointer { up in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        GEMM.winogradProduct(m: m, n: n, k: k, u: up.baseAddress!, transposed: transposed, b: bp.baseAddress!,
                                             ldb: ldb, c: cp.baseAddress!, ldc: ldc, parallel: parallel)
                    } } }
                    var worst = 0.0, untouched = true
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = 0.0, scale = 0.0
                            for p in 0..<k {
                                let a = Double(transposed ? taps[p * cin + i] : taps[i * cin + p])
                                sum += a * Double(b[p * ldb + j]); scale += abs(a * Double(b[p * ldb + j]))
                            }
                            worst = max(worst, abs(Double(c[i * ldc + j]) - sum) / max(scale, 1e-30))
                        }
                        for j in n..<ldc where c[i * ldc + j] != 7 { untouched = false }
                    }
                    let what = "\(cout)×\(cin) n \(n) transposed \(transposed) parallel \(parallel)"
                    XCTAssertLessThan(worst, 1e-6, what)
                    XCTAssertTrue(untouched, "\(what): wrote past column n")
                }
            }
        }
    }
}
