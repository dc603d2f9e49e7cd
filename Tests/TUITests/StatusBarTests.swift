import Core
import XCTest
@testable import TUI

/// Issue 7 §6: timing and memory in the status bar mean what they say.
final class StatusBarTests: XCTestCase {

    func testStatusShowsETAAndTheRateStartsAfreshAfterUpscaleAndRestart() {
        let e = FakeEngine()
        e.progress.settings.iterations = 500
        e.progress.secondsPerIteration = 9.99 // the engine's own median, stale after an upscale
        let app = makeApp(e)
        func at(_ it: Int, _ elapsed: Double) -> String {
            e.progress.iteration = it; e.progress.elapsed = elapsed
            return statusRow(app)
        }
        _ = at(10, 5)
        var s = at(20, 10)
        XCTAssertTrue(s.contains("0.50 s/it"), s)
        XCTAssertTrue(s.contains("ETA 04:00"), "480 iterations at 0.5 s: \(s)")
        // Upscale: the figure starts again from the new size's iterations only.
        app.handle(.char("u"))
        e.progress.width = 64; e.progress.height = 48
        s = at(21, 14)
        XCTAssertTrue(s.contains("– s/it"), "no figure until the new size has timed an iteration: \(s)")
        s = at(23, 22)
        XCTAssertTrue(s.contains("4.00 s/it"), s)
        XCTAssertTrue(s.contains("ETA 31:48"), "477 × 4 s: \(s)")
        // Restart: again from scratch.
        app.handle(.char("r")); app.handle(.char("y"))
        s = at(24, 23)
        XCTAssertTrue(s.contains("– s/it"), s)
        s = at(26, 24)
        XCTAssertTrue(s.contains("0.50 s/it"), s)
        // Done: no ETA.
        e.progress.state = .finished
        s = at(500, 300)
        XCTAssertFalse(s.contains("ETA"), s)
    }

    // MARK: coarse-to-fine

    /// Issue 9 §4: the stage and its size in place of the bare size; `u` still asks the engine (which
    /// takes the next stage early).
    func testStatusShowsTheScaleStageAndUStillUpscales() {
        let e = FakeEngine()
        let app = makeApp(e)
        XCTAssertFalse(statusRow(app).contains("scale"), "a single-size run says nothing of scales")
        XCTAssertTrue(statusRow(app).contains("32×24"))
        e.progress.scaleCount = 3; e.progress.scaleStage = 1
        e.progress.width = 512; e.progress.height = 512
        let s = statusRow(app)
        XCTAssertTrue(s.contains("scale 2/3 · 512²"), s)
        e.progress.width = 512; e.progress.height = 384
        XCTAssertTrue(statusRow(app).contains("scale 2/3 · 512×384"), statusRow(app))
        // Narrow: it gives way before the iteration count does.
        let narrow = statusRow(app, 80, 24)
        XCTAssertTrue(narrow.contains("it 12/"), narrow)
        app.handle(.char("u"))
        XCTAssertEqual(e.upscales, 1)
    }

    // MARK: memory

    func testMemShowsCurrentRSSAndHelpTheSessionPeak() {
        let e = FakeEngine()
        e.memory = 200 << 20
        let app = makeApp(e)
        let s = statusRow(app)
        XCTAssertTrue(s.contains("mem 200 MB"), s)
        app.handle(.char("?"))
        let help = frame(app, 120, 50)
        XCTAssertTrue(help.contains("200 MB now, peak 300 MB"), help.text)
    }

    /// The pre-flight estimate of the run's peak stands beside the resident memory, and only when known.
    func testMemShowsThePreFlightEstimate() {
        let e = FakeEngine()
        e.memory = 200 << 20
        e.progress.estimatedMemory = 1_503_238_554  // 1.4 GB
        let app = makeApp(e)
        XCTAssertTrue(statusRow(app).contains("mem 200 MB / ≈1.4 GB"), statusRow(app))
        e.progress.estimatedMemory = 0
        let s = statusRow(app)
        XCTAssertTrue(s.contains("mem 200 MB"), s)
        XCTAssertFalse(s.contains("≈"), s)
    }
}
