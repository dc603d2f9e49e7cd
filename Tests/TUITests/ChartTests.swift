import Core
import XCTest
@testable import TUI

final class ChartTests: XCTestCase {
    func testLogTicksAreDecadesInRange() {
        let t = ChartMath.logTicks(lo: -0.2, hi: 4.3, maxTicks: 10)
        XCTAssertEqual(t, [1, 10, 100, 1000, 10000])
        // Too many decades: thinned, still decades.
        let thin = ChartMath.logTicks(lo: 0, hi: 12, maxTicks: 4)
        XCTAssertLessThanOrEqual(thin.count, 4)
        for v in thin { XCTAssertEqual(log10(v), log10(v).rounded(), accuracy: 1e-9) }
        // Less than a decade: 1-2-5 steps so there is something to read.
        let narrow = ChartMath.logTicks(lo: log10(150), hi: log10(900), maxTicks: 6)
        XCTAssertEqual(narrow, [200, 500])
    }

    func testLogRangeWidensFlatData() {
        let r = ChartMath.logRange(minY: 100, maxY: 100)
        XCTAssertGreaterThanOrEqual(r.hi - r.lo, 1)
        XCTAssertLessThan(r.lo, 2); XCTAssertGreaterThan(r.hi, 2)
    }

    func testTickLabels() {
        XCTAssertEqual(ChartMath.formatTick(1000), "1000")
        XCTAssertEqual(ChartMath.formatTick(0.01), "0.01")
        XCTAssertEqual(ChartMath.formatTick(1e5), "1e5")
        XCTAssertEqual(ChartMath.formatTick(1e-3), "1e-3")
        XCTAssertEqual(ChartMath.formatTick(200), "200")
        XCTAssertEqual(ChartMath.linearTicks(lo: 0, hi: 100, maxTicks: 6), [0, 20, 40, 60, 80, 100])
    }

    func testDownsampleKeepsFirstLastAndMinimum() {
        var pts: [ChartMath.Point] = (0..<10_000).map { (x: Double($0), y: 100 + sin(Double($0)) * 10) }
        pts[7777].y = 0.5
        let d = ChartMath.downsample(pts, buckets: 40)
        XCTAssertLessThanOrEqual(d.count, 2 * 40 + 2)
        XCTAssertEqual(d.first!.x, 0); XCTAssertEqual(d.last!.x, 9999)
        XCTAssertTrue(d.contains { $0.x == 7777 && $0.y == 0.5 })
        XCTAssertEqual(d.map(\.x), d.map(\.x).sorted(), "kept in x order")
        // Small inputs pass through untouched.
        XCTAssertEqual(ChartMath.downsample(Array(pts[0..<10]), buckets: 40).count, 10)
    }

    func testMarksLandAtTheirColumn() {
        let st = Theme.fallback.styles
        let points = (0...200).map { HistoryPoint(iteration: $0, terms: .init(total: 1e4 / Double($0 + 1), content: 1, style: 10, tv: 1), alpha: 1, beta: 10, tv: 0) }
        var g = CellGrid(width: 60, height: 20)
        let frame = ChartWidget.draw(&g, Rect(x: 0, y: 0, w: 60, h: 20), history: (points, [0, 100, 200]), st: st)!
        XCTAssertEqual(frame.cellColumn(0), frame.plot.x)
        XCTAssertEqual(frame.cellColumn(200), frame.plot.maxX - 1)
        // Iteration 100 of 0…200 is the middle dot column, i.e. cell (dotsW-1)/2/2 from the left.
        let mid = frame.cellColumn(100)
        XCTAssertEqual(mid, frame.plot.x + Int((Double(frame.dotsW - 1) / 2).rounded()) / 2)
        let col = (frame.plot.y..<frame.plot.maxY).map { g.char(mid, $0)! }
        XCTAssertTrue(col.contains("┊"), "\(col)")
        // Curves are braille; the legend shows the current total.
        XCTAssertTrue(g.text.unicodeScalars.contains { $0.value >= 0x2801 && $0.value <= 0x28FF })
        XCTAssertTrue(g.contains("total 49.8"), g.text)
        // The weighted TV term is 0 (γ = 0) and must not break the log scale.
        XCTAssertTrue(frame.yHi > frame.yLo)
    }

    func testChartRescalesAsDataGrows() {
        let st = Theme.fallback.styles
        func frame(_ n: Int) -> ChartWidget.Frame {
            let pts = (0..<n).map { HistoryPoint(iteration: $0, terms: .init(total: pow(10, Double($0) / 10), content: 1, style: 1, tv: 0), alpha: 1, beta: 1, tv: 0) }
            var g = CellGrid(width: 50, height: 16)
            return ChartWidget.draw(&g, Rect(x: 0, y: 0, w: 50, h: 16), history: (pts, []), st: st)!
        }
        let a = frame(10), b = frame(60)
        XCTAssertGreaterThan(b.xMax, a.xMax)
        XCTAssertGreaterThan(b.yHi, a.yHi)
    }
}
