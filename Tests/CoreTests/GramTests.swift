@testable import Core
import XCTest

/// The Gram matrix (the upper triangle by ssyrk over chunks of columns, summed in order, then mirrored)
/// against a double-precision F Fᵀ / M, on planes too small to cut and planes cut into 2…8 chunks, with 1
/// and 2 threads, which must agree bit for bit.
final class GramTests: XCTestCase {
    func testGramMatchesDoublePrecisionProduct() throws {
        var rng = SplitMix64(seed: 91)
        let saved = Threads.count
        defer { Threads.set(saved) }
        let shapes = [(1, 3, 4), (5, 7, 6), (16, 5, 5), (17, 9, 8), (40, 12, 13), (64, 6, 7), (3, 20, 30), (9, 40, 40),
                      (33, 70, 50)]
        for (c, h, w) in shapes {
            let s = PaddedShape(c: c, h: h, w: w)
            let f = try FloatBuffer(count: s.count)
            for ch in 0..<c { for y in 0..<h { for x in 0..<w { f.ptr[ch * s.plane + s.at(y, x)] = rng.nextSymmetric() } } }
            let partials = try FloatBuffer(count: max(1, Objective.gramPartialFloats([s])))
            var results: [[Float]] = []
            for threads in [1, 2] {
                Threads.set(threads)
                let g = try FloatBuffer(count: c * c)
                for i in 0..<(c * c) { g.ptr[i] = .nan }  // every entry must be written
                Objective.gram(f.ptr, s, into: g.ptr, partials: partials.ptr)
                var worst = 0.0
                for i in 0..<c { for j in 0..<c {
                    var sum = 0.0
                    for k in 0..<s.plane { sum += Double(f.ptr[i * s.plane + k]) * Double(f.ptr[j * s.plane + k]) }
                    let expected = sum / Double(h * w), got = Double(g.ptr[i * c + j])
                    XCTAssertEqual(g.ptr[i * c + j], g.ptr[j * c + i], "\(c) channels: G not symmetric at (\(i), \(j))")
                    worst = max(worst, abs(got - expected))
                } }
                XCTAssertLessThan(worst, 1e-5, "\(c)×\(h)×\(w), \(Objective.gramChunks(s)) chunks, \(threads) threads")
                results.append(g.array)
            }
            XCTAssertEqual(results[0], results[1], "\(c)×\(h)×\(w): 1 and 2 threads differ")
        }
        // The chunk counts these shapes were chosen for: none, some, and the cap.
        XCTAssertEqual([(5, 7, 6), (3, 20, 30), (9, 40, 40), (33, 70, 50)].map { Objective.gramChunks(PaddedShape(c: $0.0, h: $0.1, w: $0.2)) },
                       [1, 2, 6, 8])
    }
}
