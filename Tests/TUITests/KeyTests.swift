import Core
import Synchronization
import XCTest
@testable import TUI

final class KeyTests: XCTestCase {
    func sliderRow(_ g: CellGrid, _ label: String) -> String {
        (0..<g.height).map { g.row($0) }.first { $0.contains(label) } ?? ""
    }

    func testRightOnBetaUpdatesEngineAndScreen() {
        let e = FakeEngine()
        let app = makeApp(e)
        XCTAssertTrue(sliderRow(frame(app), "β style").contains("10.0"))
        app.handle(.down)
        XCTAssertEqual(app.selected, .beta)
        app.handle(.right)
        XCTAssertEqual(e.updates, 1)
        let expected = 10 * pow(10, 1.0 / 8)
        XCTAssertEqual(e.progress.settings.beta, expected, accuracy: 1e-9)
        let row = sliderRow(frame(app), "β style")
        XCTAssertTrue(row.contains("13.3"), row)
        XCTAssertTrue(row.contains("▸"), "selected marker: \(row)")
        // α/β ratio follows.
        XCTAssertTrue(frame(app).contains("α/β = 0.0750"), frame(app).text)
        // Shift-left: half a decade down.
        app.handle(.shiftLeft)
        XCTAssertEqual(e.progress.settings.beta, expected / pow(10, 0.5), accuracy: 1e-9)
        XCTAssertEqual(e.updates, 2)
    }

    func testSelectionWrapsAndVimKeys() {
        let app = makeApp(FakeEngine())
        app.handle(.up); XCTAssertEqual(app.selected, .styleScale)
        app.handle(.char("j")); XCTAssertEqual(app.selected, .alpha)
        app.handle(.tab); XCTAssertEqual(app.selected, .beta)
        app.handle(.char("k")); XCTAssertEqual(app.selected, .alpha)
        app.handle(.char("l"))
        XCTAssertEqual(app.settings.alpha, pow(10, 1.0 / 8), accuracy: 1e-9)
        app.handle(.char("H"))
        XCTAssertEqual(app.settings.alpha, pow(10, 1.0 / 8 - 0.5), accuracy: 1e-9)
    }

    func testSpaceTogglesPause() {
        let e = FakeEngine()
        let app = makeApp(e)
        app.handle(.char(" "))
        XCTAssertTrue(e.isPaused)
        XCTAssertTrue(frame(app).contains("paused"))
        app.handle(.char(" "))
        XCTAssertFalse(e.isPaused)
    }

    func testSpaceAtTheLimitContinues() {
        let e = FakeEngine()
        e.progress.state = .finished
        e.progress.settings.iterations = 500
        let app = makeApp(e)
        app.handle(.char(" "))
        XCTAssertFalse(e.isPaused)
        XCTAssertEqual(e.progress.settings.iterations, 1000)
        XCTAssertTrue(frame(app).contains("continuing to 1000"))
    }

    func testQuitAndCtrlC() {
        let a = makeApp(FakeEngine()); XCTAssertFalse(a.quitRequested)
        a.handle(.char("q")); XCTAssertTrue(a.quitRequested)
        let b = makeApp(FakeEngine()); b.handle(.ctrlC); XCTAssertTrue(b.quitRequested)
    }

    func testInlineEditor() {
        let e = FakeEngine()
        let app = makeApp(e)
        app.handle(.char("j"))
        app.handle(.char("="))
        for c in "abc" { app.handle(.char(c)) }
        XCTAssertTrue(sliderRow(frame(app), "β style").contains("=abc"))
        app.handle(.enter)
        XCTAssertEqual(e.updates, 0, "refused input changes nothing")
        XCTAssertEqual(app.settings.beta, 10)
        XCTAssertNotNil(app.editor)
        XCTAssertTrue(frame(app).contains("not a number"))
        for _ in 0..<3 { app.handle(.backspace) }
        for c in "2.5e3" { app.handle(.char(c)) }
        app.handle(.enter)
        XCTAssertNil(app.editor)
        XCTAssertEqual(e.progress.settings.beta, 2500)
        XCTAssertTrue(sliderRow(frame(app), "β style").contains("2500"))
        // Esc cancels without a change.
        app.handle(.char("=")); app.handle(.char("7")); app.handle(.escape)
        XCTAssertNil(app.editor); XCTAssertEqual(e.progress.settings.beta, 2500)
        // q inside the editor is text, not quit.
        app.handle(.char("=")); app.handle(.char("q"))
        XCTAssertFalse(app.quitRequested)
        app.handle(.escape)
    }

    func testRestartAsksFirst() {
        let e = FakeEngine()
        let app = makeApp(e)
        app.handle(.char("r"))
        XCTAssertTrue(frame(app).contains("Restart from the init image?"))
        app.handle(.char("n"))
        XCTAssertEqual(e.restarts, 0)
        app.handle(.char("r")); app.handle(.char("y"))
        XCTAssertEqual(e.restarts, 1)
    }

    func testOptimizerViewHelpUpscale() {
        let e = FakeEngine()
        let app = makeApp(e)
        app.handle(.char("o"))
        XCTAssertEqual(e.progress.settings.optimizer, .adam)
        app.handle(.char("o"))
        XCTAssertEqual(e.progress.settings.optimizer, .lbfgs)
        app.handle(.char("2")); XCTAssertEqual(app.source, .content)
        XCTAssertTrue(frame(app).contains("1 2 3 · content"))
        app.handle(.char("v")); XCTAssertEqual(app.source, .style)
        app.handle(.char("1")); XCTAssertEqual(app.source, .result)
        app.handle(.char("?"))
        let help = frame(app)
        for (k, _) in OverlayWidget.helpLines { XCTAssertTrue(help.contains(k), "help lists \(k)") }
        // In the smallest layout it scrolls (HonestScreenTests); the first page starts with the keys.
        XCTAssertTrue(frame(app, 60, 18).contains("pause / resume"))
        app.handle(.char("x")); XCTAssertFalse(app.showHelp)
        app.handle(.char("u"))
        XCTAssertEqual(e.upscales, 1)
        XCTAssertTrue(frame(app).contains("upscale requested"))
    }

    func testSnapshotWritesPNGThenSession() throws {
        let e = FakeEngine()
        let app = makeApp(e)
        let dir = NSTemporaryDirectory() + "restyle-tui-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        app.config.outDir = dir
        app.config.contentStem = "cat"; app.config.styleStem = "wave"
        let paths = Mutex<[String]>([])
        app.writePNG = { _, _, path, text in
            paths.withLock { $0.append(path) }
            XCTAssertTrue(text.contains { $0.0 == "beta" })
            _ = FileManager.default.createFile(atPath: path, contents: Data())
        }
        app.handle(.char("s")); app.handle(.char("s"))
        XCTAssertEqual(paths.withLock { $0 }, [dir + "/cat-x-wave-i12.png", dir + "/cat-x-wave-i12-2.png"])
        XCTAssertEqual(e.savedSessions, [dir + "/cat-x-wave.session", dir + "/cat-x-wave.session"])
        XCTAssertTrue(frame(app).contains("snapshot saved to"))
    }

    func testPreviewDrawsChafaCells() {
        let e = FakeEngine()
        // Left half red, right half blue.
        var img = RGBImage(width: 32, height: 24)
        for y in 0..<24 { for x in 0..<32 { if x < 16 { img[0, y, x] = 255 } else { img[2, y, x] = 255 } } }
        e.image = img
        let app = makeApp(e, colorMode: .truecolor)
        let g = frame(app)
        let l = ScreenLayout.compute(width: 120, height: 40)
        let r = l.preview.inner
        var reds = 0, blues = 0
        for y in r.y..<r.maxY { for x in r.x..<r.maxX {
            let s = g.style(x, y)!
            for c in [s.fg, s.bg] {
                if let v = c.rgbValue { if v >> 16 > 200 && v & 0xFF < 50 { reds += 1 }; if v & 0xFF > 200 && v >> 16 < 50 { blues += 1 } }
            }
        } }
        XCTAssertGreaterThan(reds, 50); XCTAssertGreaterThan(blues, 50)
    }

    func testPreviewKeepsAspect() {
        // 256×128 image into 80×40 cells with 1:2 cells: 80 columns, 20 rows.
        let f = PreviewRenderer.fit(imageW: 256, imageH: 128, maxCols: 80, maxRows: 40, cellW: 1, cellH: 2)
        XCTAssertEqual(f.cols, 80); XCTAssertEqual(f.rows, 20)
        let tall = PreviewRenderer.fit(imageW: 100, imageH: 200, maxCols: 80, maxRows: 40, cellW: 8, cellH: 16)
        XCTAssertEqual(tall.rows, 40); XCTAssertEqual(tall.cols, 40)
    }
}
