import Core
import XCTest

final class OptimizerGoldenTests: XCTestCase {
    /// Adam from x = A (style B), rows from the independent implementation; iteration 0 is before any step.
    func testAdamMatchesReference() throws {
        let w = try Golden.requireWeights()
        var s = Golden.settings(.max)
        s.optimizer = .adam; s.learningRate = 1; s.iterations = 3
        let engine = try Engine(weights: w, content: Golden.a, style: Golden.b, settings: s)
        engine.start(); engine.waitUntilFinished(); engine.stop()
        let rows = engine.lossHistory().points
        XCTAssertEqual(rows.map(\.iteration), [0, 1, 2, 3])
        let want: [(Double, Double, Double, Double)] = [
            (41.366641998291016, 0, 0.7806317210197449, 0.3356032371520996),
            (40.23659133911133, 0.0018634137231856585, 0.7338834404945374, 0.3289589285850525),
            (39.21763610839844, 0.0068048289977014065, 0.6990914344787598, 0.32219916582107544),
            (38.28111267089844, 0.01392259169369936, 0.6727827191352844, 0.3153936266899109),
        ]
        for (row, w) in zip(rows, want) {
            assertRelative(row.terms.total, w.0, 1e-3, "total@\(row.iteration)")
            if w.1 == 0 { XCTAssertEqual(row.terms.content, 0, accuracy: 1e-12) } else { assertRelative(row.terms.content, w.1, 1e-2, "content@\(row.iteration)") }
            assertRelative(row.terms.style, w.2, 1e-3, "style@\(row.iteration)")
            assertRelative(row.terms.tv, w.3, 1e-3, "tv@\(row.iteration)")
        }
    }
}
