@testable import Core
import XCTest

/// `GEMM.run` cut into blocks of rows or of columns on 2 threads, against a double-precision product, on
/// shapes that take each way: tall (rows), wide (columns, as the style gradients), wide with too few
/// columns for two blocks (rows again), small enough to run whole, and cut with either operand transposed.
/// (Each cut case is at least `GEMM.parallelWork` multiply-adds, or it would run whole.)
final class GEMMTests: XCTestCase {
    func testBlocksMatchDoublePrecisionProduct() throws {
        var rng = SplitMix64(seed: 17)
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        let cases: [(m: Int, n: Int, k: Int, ta: Bool, tb: Bool)] = [
            (300, 70, 100, false, false), (24, 2000, 64, false, false), (200, 60, 300, false, false),
            (40, 60, 1000, false, false), (5, 7, 3, false, false), (70, 1300, 33, true, false), (130, 90, 200, false, true)]
        for t in cases where t.m > 5 {
            XCTAssertGreaterThanOrEqual(t.m * t.n * t.k, GEMM.parallelWork, "\(t) would run whole")
        }
        for t in cases {
            let a = try FloatBuffer(count: t.m * t.k), b = try FloatBuffer(count: t.k * t.n)
            let c = try FloatBuffer(count: t.m * t.n)
            for i in 0..<a.count { a.ptr[i] = rng.nextSymmetric() }
            for i in 0..<b.count { b.ptr[i] = rng.nextSymmetric() }
            for i in 0..<c.count { c.ptr[i] = rng.nextSymmetric() }
            let c0 = c.array
            // op(A) is m × k: stored k × m when transposed; op(B) k × n: stored n × k when transposed.
            let lda = t.ta ? t.m : t.k, ldb = t.tb ? t.k : t.n
            GEMM.run(transA: t.ta, transB: t.tb, m: t.m, n: t.n, k: t.k, alpha: 0.5, a: a.ptr, lda: lda, b: b.ptr, ldb: ldb,
                     beta: 2, c: c.ptr, ldc: t.n)
            var worst = 0.0
            for i in 0..<t.m { for j in 0..<t.n {
                var sum = 0.0
                for p in 0..<t.k {
                    let x = t.ta ? a.ptr[p * lda + i] : a.ptr[i * lda + p], y = t.tb ? b.ptr[j * ldb + p] : b.ptr[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                worst = max(worst, abs(Double(c.ptr[i * t.n + j]) - (0.5 * sum + 2 * Double(c0[i * t.n + j]))))
            } }
            XCTAssertLessThan(worst, 1e-4, "\(t)")
        }
    }
}
