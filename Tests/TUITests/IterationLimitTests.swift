import Core
import XCTest
@testable import TUI

/// Issue 7 §6: at the iteration limit, space continues for as many iterations again, as the README says.
final class IterationLimitTests: XCTestCase {

    func testSpaceAtTheLimitContinuesForAsManyAgain() {
        let e = FakeEngine()
        e.progress.state = .finished
        e.progress.iteration = 10
        e.progress.settings.iterations = 10
        let app = makeApp(e)
        app.handle(.char(" "))
        XCTAssertEqual(e.progress.settings.iterations, 20, "10 more, as the README says")
        XCTAssertTrue(frame(app).contains("continuing to 20"))
    }

    func testSpaceWhenPausedAtTheLimitResumesAndContinues() {
        let e = FakeEngine()
        e.progress.iteration = 500
        e.progress.settings.iterations = 500
        e.pause()
        let app = makeApp(e)
        app.handle(.char(" "))
        XCTAssertFalse(e.isPaused)
        XCTAssertEqual(e.progress.settings.iterations, 1000)
    }
}
