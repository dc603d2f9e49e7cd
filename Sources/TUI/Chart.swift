import Core
import Foundation

/// The arithmetic behind the loss chart, separate from drawing so it can be tested.
enum ChartMath {
    typealias Point = (x: Double, y: Double)

    /// Reduce to about `2 * buckets` points for display. Each bucket keeps its lowest and highest
    /// point in x order, so spikes and the best loss stay visible; the first and last points are
    /// always kept so the line spans the whole run. The stored history is never thinned.
    static func downsample(_ pts: [Point], buckets: Int) -> [Point] {
        guard buckets > 0, pts.count > 2 * buckets + 2 else { return pts }
        var out: [Point] = [pts[0]]
        let n = pts.count
        for b in 0..<buckets {
            let lo = max(1, b * n / buckets), hi = min(n - 1, (b + 1) * n / buckets)
            guard lo < hi else { continue }
            var iMin = lo, iMax = lo
            for i in lo..<hi {
                if pts[i].y < pts[iMin].y { iMin = i }
                if pts[i].y > pts[iMax].y { iMax = i }
            }
            for i in Set([iMin, iMax]).sorted() { out.append(pts[i]) }
        }
        out.append(pts[n - 1])
        return out
    }

    /// The y range in log10 units: the data's range, widened to at least one decade so a flat
    /// curve does not fill the chart with noise, and padded slightly so extremes don't sit on the frame.
    static func logRange(minY: Double, maxY: Double) -> (lo: Double, hi: Double) {
        var lo = log10(minY), hi = log10(maxY)
        if hi - lo < 1 { let mid = (lo + hi) / 2; lo = mid - 0.5; hi = mid + 0.5 }
        let pad = (hi - lo) * 0.03
        return (lo - pad, hi + pad)
    }

    /// Which values (log10 units, in time order) are brief excursions: more than `decades` above, or
    /// below, both the median of up to `window` values before and of up to `window` after (at least 3
    /// on each side). A brief α = 1e9 thus stops setting the chart's scale once the run has moved on,
    /// while the start of the run (nothing before) and a spike still going on (nothing after yet) are
    /// always in range.
    static func excursions(_ logs: [Double], window: Int, decades: Double = 2) -> [Bool] {
        let n = logs.count
        var out = [Bool](repeating: false, count: n)
        guard window >= 3, n >= 7 else { return out }
        func median(_ s: ArraySlice<Double>) -> Double { let v = s.sorted(); return v[v.count / 2] }
        for i in 3..<(n - 3) {
            let before = median(logs[max(0, i - window)..<i])
            let after = median(logs[(i + 1)..<min(n, i + 1 + window)])
            let v = logs[i]
            out[i] = (v > before + decades && v > after + decades) || (v < before - decades && v < after - decades)
        }
        return out
    }

    /// Tick values inside [10^lo, 10^hi]: decades, thinned to `maxTicks`; with fewer than two
    /// decades in view, 2× and 5× are added so there are still labels to read.
    static func logTicks(lo: Double, hi: Double, maxTicks: Int) -> [Double] {
        guard hi > lo, maxTicks > 0 else { return [] }
        let first = Int(lo.rounded(.up)), last = Int(hi.rounded(.down))
        var decades = first <= last ? Array(first...last) : []
        if decades.count > maxTicks {
            let stride = (decades.count + maxTicks - 1) / maxTicks
            decades = decades.filter { ($0 - first) % stride == 0 }
        }
        var ticks = decades.map { pow(10, Double($0)) }
        if ticks.count < 2 {
            var more: [Double] = []
            for e in Int(lo.rounded(.down))...Int(hi.rounded(.up)) {
                for m in [1.0, 2, 5] {
                    let v = m * pow(10, Double(e))
                    if log10(v) >= lo && log10(v) <= hi { more.append(v) }
                }
            }
            if more.count <= maxTicks { ticks = more }
            else if !more.isEmpty { ticks = [more.first!, more.last!] }
        }
        return ticks
    }

    /// Round-number ticks (1, 2, 5 × 10^k) for the iteration axis.
    static func linearTicks(lo: Double, hi: Double, maxTicks: Int) -> [Double] {
        guard hi > lo, maxTicks > 1 else { return [lo] }
        let raw = (hi - lo) / Double(maxTicks - 1)
        let mag = pow(10, log10(raw).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var v = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while v <= hi + step * 1e-9 { out.append(v); v += step }
        return out
    }

    /// Which dot column (0..<dots) an x value lands on.
    static func dotColumn(_ x: Double, xMin: Double, xMax: Double, dots: Int) -> Int {
        guard xMax > xMin, dots > 1 else { return 0 }
        return min(dots - 1, max(0, Int(((x - xMin) / (xMax - xMin) * Double(dots - 1)).rounded())))
    }

    /// Short labels: 0.01 … 1000 as plain numbers, otherwise 1e5 style.
    static func formatTick(_ v: Double) -> String {
        guard v > 0 else { return "0" }
        let e = log10(v)
        if e >= -2 && e < 4 {
            if v >= 1 { return String(Int(v.rounded())) }
            var s = String(format: "%.2f", v)
            while s.hasSuffix("0") { s.removeLast() }
            return s
        }
        let exp = Int(e.rounded(.down))
        let m = v / pow(10, Double(exp))
        let mant = abs(m - m.rounded()) < 1e-6 ? String(Int(m.rounded())) : String(format: "%.1f", m)
        return "\(mant)e\(exp)"
    }

    static func formatIteration(_ v: Double) -> String {
        let i = Int(v.rounded())
        return i >= 10000 ? "\(i / 1000)k" : "\(i)"
    }
}

/// Loss curves against iteration on a log scale, drawn with braille dots (2×4 per cell).
enum ChartWidget {
    struct Series {
        var name: String
        var style: Style
        var values: [ChartMath.Point]
        var current: Double?
    }

    static func series(from points: [HistoryPoint], st: ThemeStyles) -> [Series] {
        func make(_ name: String, _ style: Style, _ f: (HistoryPoint) -> Double) -> Series {
            let v = points.map { (x: Double($0.iteration), y: f($0)) }
            return Series(name: name, style: style, values: v, current: v.last?.y)
        }
        // Drawn in this order, so the total ends up on top where lines cross.
        // Words rather than α·Ec: the legend should read without the formula. Each is the term as weighted
        // by its slider, so the curves add up to the total.
        return [make("smoothness", st.tv, \.weightedTV), make("content", st.content, \.weightedContent),
                make("style", st.style, \.weightedStyle), make("total", st.total, { $0.terms.total })]
    }

    /// Geometry of the plot inside the pane, exposed so tests can find where a mark lands.
    struct Frame {
        var plot: Rect
        var xMin: Double, xMax: Double
        var yLo: Double, yHi: Double
        var dotsW: Int { plot.w * 2 }
        var dotsH: Int { plot.h * 4 }
        func dotColumn(_ x: Double) -> Int { ChartMath.dotColumn(x, xMin: xMin, xMax: xMax, dots: dotsW) }
        func cellColumn(_ x: Double) -> Int { plot.x + dotColumn(x) / 2 }
        func dotRow(_ y: Double) -> Int {
            let t = (yHi - log10(y)) / (yHi - yLo)
            return min(dotsH - 1, max(0, Int((t * Double(dotsH - 1)).rounded())))
        }
    }

    static let yLabelWidth = 6
    /// Drawn at the edge, in the series' colour, where points lie outside the range (see `excursions`).
    static let clippedAbove: Unicode.Scalar = "▲"
    static let clippedBelow: Unicode.Scalar = "▼"

    @discardableResult
    static func draw(_ g: inout CellGrid, _ rect: Rect, history: (points: [HistoryPoint], marks: [Int]),
                     st: ThemeStyles) -> Frame? {
        g.fill(rect, " ", st.base)
        g.box(rect, title: "loss (log)", border: st.border, titleStyle: st.title)
        let r = rect.inner
        guard r.w >= 12, r.h >= 4 else { return nil }
        let all = series(from: history.points, st: st)

        // Legend: as many entries per row as fit, wrapping to a second row in narrow panes (a third when
        // the pane is tall enough to spare it).
        let legendMax = r.h >= 12 ? 3 : 2
        var lx = r.x, ly = r.y
        for s in all.reversed() {
            let val = s.current.map { SliderMath.format($0) } ?? "–"
            let entry = s.name + " " + val
            if lx > r.x && lx + entry.count + 2 > r.maxX { lx = r.x; ly += 1 }
            if ly >= r.y + legendMax { break }
            g.put(lx, ly, "━", s.style)
            lx += 1 + g.put(lx + 1, ly, entry, st.base, limit: r.maxX - lx - 1) + 2
        }
        let legendRows = min(ly - r.y + 1, legendMax)
        let plot = Rect(x: r.x + yLabelWidth + 1, y: r.y + legendRows, w: r.w - yLabelWidth - 1, h: r.h - legendRows - 2)
        guard plot.w >= 4, plot.h >= 1 else { return nil }

        let pts = history.points
        guard let first = pts.first, let last = pts.last else {
            g.put(plot.x, plot.y + plot.h / 2, "waiting for the first iteration…", st.dim, limit: plot.w)
            return nil
        }
        let xMin = Double(first.iteration)
        let xMax = Double(max(last.iteration, first.iteration + 1))
        // Downsampled first (a history can hold 10000 points), then the range is taken over what is not a
        // brief excursion, so one wild iteration cannot flatten the rest of the run for good.
        let shown = all.map { s in
            ChartMath.downsample(s.values.filter { $0.y > 0 && $0.y.isFinite }, buckets: plot.w * 2)
        }
        var minY = Double.infinity, maxY = -Double.infinity
        for pts in shown {
            let logs = pts.map { log10($0.y) }
            let odd = ChartMath.excursions(logs, window: max(8, logs.count / 10))
            for (v, o) in zip(logs, odd) where !o { minY = min(minY, v); maxY = max(maxY, v) }
        }
        guard maxY.isFinite else { return nil }
        let (yLo, yHi) = ChartMath.logRange(minY: pow(10, minY), maxY: pow(10, maxY))
        let f = Frame(plot: plot, xMin: xMin, xMax: xMax, yLo: yLo, yHi: yHi)

        // Axes and tick labels.
        for y in plot.y..<plot.maxY { g.set(plot.x - 1, y, "│", st.dim) }
        g.set(plot.x - 1, plot.maxY, "└", st.dim)
        for x in plot.x..<plot.maxX { g.set(x, plot.maxY, "─", st.dim) }
        for t in ChartMath.logTicks(lo: yLo, hi: yHi, maxTicks: max(2, plot.h / 2 + 1)) {
            let y = plot.y + f.dotRow(t) / 4
            let label = ChartMath.formatTick(t)
            g.put(r.x + max(0, yLabelWidth - label.count), y, label, st.dim, limit: yLabelWidth)
            g.set(plot.x - 1, y, "┤", st.dim)
        }
        // The first and latest iteration are always labelled; round numbers fill in where they fit.
        let inner = ChartMath.linearTicks(lo: xMin, hi: xMax, maxTicks: max(2, plot.w / 10))
            .filter { f.cellColumn($0) > f.cellColumn(xMin) + 4 && f.cellColumn($0) < f.cellColumn(xMax) - 6 }
        var lastLabelEnd = Int.min
        for t in [xMin] + inner + [xMax] {
            let cx = f.cellColumn(t)
            let label = ChartMath.formatIteration(t)
            let start = min(max(plot.x - 1, cx - label.count / 2), r.maxX - label.count)
            guard start > lastLabelEnd else { continue }
            g.set(cx, plot.maxY, "┬", st.dim)
            g.put(start, plot.maxY + 1, label, st.dim, limit: r.maxX - start)
            lastLabelEnd = start + label.count
        }

        // Marks first, so curves draw over them.
        for m in history.marks {
            let cx = f.cellColumn(Double(m))
            for y in plot.y..<plot.maxY { g.set(cx, y, "┊", st.mark) }
        }

        // Dots: one bit mask per cell, coloured by the last series that touched it.
        var bits = [UInt8](repeating: 0, count: plot.w * plot.h)
        var owner = [Int](repeating: -1, count: plot.w * plot.h)
        func dot(_ dx: Int, _ dy: Int, _ si: Int) {
            guard dx >= 0, dy >= 0, dx < f.dotsW, dy < f.dotsH else { return }
            let cell = (dy / 4) * plot.w + dx / 2
            let bx = dx % 2, by = dy % 4
            let bit: UInt8 = by == 3 ? (bx == 0 ? 0x40 : 0x80) : UInt8(1 << (by + 3 * bx))
            bits[cell] |= bit; owner[cell] = si
        }
        var clipped: [(x: Int, y: Int, above: Bool, series: Int)] = []
        for (si, pts) in shown.enumerated() {
            var prev: (Int, Int)?
            for p in pts {
                let c = (f.dotColumn(p.x), f.dotRow(p.y))
                if let q = prev { line(q, c) { dot($0, $1, si) } } else { dot(c.0, c.1, si) }
                prev = c
                let l = log10(p.y)
                if l > yHi || l < yLo { clipped.append((plot.x + c.0 / 2, l > yHi ? plot.y : plot.maxY - 1, l > yHi, si)) }
            }
        }
        for cy in 0..<plot.h {
            for cx in 0..<plot.w where bits[cy * plot.w + cx] != 0 {
                let i = cy * plot.w + cx
                g.set(plot.x + cx, plot.y + cy, Unicode.Scalar(0x2800 + UInt32(bits[i]))!, all[owner[i]].style)
            }
        }
        for c in clipped { g.set(c.x, c.y, c.above ? clippedAbove : clippedBelow, all[c.series].style) }
        return f
    }

    /// Integer line between two dots (Bresenham), so sparse data still reads as a curve.
    static func line(_ a: (Int, Int), _ b: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x0, y0) = a
        let (x1, y1) = b
        let dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1
        let dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(x0, y0)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x0 += sx }
            if e2 <= dx { err += dx; y0 += sy }
        }
    }
}
