@testable import Core
import CBLAS
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

    /// A long sum in one running accumulator loses accuracy: over k = 512 the kernel's error was twice
    /// OpenBLAS's (which sums in steps of 256), and the deep layers' Winograd error with it. It sums in
    /// steps of about 256 too; its error against a double product stays near OpenBLAS's on the same data.
    func testLongSumsAreAsAccurateAsOpenBLAS() throws {
        try XCTSkipUnless(restyle_kernels_available(), "this CPU has no AVX2/FMA: the kernel is never used here")
        var rng = SplitMix64(seed: 512)
        let (m, n, k) = (64, 64, 512), kernels = Kernels.avx2
        let a = randomFloats(m * k, &rng), b = (0..<(k * n)).map { _ in abs(rng.nextSymmetric()) }  // like ReLU outputs
        var u = [Float](repeating: 0, count: kernels.floatsPerXi(cout: m, cin: k))
        for o in 0..<m { for c in 0..<k { u[kernels.index(o: o, c: c, cin: k)] = a[o * k + c] } }
        var ours = [Float](repeating: 0, count: m * n), blas = ours
        u.withUnsafeBufferPointer { up in b.withUnsafeBufferPointer { bp in ours.withUnsafeMutableBufferPointer { cp in
            GEMM.winogradProduct(m: m, n: n, k: k, u: up.baseAddress!, transposed: false, b: bp.baseAddress!, ldb: n,
                                 c: cp.baseAddress!, ldc: n, parallel: false)
        } } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &blas, Int32(n))
        var worstOurs = 0.0, worstBLAS = 0.0, largest = 0.0
        for i in 0..<m { for j in 0..<n {
            var sum = 0.0
            for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
            worstOurs = max(worstOurs, abs(Double(ours[i * n + j]) - sum))
            worstBLAS = max(worstBLAS, abs(Double(blas[i * n + j]) - sum))
            largest = max(largest, abs(sum))
        } }
        XCTAssertLessThan(worstOurs, 1.3 * worstBLAS + 1e-9 * largest, "kernel \(worstOurs / largest), OpenBLAS \(worstBLAS / largest)")
    }
}
