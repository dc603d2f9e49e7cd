import Core
import XCTest

func tempDir() -> String {
    let d = NSTemporaryDirectory() + "restyle-test-\(getpid())-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

final class SessionTests: XCTestCase {
    func run(_ e: Engine) { e.start(); e.waitUntilFinished(); e.stop() }

    func settings(_ opt: OptimizerKind, iterations: Int) -> Settings {
        var s = Settings()
        s.optimizer = opt; s.iterations = iterations; s.tv = 10; s.beta = 100
        s.learningRate = opt == .adam ? 2 : 1
        return s
    }

    /// N iterations, save, resume for M more == N+M in one go (same losses within 1e-5 relative).
    func checkResume(_ opt: OptimizerKind) throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 40, height: 32, seed: 11)
        let style = Bench.syntheticImage(width: 36, height: 36, seed: 12)
        let (n, m) = (4, 3)
        let whole = try Engine(weights: w, content: content, style: style, settings: settings(opt, iterations: n + m))
        run(whole)
        let part = try Engine(weights: w, content: content, style: style, settings: settings(opt, iterations: n))
        run(part)
        let path = tempDir() + "/s.restyle"
        try part.saveSession(to: path)
        let resumed = try Engine.resume(from: path, weights: w)
        XCTAssertEqual(resumed.latestProgress().iteration, n)
        resumed.update { $0.iterations = n + m }
        run(resumed)
        let a = whole.lossHistory().points, b = resumed.lossHistory().points
        XCTAssertEqual(a.map(\.iteration), Array(0...(n + m)))
        XCTAssertEqual(b.map(\.iteration), a.map(\.iteration), "the resumed history continues the saved one")
        for (p, q) in zip(a, b) {
            assertRelative(q.terms.total, p.terms.total, 1e-5, "\(opt) total@\(p.iteration)")
            assertRelative(q.terms.style, p.terms.style, 1e-5, "\(opt) style@\(p.iteration)")
        }
        XCTAssertLessThan(a.last!.terms.total, a.first!.terms.total, "the loss falls")
    }

    func testResumeAdam() throws { try checkResume(.adam) }
    func testResumeLBFGS() throws { try checkResume(.lbfgs) }

    func testCorruptSessionsAreRefusedAndLeftAlone() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 32, height: 32, seed: 1)
        let e = try Engine(weights: w, content: content, style: content, settings: settings(.lbfgs, iterations: 2))
        run(e)
        let dir = tempDir(), good = dir + "/good.restyle"
        try e.saveSession(to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        var flipped = bytes; flipped[flipped.count / 2] ^= 0x40
        var newer = bytes; newer[8] = 99
        let cases: [(String, Data, String)] = [
            ("truncated", bytes.prefix(bytes.count - 100), "truncated"),
            ("flipped", flipped, "checksum"),
            ("foreign", Data("PNG not a session at all, just some text".utf8), "not a restyle session"),
            ("empty", Data(), "empty file"),
            ("newer", newer, "newer"),
        ]
        for (name, data, expect) in cases {
            let p = dir + "/\(name).restyle"
            try data.write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try Engine.resume(from: p, weights: w), name) { err in
                let msg = "\(err)"
                XCTAssertTrue(msg.hasPrefix(p + ":"), "\(name): message names the file: \(msg)")
                XCTAssertTrue(msg.contains(expect), "\(name): \(msg)")
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), data, "\(name) left untouched")
        }
        XCTAssertThrowsError(try Engine.resume(from: dir + "/missing.restyle", weights: w))
        XCTAssertThrowsError(try Engine.resume(from: dir, weights: w))
    }
}

final class EngineTests: XCTestCase {
    func testPauseStopsTheCounterAndChangesApplyWithAMark() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 32, height: 32, seed: 1)
        let style = Bench.syntheticImage(width: 32, height: 32, seed: 2)
        var s = Settings(); s.iterations = 1000
        let e = try Engine(weights: w, content: content, style: style, settings: s)
        e.start()
        while e.latestProgress().iteration < 3 { usleep(2000) }
        e.pause()
        // An iteration already in flight still finishes: wait until the count is stable for several
        // iteration times (slow under the sanitizers), then it must stay put.
        func settle() -> Int {
            var last = -1
            while true {
                let p = e.latestProgress()
                if p.iteration == last { return last }
                last = p.iteration
                usleep(UInt32(max(300_000, 3_000_000 * p.secondsPerIteration)))
            }
        }
        let frozen = settle()
        usleep(300_000)
        XCTAssertEqual(e.latestProgress().iteration, frozen, "no iterations while paused")
        XCTAssertEqual(e.latestProgress().state, .paused)
        // One step while paused: exactly one more iteration, and still paused.
        e.stepOnce()
        var waited = 0
        while e.latestProgress().iteration == frozen && waited < 30000 { usleep(2000); waited += 1 }
        XCTAssertEqual(settle(), frozen + 1, "stepOnce runs one iteration")
        XCTAssertTrue(e.isPaused)
        let stepped = frozen + 1
        e.update { $0.beta = 1000 }
        e.resume()
        while e.latestProgress().iteration < stepped + 3 { usleep(2000) }
        e.stop()
        let (points, marks) = e.lossHistory()
        XCTAssertEqual(e.latestProgress().settings.beta, 1000)
        XCTAssertTrue(marks.contains(stepped), "a change mark at iteration \(stepped): \(marks)")
        let after = points.first { $0.iteration == stepped + 1 }!
        XCTAssertEqual(after.beta, 1000)
        // The point right after the change is the same image re-evaluated under the new weights.
        let before = points.first { $0.iteration == stepped }!
        assertRelative(after.terms.style, before.terms.style, 1e-6, "same image, same style term")
    }

    func testZeroIterationsEvaluatesTheStartOnly() throws {
        let w = try Golden.requireWeights()
        var s = Settings(); s.iterations = 0
        let e = try Engine(weights: w, content: Golden.a, style: Golden.b, settings: s)
        e.start(); e.waitUntilFinished(); e.stop()
        XCTAssertEqual(e.lossHistory().points.map(\.iteration), [0])
        XCTAssertEqual(e.latestProgress().state, .finished)
    }

    func testTooSmallImageIsAClearError() throws {
        let w = try Golden.requireWeights()
        let tiny = Bench.syntheticImage(width: 12, height: 40, seed: 1)
        XCTAssertThrowsError(try Engine(weights: w, content: tiny, style: Golden.b, settings: Settings())) { err in
            XCTAssertTrue("\(err)".contains("too small for layer relu5_1"), "\(err)")
        }
    }

    func testRandomInitIsSeeded() {
        let a = Optimization.startImage(.random, content: Golden.a, seed: 5), b = Optimization.startImage(.random, content: Golden.a, seed: 5)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, Optimization.startImage(.random, content: Golden.a, seed: 6))
        XCTAssertTrue(a.pixels.allSatisfy { $0 >= 0 && $0 <= 255 })
    }
}
