@testable import Core
import XCTest

/// The Gram matrix from its upper triangle (blocks of rows from the diagonal on, then mirrored) against a
/// double-precision F Fᵀ / M, on channel counts that leave a partial last block, with 1 and 2 threads.
final class GramTests: XCTestCase {
    func testGramMatchesDoublePrecisionProduct() throws {
        var rng = SplitMix64(seed: 91)
        let saved = Threads.count
        defer { Threads.set(saved) }
        for threads in [1, 2] {
            Threads.set(threads)
            for (c, h, w) in [(1, 3, 4), (5, 7, 6), (16, 5, 5), (17, 9, 8), (40, 12, 13), (64, 6, 7)] {
                let s = PaddedShape(c: c, h: h, w: w)
                let f = try FloatBuffer(count: s.count)
                for ch in 0..<c { for y in 0..<h { for x in 0..<w { f.ptr[ch * s.plane + s.at(y, x)] = rng.nextSymmetric() } } }
                let g = try FloatBuffer(count: c * c)
                for i in 0..<(c * c) { g.ptr[i] = .nan }  // every entry must be written
                Objective.gram(f.ptr, s, into: g.ptr)
                var worst = 0.0
                for i in 0..<c { for j in 0..<c {
                    var sum = 0.0
                    for k in 0..<s.plane { sum += Double(f.ptr[i * s.plane + k]) * Double(f.ptr[j * s.plane + k]) }
                    let expected = sum / Double(h * w), got = Double(g.ptr[i * c + j])
                    XCTAssertEqual(g.ptr[i * c + j], g.ptr[j * c + i], "\(c) channels: G not symmetric at (\(i), \(j))")
                    worst = max(worst, abs(got - expected))
                } }
                XCTAssertLessThan(worst, 1e-5, "\(c) channels, \(threads) threads")
            }
        }
    }
}
