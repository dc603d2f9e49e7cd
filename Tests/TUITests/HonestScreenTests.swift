import Core
import XCTest
@testable import TUI

/// Issue 7 §6: a screen that tells the truth and can be found out from itself — the keys that matter
/// always listed, the sliders explained in words, timing and memory that mean what they say, a chart
/// that one bad iteration cannot ruin.
final class HonestScreenTests: XCTestCase {
    /// What each slider does, in words: the short line under the sliders and the help line.
    static let under: [SliderKind: String] = [.alpha: "higher: more like the photo", .beta: "higher: more of the style",
                                              .tv: "higher: smoother picture", .lr: "higher: faster, less stable",
                                              .styleScale: "lower: bigger brush strokes"]
    static let help: [SliderKind: String] = [.alpha: "higher keeps more of the photo's shapes",
                                             .beta: "higher paints more of the style image",
                                             .tv: "higher smooths out grain and speckle",
                                             .lr: "higher: bigger steps, faster, jumpier",
                                             .styleScale: "style size vs picture; lower: bigger"]

    // MARK: hint line

    func testHelpAndQuitAreAlwaysOnTheHintLine() {
        let app = makeApp(FakeEngine())
        for w in 100...140 {
            let g = frame(app, w, 30)
            let hint = g.row(29)
            XCTAssertTrue(hint.contains("? help"), "\(w) columns: \(hint)")
            XCTAssertTrue(hint.contains("q quit"), "\(w) columns: \(hint)")
            // The most important hints go last: pausing and changing a value are there at 100 columns.
            XCTAssertTrue(hint.contains("space pause") && hint.contains("←→ change"), "\(w) columns: \(hint)")
        }
        // Wide enough, everything is listed, in the usual order.
        let wide = frame(app, 160, 30).row(29)
        XCTAssertTrue(wide.contains("t theme"), wide)
        XCTAssertLessThan(wide.range(of: "space")!.lowerBound, wide.range(of: "q quit")!.lowerBound)
    }

    func testCompactStatusBarNamesHelpAndQuit() {
        let app = makeApp(FakeEngine())
        for (w, h) in [(80, 24), (60, 18), (99, 29)] {
            let s = statusRow(app, w, h)
            XCTAssertTrue(s.contains("? help") && s.contains("q quit"), "\(w)×\(h): \(s)")
        }
    }

    // MARK: words for the sliders and the chart

    func testHelpExplainsEachSliderInWords() {
        let app = makeApp(FakeEngine())
        app.handle(.char("?"))
        let g = frame(app, 120, 50)
        for kind in SliderKind.allCases {
            XCTAssertTrue(g.contains(Self.help[kind]!), "help explains \(kind.label):\n\(g.text)")
        }
    }

    func testTheSelectedSliderIsExplainedUnderTheSliders() {
        let app = makeApp(FakeEngine())
        for (w, h) in [(120, 40), (80, 24), (60, 18)] {
            let l = ScreenLayout.compute(width: w, height: h)
            let g = frame(app, w, h)
            let panel = (l.sliders.y..<l.sliders.maxY).map { String(g.row($0).unicodeScalars.dropFirst(l.sliders.x).prefix(l.sliders.w)) }
            XCTAssertTrue(panel.contains { $0.contains(Self.under[.alpha]!) }, "\(w)×\(h):\n\(panel.joined(separator: "\n"))")
        }
        app.handle(.down)
        XCTAssertTrue(frame(app).contains(Self.under[.beta]!))
        XCTAssertFalse(frame(app).contains(Self.under[.alpha]!))
    }

    // MARK: help

    func testQInsideHelpClosesHelpAndDoesNotQuit() {
        let app = makeApp(FakeEngine())
        app.handle(.char("?"))
        XCTAssertTrue(app.showHelp)
        app.handle(.char("q"))
        XCTAssertFalse(app.showHelp)
        XCTAssertFalse(app.quitRequested)
        app.handle(.char("q"))
        XCTAssertTrue(app.quitRequested, "q outside help still quits")
        // Ctrl-C quits from anywhere.
        let b = makeApp(FakeEngine())
        b.handle(.char("?")); b.handle(.ctrlC)
        XCTAssertTrue(b.quitRequested)
    }

    func testHelpScrollsWhenItDoesNotFit() {
        let app = makeApp(FakeEngine())
        app.handle(.char("?"))
        var seen = frame(app, 60, 18).text
        XCTAssertTrue(seen.contains("scroll"), "says it scrolls:\n\(seen)")
        for _ in 0..<40 {
            app.handle(.down)
            XCTAssertTrue(app.showHelp, "↓ scrolls, it does not close help")
            seen += "\n" + frame(app, 60, 18).text
        }
        for (k, t) in OverlayWidget.helpLines + Self.help.map({ ("α", $0.value) }) {
            XCTAssertTrue(seen.contains(k) && seen.contains(t), "help at 60×18 reaches \(k) \(t)")
        }
        // Back to the top.
        for _ in 0..<40 { app.handle(.up) }
        XCTAssertTrue(frame(app, 60, 18).contains("pause / resume"))
        app.handle(.char("x"))
        XCTAssertFalse(app.showHelp, "any other key closes")
    }

    // MARK: monochrome

    func testNoReverseVideoBarDownTheSlidersWithoutColour() {
        let app = makeApp(FakeEngine(), colorMode: .mono)
        let g = frame(app)
        let r = ScreenLayout.compute(width: 120, height: 40).sliders
        for y in r.y..<r.maxY where y != r.y + 1 + app.sliderKinds.firstIndex(of: app.selected)! {
            for x in r.x..<r.maxX {
                let s = g.style(x, y)!
                XCTAssertFalse(s.attrs.union(s.monoAttrs).contains(.reverse), "reverse at \(x),\(y) '\(g.char(x, y)!)'")
            }
        }
    }
}
