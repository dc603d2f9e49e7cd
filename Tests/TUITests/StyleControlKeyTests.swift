import Core
import XCTest
@testable import TUI

/// Issue 9 on the in-memory grid: a slider per style weight under β, `c` cycling the colour mode, `v`
/// cycling through the styles, the style-scale slider.
final class StyleControlKeyTests: XCTestCase {
    func twoStyles() -> (App, FakeEngine) {
        let e = FakeEngine()
        e.progress.settings.styleBlend = [0.5, 0.5]
        let app = makeApp(e)
        app.config.styleStem = "starry+scream"
        return (app, e)
    }

    func sliderPanel(_ app: App, _ w: Int = 120, _ h: Int = 40) -> [String] {
        let l = app.layout(width: w, height: h)
        let g = frame(app, w, h)
        return (l.sliders.y..<l.sliders.maxY).map { String(g.row($0).unicodeScalars.dropFirst(l.sliders.x).prefix(l.sliders.w)) }
    }

    func testOneSliderPerStyleWeightBelowBeta() {
        let (app, e) = twoStyles()
        XCTAssertEqual(app.sliderKinds, [.alpha, .beta, .blend(0), .blend(1), .tv, .lr, .styleScale])
        let panel = sliderPanel(app)
        let rows = panel.map { $0.trimmingCharacters(in: .whitespaces) }
        let beta = rows.firstIndex { $0.contains("β style") }!
        XCTAssertTrue(rows[beta + 1].contains("w starry") && rows[beta + 1].contains("0.500"), rows.joined(separator: "\n"))
        XCTAssertTrue(rows[beta + 2].contains("w scream"), rows.joined(separator: "\n"))
        XCTAssertTrue(panel.contains { $0.contains("blend 50%:50%") }, panel.joined(separator: "\n"))
        // ↓ twice from α reaches the first weight; → raises it by a notch, as a change for the engine.
        app.handle(.down); app.handle(.down)
        XCTAssertEqual(app.selected, .blend(0))
        app.handle(.right)
        XCTAssertEqual(e.progress.settings.styleBlend[0], 0.5 * pow(10, 1.0 / 8), accuracy: 1e-9)
        XCTAssertEqual(e.progress.settings.styleBlend[1], 0.5)
        XCTAssertEqual(e.updates, 1)
        XCTAssertTrue(sliderPanel(app).contains { $0.contains("blend 57%:43%") }, sliderPanel(app).joined(separator: "\n"))
        // Every slider still fits and shows in the compact layout.
        let small = sliderPanel(app, 60, 18).joined(separator: "\n")
        XCTAssertTrue(small.contains("w starry") && small.contains("st. scale"), small)
    }

    func testOneStyleHasNoBlendSlider() {
        let app = makeApp(FakeEngine())
        XCTAssertFalse(app.sliderKinds.contains(.blend(0)))
        XCTAssertFalse(frame(app).contains("w style"))
    }

    func testCCyclesTheColourModeLive() {
        let (app, e) = twoStyles()
        var seen: [ColorPreservation] = []
        for _ in 0..<3 {
            app.handle(.char("c"))
            seen.append(e.progress.settings.colors)
            let mode = e.progress.settings.colors
            XCTAssertEqual(frame(app).contains("result 32×24 · colors \(mode.rawValue)"), mode != .style, frame(app).text)
        }
        XCTAssertEqual(seen, [.luminance, .match, .style])
        XCTAssertEqual(e.updates, 3)
    }

    func testVCyclesThroughTheStyles() {
        let (app, _) = twoStyles()
        var titles: [String] = []
        for _ in 0..<5 {
            app.handle(.char("v"))
            titles.append(app.previewTitle(progress: app.engine.latestProgress()))
        }
        XCTAssertEqual(titles, ["content", "style 1/2 starry", "style 2/2 scream", "result 32×24", "content"])
        XCTAssertTrue(frame(app).contains("content"))
    }

    func testStyleScaleSliderIsLogAndClamped() {
        let (app, e) = twoStyles()
        app.selected = .styleScale
        app.handle(.right)
        XCTAssertEqual(e.progress.settings.styleScale, pow(10, 1.0 / 8), accuracy: 1e-9)
        for _ in 0..<10 { app.handle(.shiftRight) }
        XCTAssertEqual(e.progress.settings.styleScale, 4)
        for _ in 0..<10 { app.handle(.shiftLeft) }
        XCTAssertEqual(e.progress.settings.styleScale, 0.25)
        XCTAssertTrue(frame(app).contains("lower: bigger brush strokes"))
    }

    func testTheNewKeysDoNotClashAndAreListed() {
        let help = OverlayWidget.helpLines.map(\.0)
        XCTAssertTrue(help.contains("c"))
        XCTAssertEqual(StatusWidget.hintKeys.filter { $0.key == "c" }.count, 1)
    }

    func testPCyclesPresetsLiveAndPassesOverABrokenOne() throws {
        let (app, e) = twoStyles()
        let dir = NSTemporaryDirectory() + "tui-presets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "beta = oops\n".write(toFile: dir + "/broken.preset", atomically: true, encoding: .utf8)
        try "tv = 2\n".write(toFile: dir + "/zest.preset", atomically: true, encoding: .utf8)
        app.config.presetDirs = [dir]
        var seen: [String?] = []
        for _ in 0..<7 {
            app.handle(.char("p"))
            seen.append(e.progress.settings.preset)
            // The screen's copy and the engine's agree after every press.
            XCTAssertEqual(app.settings, e.progress.settings)
        }
        XCTAssertEqual(seen, ["classic", "strong", "soft", "colour-keep", "colour-keep", "zest", "classic"])
        XCTAssertEqual(e.updates, 6)
        // The blend weights are the run's, not the preset's.
        XCTAssertEqual(e.progress.settings.styleBlend, [0.5, 0.5])
        app.handle(.char("p"))
        XCTAssertEqual(e.progress.settings.beta, 100)
        XCTAssertEqual(e.progress.settings.styleScale, 0.75)
        XCTAssertTrue(frame(app).contains("preset strong: beta 100, style-scale 0.75"), frame(app).text)
        XCTAssertTrue(OverlayWidget.helpLines.contains { $0.0 == "p" })
    }
}
