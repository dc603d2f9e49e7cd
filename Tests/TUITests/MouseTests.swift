import Core
import XCTest
@testable import TUI

/// Issue 7 §7: the mouse does what the keys do — select a slider, set it on its bar, a notch per wheel
/// step, switch the view — and decoding the terminal's reports is a pure function.
final class MouseTests: XCTestCase {
    func testParseSGRReports() {
        XCTAssertEqual(MouseInput.parseSGR("0;12;5M"), MouseEvent(kind: .press, button: 0, x: 11, y: 4))
        XCTAssertEqual(MouseInput.parseSGR("0;12;5m"), MouseEvent(kind: .release, button: 0, x: 11, y: 4))
        XCTAssertEqual(MouseInput.parseSGR("2;1;1M"), MouseEvent(kind: .press, button: 2, x: 0, y: 0))
        XCTAssertEqual(MouseInput.parseSGR("32;40;9M"), MouseEvent(kind: .drag, button: 0, x: 39, y: 8))
        XCTAssertEqual(MouseInput.parseSGR("64;3;4M"), MouseEvent(kind: .wheelUp, x: 2, y: 3))
        XCTAssertEqual(MouseInput.parseSGR("65;3;4M"), MouseEvent(kind: .wheelDown, x: 2, y: 3))
        // Shift, meta and ctrl bits do not change what a report means.
        XCTAssertEqual(MouseInput.parseSGR("16;12;5M"), MouseEvent(kind: .press, button: 0, x: 11, y: 4))
        XCTAssertEqual(MouseInput.parseSGR("68;3;4M"), MouseEvent(kind: .wheelUp, x: 2, y: 3))
        // Columns past 223, which the old X10 encoding cannot carry.
        XCTAssertEqual(MouseInput.parseSGR("0;300;2M")?.x, 299)
        for bad in ["", "M", "0;12M", "0;12;5", "0;12;5;1M", "a;1;1M", "0;0;1M", "0;1;0M", "35;1;1M", "66;1;1M",
                    "0;;1M", "-1;1;1M", "0;999999;1M", "0;1;1X", String(repeating: "1", count: 40) + "M", "0;1;1\u{1B}M"] {
            XCTAssertNil(MouseInput.parseSGR(bad), bad)
        }
    }

    // The 120×40 layout: sliders pane at the bottom right.
    let layout = ScreenLayout.compute(width: 120, height: 40)

    func rendered(_ e: FakeEngine = FakeEngine()) -> (App, FakeEngine) {
        let app = makeApp(e)
        var g = CellGrid(width: 120, height: 40)
        app.render(into: &g)
        return (app, e)
    }

    func rowY(_ k: SliderKind) -> Int { layout.sliders.y + 1 + SliderKind.allCases.firstIndex(of: k)! }

    func click(_ app: App, _ x: Int, _ y: Int) {
        app.handle(.mouse(MouseEvent(kind: .press, x: x, y: y)))
        app.handle(.mouse(MouseEvent(kind: .release, x: x, y: y)))
    }

    func testClickSelectsASliderAndSetsItOnItsBar() {
        let (app, e) = rendered()
        click(app, layout.sliders.x + 3, rowY(.beta))
        XCTAssertEqual(app.selected, .beta, "a click on the label selects")
        XCTAssertEqual(e.updates, 0, "and changes nothing")

        let (barX, barW) = SlidersWidget.barSpan(layout.sliders)
        // β's bar spans 1e-2 … 1e6 (eight decades). Clicking a cell fills the bar up to that cell.
        let cell = barW / 2
        click(app, barX + cell, rowY(.beta))
        XCTAssertEqual(e.updates, 1)
        let expected = pow(10, ((-2 + 8 * Double(cell + 1) / Double(barW)) * 8).rounded() / 8)
        XCTAssertEqual(e.progress.settings.beta, expected, accuracy: expected * 1e-9)
        var g = CellGrid(width: 120, height: 40)
        app.render(into: &g)
        XCTAssertEqual(g.char(barX + cell, rowY(.beta)), "━")
        XCTAssertEqual(g.char(barX + cell + 1, rowY(.beta)), "─")
        // A click on α's bar selects α as well.
        click(app, barX, rowY(.alpha))
        XCTAssertEqual(app.selected, .alpha)
        XCTAssertEqual(e.updates, 2)
    }

    func testDragShowsTheValueAndAppliesItOnRelease() {
        let (app, e) = rendered()
        let (barX, barW) = SlidersWidget.barSpan(layout.sliders)
        let y = rowY(.tv)
        app.handle(.mouse(MouseEvent(kind: .press, x: barX + 2, y: y)))
        for x in barX + 3...barX + barW - 4 { app.handle(.mouse(MouseEvent(kind: .drag, x: x, y: y + 3))) }
        XCTAssertEqual(e.updates, 0, "nothing reaches the engine while dragging")
        let shown = app.settings.tv
        XCTAssertGreaterThan(shown, 1, "the screen follows the drag")
        app.handle(.mouse(MouseEvent(kind: .release, x: barX + barW - 4, y: y + 3)))
        XCTAssertEqual(e.updates, 1, "one change, on release")
        XCTAssertEqual(e.progress.settings.tv, shown)
        // Dragged off the left end: a weight goes to 0.
        app.handle(.mouse(MouseEvent(kind: .press, x: barX + 1, y: y)))
        app.handle(.mouse(MouseEvent(kind: .drag, x: 2, y: y)))
        app.handle(.mouse(MouseEvent(kind: .release, x: 2, y: y)))
        XCTAssertEqual(e.progress.settings.tv, 0)
        // A key during a drag applies it first.
        app.handle(.mouse(MouseEvent(kind: .press, x: barX + 5, y: y)))
        app.handle(.char("j"))
        XCTAssertEqual(e.updates, 3)
        XCTAssertNil(app.dragging)
    }

    func testWheelMovesASliderByANotch() {
        let (app, e) = rendered()
        app.handle(.mouse(MouseEvent(kind: .wheelUp, x: layout.sliders.x + 5, y: rowY(.beta))))
        XCTAssertEqual(app.selected, .beta)
        XCTAssertEqual(e.progress.settings.beta, 10 * pow(10, 1.0 / 8), accuracy: 1e-9)
        app.handle(.mouse(MouseEvent(kind: .wheelDown, x: layout.sliders.x + 5, y: rowY(.beta))))
        XCTAssertEqual(e.progress.settings.beta, 10, accuracy: 1e-9)
        // Over the pane's other lines it moves the selected slider; outside the pane it does nothing.
        app.handle(.mouse(MouseEvent(kind: .wheelDown, x: layout.sliders.x + 5, y: layout.sliders.maxY - 2)))
        XCTAssertEqual(e.progress.settings.beta, 10 / pow(10, 1.0 / 8), accuracy: 1e-9)
        let before = e.updates
        app.handle(.mouse(MouseEvent(kind: .wheelUp, x: 3, y: 3)))
        XCTAssertEqual(e.updates, before)
    }

    func testClickOnTheViewTabs() {
        let (app, _) = rendered()
        var g = CellGrid(width: 120, height: 40)
        app.render(into: &g)
        let top = g.row(0)
        let one = top.distance(from: top.startIndex, to: top.range(of: "1 2 3 · result")!.lowerBound)
        XCTAssertEqual(g.style(one, 0), app.styles.accent, "the view shown is highlighted")
        click(app, one + 2, 0)
        XCTAssertEqual(app.source, .content)
        click(app, one + 4, 0)
        XCTAssertEqual(app.source, .style)
        // The tabs come first, so they stay put whatever the view's name.
        g = CellGrid(width: 120, height: 40)
        app.render(into: &g)
        XCTAssertTrue(g.row(0).contains("1 2 3 · style"))
        XCTAssertEqual(g.style(one + 4, 0), app.styles.accent)
        click(app, one, 0)
        XCTAssertEqual(app.source, .result)
        click(app, one + 1, 0)
        XCTAssertEqual(app.source, .result, "the space between tabs is not a tab")
        click(app, one + 8, 0)
        XCTAssertEqual(app.source, .result, "nor is the name")
    }

    func testQuestionsAreAnsweredWithKeysOnlyAndHelpScrollsWithTheWheel() {
        let (app, e) = rendered()
        let (barX, _) = SlidersWidget.barSpan(layout.sliders)
        app.handle(.char("r"))
        click(app, barX + 3, rowY(.alpha))
        XCTAssertTrue(app.confirmRestart, "a click does not answer")
        XCTAssertEqual(e.updates, 0)
        app.handle(.char("n"))
        app.handle(.char("?"))
        var g = CellGrid(width: 60, height: 18)
        app.render(into: &g)
        app.handle(.mouse(MouseEvent(kind: .wheelDown, x: 30, y: 9)))
        XCTAssertEqual(app.helpScroll, 3)
        click(app, 30, 9)
        XCTAssertFalse(app.showHelp, "a click closes help")
    }

    func testMouseOptionAndConfig() throws {
        XCTAssertTrue(try TUIOptions.parse([]).config().mouse)
        XCTAssertFalse(try TUIOptions.parse(["--no-mouse"]).config().mouse)
        var file = ConfigFile.Values()
        file.mouse = false
        XCTAssertFalse(try TUIOptions.parse([]).config(file: file).mouse)
        XCTAssertTrue(try TUIOptions.parse(["--mouse"]).config(file: file).mouse, "the command line wins")
        let app = makeApp(FakeEngine())
        app.mouseEnabled = true
        XCTAssertTrue(app.helpLines().contains { $0.0 == "mouse" })
        app.mouseEnabled = false
        XCTAssertFalse(app.helpLines().contains { $0.0 == "mouse" })
    }
}
