@testable import Core
import XCTest

/// Saves are snapshots written while the run goes on: the file must be the state at the snapshot, however
/// many iterations (which recycle L-BFGS pairs) run before it is written.
final class SessionSnapshotTests: XCTestCase {
    func settings() -> Settings {
        var s = Settings()
        s.iterations = 50; s.lbfgsHistory = 2; s.beta = 100
        return s
    }

    func testASnapshotWrittenLaterIsTheStateWhenItWasTaken() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 32, height: 24, seed: 21)
        let style = Bench.syntheticImage(width: 28, height: 28, seed: 22)
        let o = try Optimization(weights: w, content: content, style: style, settings: settings())
        for _ in 0..<4 { o.iterate() }
        let dir = tempDir(), now = dir + "/now.session", later = dir + "/later.session"
        try o.writeSession(to: now)
        let snapshot = try o.sessionSnapshot()
        // With a history of 2, these steps drop the snapshot's pairs; reused, they would be overwritten.
        for _ in 0..<4 { o.iterate() }
        try snapshot.write(to: later)
        let a = try Data(contentsOf: URL(fileURLWithPath: now)), b = try Data(contentsOf: URL(fileURLWithPath: later))
        XCTAssertEqual(a.count, b.count)
        let firstDifference = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(firstDifference, "the later write is byte for byte the state at the snapshot (of \(a.count) bytes)")
        XCTAssertEqual(try Optimization.resume(from: later, weights: w).0.iteration, 3)
    }

    /// The memory estimate counts what a snapshot copies (it is held while an autosave is written), and not
    /// much more: the settings and history JSON are the only other bytes.
    func testTheEstimateCoversASnapshotsCopies() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 64, height: 48, seed: 21)
        let style = Bench.syntheticImage(width: 48, height: 56, seed: 22)
        for optimizer in [OptimizerKind.lbfgs, .adam] {
            var s = settings()
            s.optimizer = optimizer
            let o = try Optimization(weights: w, content: content, style: style, settings: s)
            for _ in 0..<3 { o.iterate() }
            let copied = try o.sessionSnapshot().copiedBytes
            // One image-sized vector is 36 KB here: one counted too many or too few fails.
            let counted = 4 * MemoryEstimate.snapshotFloats(width: 64, height: 48, styleWidth: 48, styleHeight: 56)
            XCTAssertLessThanOrEqual(copied, counted + 16 << 10, "\(optimizer)")
            XCTAssertGreaterThanOrEqual(copied, counted, "\(optimizer)")
        }
    }

    /// Pairs nothing else holds are reused, so a full history allocates nothing more per step; a pair a
    /// snapshot holds is left alone.
    func testPairsAreRecycledUnlessASnapshotHoldsThem() throws {
        let n = 64, history = 2
        let opt = try LBFGS(count: n, history: history)
        var x = [Float](repeating: 0, count: n)
        var seen = Set<ObjectIdentifier>()
        // f = ½‖x − c‖² with varied curvature per component, so every pair passes yᵀs > 0.
        func step() {
            var g = [Float](repeating: 0, count: n)
            for i in 0..<n { g[i] = Float(1 + i % 5) * (x[i] - Float(i % 7)) }
            opt.step(x: &x, grad: &g, count: n, learningRate: 0.1)
            for b in opt.s + opt.y { seen.insert(ObjectIdentifier(b)) }
        }
        for _ in 0..<12 { step() }
        XCTAssertEqual(opt.s.count, history)
        XCTAssertLessThanOrEqual(seen.count, 2 * history + 2, "full history: dropped pairs are reused")

        let held = opt.s + opt.y
        let before = held.map(\.array)
        for _ in 0..<6 { step() }
        for (b, v) in zip(held, before) { XCTAssertEqual(b.array, v, "a held pair is never overwritten") }
        XCTAssertTrue(held.allSatisfy { b in !(opt.s + opt.y + opt.spare).contains { $0 === b } }, "held pairs are not reused")
    }

    /// The word-wise checksum is the same however the stream is cut into appends, and sees every byte.
    func testTheChecksumIgnoresHowTheStreamIsCut() {
        var rng = SplitMix64(seed: 5)
        let bytes = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes.withUnsafeBytes { all in
            let whole = SessionFile.checksum(all, version: 2)
            for cut in [[1000], [1, 999], [7, 9, 984], [3, 3, 3, 991], [8, 8, 984], [999, 1]] {
                var h = SessionFile.FNV1aWords(), at = 0
                for k in cut { h.add(UnsafeRawBufferPointer(rebasing: all[at..<(at + k)])); at += k }
                XCTAssertEqual(h.value, whole, "cut \(cut)")
            }
            XCTAssertNotEqual(SessionFile.checksum(UnsafeRawBufferPointer(rebasing: all[0..<999]), version: 2), whole)
            XCTAssertNotEqual(SessionFile.checksum(all, version: 1), whole)
        }
        var flipped = bytes
        flipped[997] ^= 1
        let a = bytes.withUnsafeBytes { SessionFile.checksum($0, version: 2) }
        let b = flipped.withUnsafeBytes { SessionFile.checksum($0, version: 2) }
        XCTAssertNotEqual(a, b, "a flipped bit in the partial last word changes it")
    }
}
