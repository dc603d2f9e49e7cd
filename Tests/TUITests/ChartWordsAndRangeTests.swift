import Core
import XCTest
@testable import TUI

/// Issue 7 §6: the chart reads in words, and one wild iteration cannot squash the rest of the run.
final class ChartWordsAndRangeTests: XCTestCase {

    func testChartLegendUsesWords() {
        let e = FakeEngine()
        e.history = (0...40).map { HistoryPoint(iteration: $0, terms: .init(total: 10 / Double($0 + 1) + 1, content: 0.5, style: 0.05, tv: 0.01), alpha: 1, beta: 10, tv: 1) }
        let app = makeApp(e)
        let g = frame(app)
        let chart = ScreenLayout.compute(width: 120, height: 40).chart!
        let legend = (chart.y + 1...chart.y + 3).map { g.row($0) }.joined(separator: "\n")
        for word in ["total", "style", "content", "smoothness"] { XCTAssertTrue(legend.contains(word), "\(word) in\n\(legend)") }
        for symbol in ["β·Es", "α·Ec", "γ·TV"] { XCTAssertFalse(g.contains(symbol), symbol) }
    }

    func history(_ n: Int, spikeAt: ClosedRange<Int>?) -> [HistoryPoint] {
        (0..<n).map { i in
            let alpha = spikeAt?.contains(i) == true ? 1e9 : 1
            return HistoryPoint(iteration: i, terms: .init(total: 0, content: 0.5 + 0.001 * Double(i), style: 2 / Double(i + 1) + 0.1, tv: 0),
                                alpha: alpha, beta: 1, tv: 0)
        }.map { var p = $0; p.terms.total = p.weightedContent + p.weightedStyle; return p }
    }

    func testOneOutlierDoesNotSquashTheRestOfTheRun() {
        let st = Theme.fallback.styles
        var g = CellGrid(width: 60, height: 20)
        let f = ChartWidget.draw(&g, Rect(x: 0, y: 0, w: 60, h: 20), history: (history(300, spikeAt: 150...151), [150, 152]), st: st)!
        XCTAssertLessThan(f.yHi, 2, "the range follows the run, not the spike: \(f.yLo)…\(f.yHi)\n\(g.text)")
        XCTAssertGreaterThan(f.yHi, log10(2.6) - 0.01, "the first, highest regular point is in range")
        // The clipped points are marked at the top edge.
        let top = g.row(f.plot.y)
        XCTAssertTrue(top.contains("▲"), "clipped marker on the top row:\n\(g.text)")
    }

    func testASpikeThatIsStillGoingOnIsShownInFull() {
        // The latest iterations are the spike: nothing after them says they are odd, so they are shown.
        let st = Theme.fallback.styles
        var g = CellGrid(width: 60, height: 20)
        let f = ChartWidget.draw(&g, Rect(x: 0, y: 0, w: 60, h: 20), history: (history(300, spikeAt: 297...299), [297]), st: st)!
        XCTAssertGreaterThan(f.yHi, 8.5)
        XCTAssertFalse(g.contains("▲"))
    }

    func testLowOutliersAreClippedToo() {
        let st = Theme.fallback.styles
        var pts = history(300, spikeAt: nil)
        for i in 100...101 { pts[i].beta = 1e-12; pts[i].terms.total = pts[i].weightedContent + pts[i].weightedStyle }
        var g = CellGrid(width: 60, height: 20)
        let f = ChartWidget.draw(&g, Rect(x: 0, y: 0, w: 60, h: 20), history: (pts, []), st: st)!
        XCTAssertGreaterThan(f.yLo, -2, "\(f.yLo)")
        XCTAssertTrue(g.row(f.plot.maxY - 1).contains("▼"), g.text)
    }
}
