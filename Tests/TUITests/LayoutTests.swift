import Core
import XCTest
@testable import TUI

final class LayoutTests: XCTestCase {
    func check(_ w: Int, _ h: Int, file: StaticString = #filePath, line: UInt = #line) -> ScreenLayout {
        let l = ScreenLayout.compute(width: w, height: h)
        let screen = Rect(x: 0, y: 0, w: w, h: h)
        for p in l.panes {
            XCTAssertFalse(p.isEmpty, "\(p) empty at \(w)×\(h)", file: file, line: line)
            XCTAssertTrue(screen.contains(p), "\(p) outside \(w)×\(h)", file: file, line: line)
        }
        for (i, a) in l.panes.enumerated() {
            for b in l.panes[(i + 1)...] {
                XCTAssertFalse(a.intersects(b), "\(a) overlaps \(b) at \(w)×\(h)", file: file, line: line)
            }
        }
        return l
    }

    func testFullLayouts() {
        for (w, h) in [(120, 40), (100, 30)] {
            let l = check(w, h)
            XCTAssertEqual(l.kind, .full)
            XCTAssertNotNil(l.chart); XCTAssertNotNil(l.hint)
            let area = { (r: Rect) in r.w * r.h }
            // The preview is the largest pane.
            for p in [l.chart!, l.sliders] { XCTAssertGreaterThan(area(l.preview), area(p)) }
            XCTAssertEqual(l.status.y, h - 2)
            XCTAssertEqual(l.hint!.y, h - 1)
            XCTAssertGreaterThanOrEqual(l.sliders.h, ScreenLayout.slidersHeight)
        }
    }

    func testCompactLayoutAt80x24() {
        let l = check(80, 24)
        XCTAssertEqual(l.kind, .compact)
        XCTAssertGreaterThanOrEqual(l.preview.w, 30)
        XCTAssertEqual(l.sliders.h, ScreenLayout.slidersHeight)
        XCTAssertEqual(l.status, Rect(x: 0, y: 23, w: 80, h: 1))
        _ = check(60, 18)
        _ = check(99, 29)
    }

    func testTooSmall() {
        let l = check(59, 17)
        XCTAssertEqual(l.kind, .tooSmall)
        XCTAssertNotNil(l.message)
        XCTAssertEqual(check(60, 17).kind, .tooSmall)
        XCTAssertEqual(check(59, 18).kind, .tooSmall)
        XCTAssertEqual(ScreenLayout.compute(width: 0, height: 0).kind, .tooSmall)

        let app = makeApp(FakeEngine())
        var g = CellGrid(width: 59, height: 17)
        app.render(into: &g)
        XCTAssertTrue(g.contains("enlarge the terminal to at least 60×18"), g.text)
        // Enlarging recovers: the full screen draws again.
        var g2 = CellGrid(width: 120, height: 40)
        app.render(into: &g2)
        XCTAssertFalse(g2.contains("enlarge"))
        XCTAssertTrue(g2.contains("β style"))
    }

    func testFramesRenderAtEverySize() {
        let e = FakeEngine()
        e.history = (0...50).map { HistoryPoint(iteration: $0, terms: .init(total: 1000 / Double($0 + 1) + 2, content: 1, style: 50 / Double($0 + 1), tv: 0), alpha: 1, beta: 10, tv: 0) }
        e.marks = [20]
        let app = makeApp(e)
        for (w, h) in [(120, 40), (100, 30), (80, 24), (60, 18), (59, 17), (10, 3)] {
            var g = CellGrid(width: w, height: h)
            app.render(into: &g)
            if w >= 60 && h >= 18 {
                XCTAssertTrue(g.contains("α content"), "\(w)×\(h)\n\(g.text)")
                XCTAssertTrue(g.contains("running"), "\(w)×\(h)")
            }
        }
    }
}

final class GridTextTests: XCTestCase {
    /// A status message naming a file with terminal escapes draws them as visible text.
    func testControlCharactersAreDrawnEscaped() {
        var g = CellGrid(width: 40, height: 1, table: StyleTable())
        _ = g.put(0, 0, "saved x\u{1B}]0;t\u{07}.png", Style())
        let row = String(String.UnicodeScalarView((0..<40).compactMap { g.char($0, 0) }))
        XCTAssertFalse(row.unicodeScalars.contains { $0.value < 0x20 }, row)
        XCTAssertTrue(row.hasPrefix("saved x\\e]0;t\\x07.png"), row)
    }
}
