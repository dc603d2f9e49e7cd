@testable import Core
import XCTest

/// Issue 9 §4: coarse-to-fine stages (`--scales`, `--scale-step`, `--scale-iterations`).
final class ScaleScheduleTests: XCTestCase {

    // MARK: stage sizes and schedules (no network)

    func testStageSidesForDoublingRootTwoAndOddSizes() {
        XCTAssertEqual(ScaleSchedule.sides(final: 1024, scales: 3, step: 2), [256, 512, 1024])
        XCTAssertEqual(ScaleSchedule.sides(final: 512, scales: 2, step: 2), [256, 512])
        // √2 steps: 1024/2.0 rounds to 512 and 1024/1.414 to 724.
        XCTAssertEqual(ScaleSchedule.sides(final: 1024, scales: 3, step: 1.414), [512, 724, 1024])
        XCTAssertEqual(ScaleSchedule.sides(final: 333, scales: 3, step: 2), [83, 167, 333])
        XCTAssertEqual(ScaleSchedule.sides(final: 300, scales: 1, step: 2), [300])
    }

    func testGeometryScalesContentAndStylesAlikeAndTheLastStageIsTheFinalRun() throws {
        var s = Settings()
        s.scales = 3; s.iterations = 100
        let sched = try ScaleSchedule.make(settings: s, width: 333, height: 250, styleSize: nil, styleSizes: [(333, 222), (200, 333)])
        XCTAssertEqual(sched.sides, [83, 167, 333])
        let g0 = sched.geometry(stage: 0, width: 333, height: 250, styleSizes: [(333, 222), (200, 333)], settings: s)
        XCTAssertEqual(g0.content.width, 83); XCTAssertEqual(g0.content.height, 62)
        XCTAssertEqual(g0.styles.map(\.width), [83, 50]); XCTAssertEqual(g0.styles.map(\.height), [55, 83])
        let g2 = sched.geometry(stage: 2, width: 333, height: 250, styleSizes: [(333, 222), (200, 333)], settings: s)
        XCTAssertEqual(g2.content.width, 333); XCTAssertEqual(g2.content.height, 250)
        XCTAssertEqual(g2.styles.map(\.width), [333, 200]); XCTAssertEqual(g2.styles.map(\.height), [222, 333])
        // Style scale and an absolute style size shrink with the content: half the content's side at every stage.
        s.styleScale = 0.5
        let half = try ScaleSchedule.make(settings: s, width: 400, height: 400, styleSize: nil, styleSizes: [(200, 200)])
        XCTAssertEqual((0..<3).map { half.geometry(stage: $0, width: 400, height: 400, styleSizes: [(200, 200)], settings: s).styles[0].width },
                       [50, 100, 200])
        s.styleScale = 1
        let abs = try ScaleSchedule.make(settings: s, width: 400, height: 400, styleSize: 300, styleSizes: [(300, 300)])
        XCTAssertEqual((0..<3).map { abs.geometry(stage: $0, width: 400, height: 400, styleSizes: [(300, 300)], settings: s).styles[0].width },
                       [75, 150, 300])
    }

    func testAStageBelowTheNetworksMinimumIsRefusedClearly() throws {
        var s = Settings()
        s.iterations = 100
        // relu5_1 sits behind four poolings: 16 pixels a side at least.
        s.scales = 3
        XCTAssertNoThrow(try ScaleSchedule.make(settings: s, width: 64, height: 64, styleSize: nil, styleSizes: [(64, 64)]))
        s.scales = 4
        XCTAssertThrowsError(try ScaleSchedule.make(settings: s, width: 64, height: 64, styleSize: nil, styleSizes: [(64, 64)])) {
            XCTAssertTrue("\($0)".contains("stage 1") && "\($0)".contains("8×8") && "\($0)".contains("relu5_1"), "\($0)")
        }
        // Elongated: the short side is what counts.
        s.scales = 2
        XCTAssertThrowsError(try ScaleSchedule.make(settings: s, width: 64, height: 20, styleSize: nil, styleSizes: [(64, 64)])) {
            XCTAssertTrue("\($0)".contains("content 32×10"), "\($0)")
        }
        // With shallower layers, smaller stages are fine.
        s.scales = 4; s.contentLayers = ["relu1_1"]; s.styleLayers = ["relu2_1"]
        XCTAssertNoThrow(try ScaleSchedule.make(settings: s, width: 128, height: 128, styleSize: nil, styleSizes: [(128, 128)]))
        // Steps so small that two stages round to the same size.
        s.scales = 8; s.scaleStep = 1.1
        XCTAssertThrowsError(try ScaleSchedule.make(settings: s, width: 20, height: 20, styleSize: nil, styleSizes: [(20, 20)]))
    }

    func testDefaultScheduleAndStageEnds() throws {
        XCTAssertEqual(ScaleSchedule.iterationsPerStage(total: 300, scales: 2, given: []), [225, 75])
        XCTAssertEqual(ScaleSchedule.iterationsPerStage(total: 500, scales: 3, given: []), [188, 187, 125])
        XCTAssertEqual(ScaleSchedule.iterationsPerStage(total: 500, scales: 1, given: []), [500])
        XCTAssertEqual(ScaleSchedule.iterationsPerStage(total: 10, scales: 2, given: [7, 3]), [7, 3])
        var s = Settings()
        s.scales = 3; s.iterations = 500
        XCTAssertEqual(try ScaleSchedule.make(settings: s, width: 256, height: 256, styleSize: nil, styleSizes: [(256, 256)]).ends, [188, 375])
        s.scaleIterations = [50, 30, 20]; s.iterations = 100
        XCTAssertEqual(try ScaleSchedule.make(settings: s, width: 256, height: 256, styleSize: nil, styleSizes: [(256, 256)]).ends, [50, 80])
        // Fewer iterations than stages would leave a stage empty.
        s.scaleIterations = []; s.iterations = 2
        XCTAssertThrowsError(try ScaleSchedule.make(settings: s, width: 256, height: 256, styleSize: nil, styleSizes: [(256, 256)]))
    }

    func testScheduleParsingRejectsGarbage() throws {
        XCTAssertEqual(try ScaleSchedule.parseIterations("200, 100"), [200, 100])
        for bad in ["", ",", "a", "1,,2", "-1", "0", "1e3", "1.5", "3,2,1,1,1,1,1,1,1", "99999999999999999999", "1\u{0}2", "100000001"] {
            XCTAssertThrowsError(try ScaleSchedule.parseIterations(bad), "'\(bad)'")
        }
        var s = Settings()
        for (scales, step, its) in [(0, 2.0, [Int]()), (9, 2, []), (2, 1.0, []), (2, .nan, []), (2, 5, []), (2, 2, [1]), (2, 2, [0, 5]),
                                    (2, 2, [Limits.maxIterations, 1])] {
            s.scales = scales; s.scaleStep = step; s.scaleIterations = its
            XCTAssertThrowsError(try s.validate(), "\(scales) \(step) \(its)")
        }
    }

    func testSettingsRecordTheScalesAndOldSettingsGetDefaults() throws {
        var s = Settings()
        s.scales = 3; s.scaleStep = 1.414; s.scaleIterations = [10, 5, 2]
        let kv = Dictionary(uniqueKeysWithValues: s.keyValues)
        XCTAssertEqual(kv["scales"], "3"); XCTAssertEqual(kv["scale-step"], "1.414"); XCTAssertEqual(kv["scale-iterations"], "10,5,2")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: Settings().keyValues)["scale-iterations"], "default")
        let again = try Settings.decode(json: try JSONEncoder().encode(s))
        XCTAssertEqual(again.settings, s); XCTAssertEqual(again.unknownKeys, [])
        let old = try Settings.decode(json: Data(#"{"beta":250}"#.utf8)).settings
        XCTAssertEqual(old.scales, 1); XCTAssertEqual(old.scaleStep, 2); XCTAssertEqual(old.scaleIterations, [])
        // The batch hash sees them.
        var job = BatchJob(content: "c.png", style: "s.png", output: "o.png", size: 64, settings: Settings())
        let before = job.settingsHash
        job.settings.scales = 2
        XCTAssertNotEqual(job.settingsHash, before)
    }

    func testAStoredScheduleIsCheckedAsHostileInput() throws {
        let r = BinaryReader(Data(), source: "test")
        let content = RGBImage(width: 32, height: 24, pixels: [Float](repeating: 100, count: 3 * 32 * 24))
        let final = RGBImage(width: 64, height: 48, pixels: [Float](repeating: 100, count: 3 * 64 * 48))
        let style = RGBImage(width: 64, height: 64, pixels: [Float](repeating: 100, count: 3 * 64 * 64))
        let source = StageSource(content: final, styles: [style], alpha: nil)
        var s = Settings()
        s.scales = 2
        let good = ScaleSchedule(sides: [32, 64], ends: [5], stage: 0, styleSize: nil)
        XCTAssertEqual(try SessionState.schedule(good, content: content, source: source, settings: s, reader: r), good)
        XCTAssertEqual(try SessionState.schedule(nil, content: content, source: nil, settings: s, reader: r), .single(side: 32))
        let bad: [(ScaleSchedule?, StageSource?)] = [
            (nil, source),                                                                       // images without a schedule
            (good, nil),                                                                         // an early stage without its images
            (ScaleSchedule(sides: [32, 64], ends: [5], stage: 1, styleSize: nil), source),       // last stage with images
            (ScaleSchedule(sides: [32, 64], ends: [], stage: 0, styleSize: nil), source),        // ends count
            (ScaleSchedule(sides: [32, 64], ends: [5], stage: 2, styleSize: nil), source),       // stage out of range
            (ScaleSchedule(sides: [32, 64], ends: [5], stage: -1, styleSize: nil), source),
            (ScaleSchedule(sides: Array(repeating: 64, count: 9), ends: Array(repeating: 1, count: 8), stage: 0, styleSize: nil), source),
            (ScaleSchedule(sides: [64, 64], ends: [5], stage: 0, styleSize: nil), source),       // not increasing
            (ScaleSchedule(sides: [32, 48], ends: [5], stage: 0, styleSize: nil), source),       // final side is not the images'
            (ScaleSchedule(sides: [8, 64], ends: [5], stage: 0, styleSize: nil), source),        // below the limits
            (ScaleSchedule(sides: [32, 64], ends: [-3], stage: 0, styleSize: nil), source),      // negative end
            (ScaleSchedule(sides: [32, 64], ends: [5], stage: 0, styleSize: 1 << 40), source),   // absurd style size
            (ScaleSchedule(sides: [40, 64], ends: [5], stage: 0, styleSize: nil), source),       // content not at the stage's size
        ]
        for (k, (sched, src)) in bad.enumerated() {
            XCTAssertThrowsError(try SessionState.schedule(sched, content: content, source: src, settings: s, reader: r), "case \(k)")
        }
    }

    // MARK: runs (real weights)

    func settings(iterations: Int) -> Settings {
        var s = Settings()
        s.iterations = iterations; s.tv = 10; s.beta = 100; s.scales = 2
        s.scaleIterations = [4, iterations - 4]
        return s
    }

    func finish(_ o: Optimization) {
        while !o.isFinished {
            if case .failed(let m) = o.iterate() { XCTFail(m); return }
        }
    }

    func testARunGoesThroughItsStagesAndEndsAtTheFinalSize() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 64, height: 48, seed: 21)
        let style = Bench.syntheticImage(width: 64, height: 64, seed: 22)
        let o = try Optimization(weights: w, content: content, styles: [style], settings: settings(iterations: 7))
        XCTAssertEqual(o.width, 32); XCTAssertEqual(o.height, 24)
        XCTAssertEqual(o.styleImages[0].width, 32)
        XCTAssertEqual(o.schedule.ends, [4])
        var sizes: [Int] = []
        while !o.isFinished { o.iterate(); sizes.append(o.width) }
        XCTAssertEqual(sizes, [32, 32, 32, 32, 32, 64, 64, 64], "iterations 0…4 at 32, the re-evaluation at 64 is iteration 5")
        XCTAssertEqual(o.schedule.stage, 1)
        XCTAssertEqual(o.marks, [4], "the stage change is marked on the chart, as an upscale is")
        XCTAssertEqual(o.history.map(\.iteration), Array(0...7))
        // The last stage is the single-scale run's objective: the same images at the same size.
        XCTAssertEqual(o.contentImage, content)
        XCTAssertEqual(o.styleImages, [style])
        var plain = settings(iterations: 7)
        plain.scales = 1; plain.scaleIterations = []
        // Re-evaluating the coarse-to-fine result under the single-scale objective gives its final loss.
        let obj = try Optimization.makeObjective(weights: w, content: content, styles: [style], settings: plain, convPolicy: .fromEnvironment)
        let again = o.variable.pixels.withUnsafeBufferPointer { obj.evaluate($0.baseAddress!, grad: nil) }
        assertRelative(again.total, o.terms.total, 1e-6, "final loss under the single-scale objective")
    }

    func testUpscaleKeyTakesTheNextStageEarly() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 64, height: 48, seed: 21)
        let o = try Optimization(weights: w, content: content, styles: [content], settings: settings(iterations: 20))
        o.iterate(); o.iterate()
        XCTAssertEqual(o.upscale(), "scale 2/2 · 64×48")
        XCTAssertEqual(o.width, 64)
        o.iterate()
        XCTAssertEqual(o.iteration, 2, "the new stage begins with its re-evaluation")
        XCTAssertTrue(o.schedule.isLastStage)
        // Past the last stage `u` doubles, as without a schedule.
        XCTAssertEqual(o.upscale(), "upscaled to 128×96")
    }

    /// Saved in the first stage (and at its very end), resumed, continued across the boundary: the same
    /// losses and image as a run never interrupted.
    func testResumeAcrossAStageBoundaryIsTheSameRun() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 64, height: 48, seed: 31)
        let style = Bench.syntheticImage(width: 48, height: 64, seed: 32)
        let n = 8
        let whole = try Optimization(weights: w, content: content, styles: [style], settings: settings(iterations: n))
        finish(whole)
        for stop in [2, 4] {
            let part = try Optimization(weights: w, content: content, styles: [style], settings: settings(iterations: n))
            while part.iteration < stop || !part.evaluated { part.iterate() }
            let path = tempDir() + "/c2f.session"
            try part.writeSession(to: path)
            let (resumed, notes) = try Optimization.resume(from: path, weights: w)
            XCTAssertEqual(notes, [])
            XCTAssertEqual(resumed.schedule, part.schedule)
            XCTAssertEqual(resumed.width, 32)
            finish(resumed)
            XCTAssertEqual(resumed.width, 64)
            XCTAssertEqual(resumed.history.map(\.iteration), whole.history.map(\.iteration))
            for (p, q) in zip(whole.history, resumed.history) {
                assertRelative(q.terms.total, p.terms.total, 1e-5, "saved at \(stop): total@\(p.iteration)")
            }
            let a = whole.variable.pixels, b = resumed.variable.pixels
            let maxDiff = zip(a, b).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(maxDiff, 1e-2, "saved at \(stop): image")
            // Saved again in the last stage, the session holds no stage images and still loads.
            let later = tempDir() + "/c2f-last.session"
            try resumed.writeSession(to: later)
            XCTAssertTrue(try Optimization.resume(from: later, weights: w).0.schedule.isLastStage)
        }
    }

    /// The TUI's engine goes through the stages too, and publishes which one runs.
    func testTheEngineRunsTheScheduleAndPublishesTheStage() throws {
        let w = try Golden.requireWeights()
        let content = Bench.syntheticImage(width: 64, height: 48, seed: 41)
        let e = Engine(try Optimization(weights: w, content: content, styles: [content], settings: settings(iterations: 6)))
        XCTAssertEqual(e.latestProgress().scaleLabel, "scale 1/2 · 32×24")
        e.start(); e.waitUntilFinished(); e.stop()
        let p = e.latestProgress()
        XCTAssertEqual(p.iteration, 6)
        XCTAssertEqual(p.scaleStage, 1); XCTAssertEqual(p.scaleCount, 2)
        XCTAssertEqual(p.scaleLabel, "scale 2/2 · 64×48")
        XCTAssertEqual(p.message, "scale 2/2 · 64×48", "the stage change is said in the status bar")
        XCTAssertEqual(e.contentImage, content)
        XCTAssertNil(EngineProgress().scaleLabel, "one stage: nothing to say")
    }

    func testAVersion1SessionLoadsWithOneStage() throws {
        let w = try Golden.requireWeights()
        let (o, _) = try Optimization.resume(from: SessionCompatibilityTests.fixture("session-v1.session"), weights: w)
        XCTAssertEqual(o.schedule, .single(side: 20))
        XCTAssertEqual(o.settings.scales, 1)
    }
}
