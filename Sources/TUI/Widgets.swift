import Core
import Foundation

// MARK: - Sliders

/// The values the user steers while the optimisation runs: α, β, one blend weight per style when there
/// are several (under β), γ, lr and the style scale.
enum SliderKind: Hashable {
    case alpha, beta, blend(Int), tv, lr, styleScale

    /// The sliders of a run with `styles` style images, in screen order.
    static func all(styles: Int) -> [SliderKind] {
        [.alpha, .beta] + (styles > 1 ? (0..<min(styles, Settings.maxStyles)).map { SliderKind.blend($0) } : []) + [.tv, .lr, .styleScale]
    }
    /// The sliders every run has.
    static let allCases = all(styles: 1)

    var label: String {
        switch self {
        case .alpha: return "α content"
        case .beta: return "β style"
        case .blend(let k): return "w style\(k + 1)"
        case .tv: return "γ smooth"
        case .lr: return "lr"
        case .styleScale: return "st. scale"
        }
    }
    /// Weights may be switched off; a step size of 0 would freeze the run, so lr may not, and a style
    /// scale has its own range.
    var allowsZero: Bool {
        switch self {
        case .lr, .styleScale: return false
        default: return true
        }
    }
    /// The smallest non-zero value stepping reaches; stepping below it goes to 0 (weights) or stops (lr).
    var floor: Double {
        switch self {
        case .lr: return 1e-4
        case .styleScale: return Settings.styleScaleRange.lowerBound
        default: return 1e-3
        }
    }
    /// The largest value; typed or stepped values above it are taken as it.
    var ceiling: Double { self == .styleScale ? Settings.styleScaleRange.upperBound : SliderMath.maximum }
    /// The log range the bar spans. Values outside are allowed and shown as an empty/full bar.
    var barRange: (lo: Double, hi: Double) {
        switch self {
        case .alpha: return (1e-3, 1e3)
        case .beta: return (1e-2, 1e6)
        case .blend: return (1e-2, 1)
        case .tv: return (1e-3, 1e3)
        case .lr: return (1e-3, 1e2)
        case .styleScale: return (Settings.styleScaleRange.lowerBound, Settings.styleScaleRange.upperBound)
        }
    }
    func value(in s: Settings) -> Double {
        switch self {
        case .alpha: return s.alpha
        case .beta: return s.beta
        case .blend(let k): return k < s.styleBlend.count ? s.styleBlend[k] : 0
        case .tv: return s.tv
        case .lr: return s.learningRate
        case .styleScale: return s.styleScale
        }
    }
    func set(_ v: Double, in s: inout Settings) {
        switch self {
        case .alpha: s.alpha = v
        case .beta: s.beta = v
        case .blend(let k): if k < s.styleBlend.count { s.styleBlend[k] = v }
        case .tv: s.tv = v
        case .lr: s.learningRate = v
        case .styleScale: s.styleScale = min(max(v, floor), ceiling)
        }
    }
}

enum SliderMath {
    static let maximum = 1e12

    /// `value` moved by `notches` eighth-decade steps (negative = down): fine enough to tune, coarse
    /// enough that a decade is eight presses. `big` steps are half a decade.
    static func step(_ value: Double, notches: Int, big: Bool, floor: Double, allowsZero: Bool) -> Double {
        guard notches != 0 else { return value }
        if value <= 0 { return notches > 0 ? floor : (allowsZero ? 0 : floor) }
        // On the grid of eighth-decades (where stepping from a round value always stays), compute the
        // power directly: repeated multiplication would drift (eight notches from 1 giving 9.999…).
        let k = log10(value) * 8
        let n = Double(notches * (big ? 4 : 1))
        var v = abs(k - k.rounded()) < 1e-6 ? pow(10, (k.rounded() + n) / 8) : value * pow(10, n / 8)
        if v < floor * (1 - 1e-9) { v = allowsZero && notches < 0 ? 0 : floor }
        return min(v, maximum)
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case notANumber(String), negative, zeroNotAllowed, tooLarge
        var description: String {
            switch self {
            case .notANumber(let s): return "'\(s)' is not a number"
            case .negative: return "must be ≥ 0"
            case .zeroNotAllowed: return "must be > 0"
            case .tooLarge: return "must be ≤ 1e12"
            }
        }
    }

    /// A value typed in the inline editor. Only plain finite decimals; no nan, inf or hex.
    static func parse(_ text: String, allowsZero: Bool) -> Result<Double, ParseError> {
        let t = text.trimmingCharacters(in: .whitespaces)
        let allowed = CharacterSet(charactersIn: "0123456789.eE+-")
        guard !t.isEmpty, t.unicodeScalars.allSatisfy(allowed.contains), let v = Double(t), v.isFinite else {
            return .failure(.notANumber(t))
        }
        if v < 0 { return .failure(.negative) }
        if v == 0 && !allowsZero { return .failure(.zeroNotAllowed) }
        if v > maximum { return .failure(.tooLarge) }
        return .success(v)
    }

    /// Three significant digits in at most eight columns.
    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        guard v.isFinite else { return "\(v)" }
        let a = abs(v)
        if a >= 0.01 && a < 10000 {
            let e = Int(log10(a).rounded(.down))
            return String(format: "%.\(max(0, 2 - e))f", v)
        }
        return compactExponent(String(format: "%.2e", v))
    }

    /// "1.23e+05" → "1.23e5", "1.00e-03" → "1.00e-3".
    static func compactExponent(_ s: String) -> String {
        guard let e = s.firstIndex(of: "e") else { return s }
        let mant = s[..<e]
        var exp = s[s.index(after: e)...]
        var sign = ""
        if exp.first == "+" { exp = exp.dropFirst() } else if exp.first == "-" { sign = "-"; exp = exp.dropFirst() }
        while exp.count > 1 && exp.first == "0" { exp = exp.dropFirst() }
        return "\(mant)e\(sign)\(exp)"
    }

    /// Position of `v` on a log bar from `lo` to `hi`, 0...1.
    static func fraction(_ v: Double, lo: Double, hi: Double) -> Double {
        guard v > 0 else { return 0 }
        return min(1, max(0, (log10(v) - log10(lo)) / (log10(hi) - log10(lo))))
    }
}

/// What the inline `=` editor holds while open.
struct SliderEditor: Equatable {
    var kind: SliderKind
    var text: String
}

enum SlidersWidget {
    /// Columns of a slider row inside the pane: marker, label (from x+1), value (x+11, eight wide), bar.
    static func barSpan(_ rect: Rect) -> (x: Int, w: Int) {
        let r = rect.inner
        let barX = r.x + 11 + 9
        return (barX, r.maxX - barX)
    }

    /// The first slider shown: when the pane is too short for all of them, the rows scroll so that the
    /// selected one is visible.
    static func firstRow(count: Int, selected: Int, rows: Int) -> Int {
        guard count > rows, rows > 0 else { return 0 }
        return min(max(0, selected - rows + 1), count - rows)
    }

    /// The slider whose row is at (x, y) in the pane `rect`.
    static func row(at x: Int, _ y: Int, in rect: Rect, kinds: [SliderKind], selected: SliderKind) -> SliderKind? {
        let r = rect.inner
        guard x >= r.x, x < r.maxX, y >= r.y, y < r.maxY else { return nil }
        let first = firstRow(count: kinds.count, selected: kinds.firstIndex(of: selected) ?? 0, rows: r.h)
        let i = first + y - r.y
        return i < kinds.count ? kinds[i] : nil
    }

    /// The value a click (or drag) at column x sets: the bar is log-scaled over `barRange`, and a cell
    /// means "filled up to here", snapped to the eighth-decade notches the arrow keys step on. Left of
    /// the bar (only while dragging, `clampOutside`) is 0 for a weight and the bottom of the range for
    /// lr; right of it the top. nil when x is not on the bar.
    static func value(at x: Int, kind: SliderKind, in rect: Rect, clampOutside: Bool) -> Double? {
        let (barX, barW) = barSpan(rect)
        guard barW >= 3 else { return nil }
        let range = kind.barRange
        if x < barX || x >= barX + barW {
            guard clampOutside else { return nil }
            if x >= barX + barW { return range.hi }
            return kind.allowsZero ? 0 : range.lo
        }
        let f = Double(x - barX + 1) / Double(barW)
        let e = log10(range.lo) + f * (log10(range.hi) - log10(range.lo))
        return min(max(pow(10, (e * 8).rounded() / 8), kind.allowsZero ? 0 : kind.floor), kind.ceiling)
    }

    /// - Parameters: `kinds` the sliders in order, `labels` their labels (the blend weights' name the
    ///   style files).
    static func draw(_ g: inout CellGrid, _ rect: Rect, settings: Settings, kinds: [SliderKind], labels: [String],
                     selected: SliderKind, editor: SliderEditor?, st: ThemeStyles) {
        g.fill(rect, " ", st.base)
        g.box(rect, title: "weights", border: st.border, titleStyle: st.title)
        let r = rect.inner
        guard r.w > 0 else { return }
        // The hint and α/β lines go first when the pane is short; sliders scroll to keep the selected one.
        let rows = min(kinds.count, r.h)
        let first = firstRow(count: kinds.count, selected: kinds.firstIndex(of: selected) ?? 0, rows: rows)
        for (row, i) in (first..<min(kinds.count, first + rows)).enumerated() {
            let kind = kinds[i]
            let y = r.y + row
            let isSel = kind == selected
            let labelStyle = isSel ? st.sliderSelected : st.base
            // Only the selected row gets the selection style: in monochrome it is reverse video, and a
            // reversed blank on every row would draw a stray bar down the pane.
            g.put(r.x, y, isSel ? "▸" : " ", isSel ? st.sliderSelected : st.base)
            let label = i < labels.count ? labels[i] : kind.label
            g.put(r.x + 1, y, String(label.prefix(9)).padding(toLength: 9, withPad: " ", startingAt: 0), labelStyle, limit: max(0, r.w - 1))
            let v = kind.value(in: settings)
            let valueX = r.x + 11
            let barX = barSpan(rect).x
            if let ed = editor, ed.kind == kind {
                let field = "=" + ed.text + "▏"
                g.put(valueX, y, field.padding(toLength: max(0, r.maxX - valueX), withPad: " ", startingAt: 0),
                      st.accent, limit: max(0, r.maxX - valueX))
                continue
            }
            let text = SliderMath.format(v)
            let pad = String(repeating: " ", count: max(0, 8 - text.count))
            g.put(valueX, y, pad + text, isSel ? st.accent : st.base, limit: max(0, r.maxX - valueX))
            let barW = r.maxX - barX
            if barW >= 3 {
                let range = kind.barRange
                let filled = Int((SliderMath.fraction(v, lo: range.lo, hi: range.hi) * Double(barW)).rounded())
                for i in 0..<barW {
                    if i < filled { g.set(barX + i, y, "━", st.sliderBar) } else { g.set(barX + i, y, "─", st.sliderEmpty) }
                }
            }
        }
        // What the selected slider does, in words, right under the sliders.
        if r.h >= rows + 1 { g.put(r.x + 1, r.y + rows, selected.hint, st.dim, limit: r.w - 1) }
        if r.h >= rows + 2 {
            let ratio = settings.beta > 0 ? SliderMath.format(settings.alpha / settings.beta) : "∞"
            var line = "α/β = \(ratio)"
            if settings.styleBlend.count > 1 {
                line += "  blend " + settings.normalizedBlend.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: ":")
            }
            g.put(r.x + 1, r.y + rows + 1, line, st.dim, limit: r.w - 1)
        }
    }
}

// MARK: - Status bar and key hint

enum StatusWidget {
    static func formatDuration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s)
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                         : String(format: "%02d:%02d", t / 60, t % 60)
    }
    static func formatBytes(_ b: Int) -> String {
        let v = Double(b)
        if v >= 1_073_741_824 { return String(format: "%.1f GB", v / 1_073_741_824) }
        if v >= 1_048_576 { return String(format: "%.0f MB", v / 1_048_576) }
        return String(format: "%.0f kB", v / 1024)
    }

    /// Right end of the compact status bar, which has no hint line: the two keys that lead to the rest.
    static let compactKeys = "? help  q quit"

    /// - Parameters: `rate` is seconds per iteration as the screen measured it since the last restart or
    ///   upscale (nil until measured); `memory` the process's resident memory now.
    static func draw(_ g: inout CellGrid, _ rect: Rect, progress p: EngineProgress, settings: Settings,
                     rate: Double?, memory: Int, message: String?, messageIsError: Bool, compact: Bool, st: ThemeStyles) {
        g.fill(rect, " ", st.status)
        let stateStyle: Style
        switch p.state {
        case .running: stateStyle = st.statusAccent
        case .paused, .idle: stateStyle = Style(fg: st.warning.fg, bg: st.status.bg, attrs: .bold, monoAttrs: .reverse)
        case .finished: stateStyle = st.statusAccent
        case .error: stateStyle = Style(fg: st.error.fg, bg: st.status.bg, attrs: .bold, monoAttrs: .reverse)
        }
        var x = rect.x + 1
        let stateLabel: String
        if case .error = p.state { stateLabel = "error" } else { stateLabel = p.state.label }
        x += g.put(x, rect.y, stateLabel, stateStyle, limit: rect.maxX - x) + 2
        // Rank: which figure goes first when the line is short (0 never does).
        var parts: [(text: String, rank: Int)] = [("it \(p.iteration)/\(p.settings.iterations)", 0)]
        parts.append((rate.map { String(format: "%.2f s/it", $0) } ?? "– s/it", 1))
        parts.append((formatDuration(p.elapsed), 4))
        if let eta = eta(progress: p, rate: rate) { parts.append(("ETA " + formatDuration(eta), 2)) }
        // Resident memory now, and the pre-flight estimate of the run's peak beside it; with coarse-to-fine,
        // the stage and its size ("scale 2/3 · 512²") in place of the bare size.
        let estimate = p.estimatedMemory > 0 ? " / ≈" + formatBytes(p.estimatedMemory) : ""
        parts += [(p.scaleLabel ?? "\(p.width)×\(p.height)", p.scaleCount > 1 ? 3 : 6), (settings.optimizer.rawValue, 5),
                  ("mem " + formatBytes(memory) + estimate, 3)]

        var msg = message
        if case .error(let m) = p.state { msg = m }
        let reserved = compact ? compactKeys.count + 2 : 0
        // A fresh message (a saved file's path, an error) matters more than size, optimizer and memory,
        // but the iteration, its rate and the ETA stay.
        let budget = rect.maxX - x - reserved - (msg.map { $0.count + 4 } ?? 0)
        let kept = Fit.byRank(parts, width: budget, rank: { msg != nil && $0.rank <= 2 ? 0 : $0.rank }) { $0.text.count + 2 }
        x += g.put(x, rect.y, kept.map(\.text).joined(separator: "  "), st.status, limit: max(0, rect.maxX - x - reserved))
        if let m = msg, x + 4 < rect.maxX - reserved {
            x += 2
            let style = messageIsError || { if case .error = p.state { return true } else { return false } }()
                ? Style(fg: st.error.fg, bg: st.status.bg, attrs: .bold, monoAttrs: .reverse) : st.status
            g.put(x, rect.y, "│ " + m, style, limit: rect.maxX - x - reserved - 1)
        }
        if compact && rect.maxX - compactKeys.count - 1 > x {
            g.put(rect.maxX - compactKeys.count - 1, rect.y, compactKeys, st.statusAccent)
        }
    }

    /// Seconds of work left to the iteration limit at the measured rate; nil once there or unmeasured.
    static func eta(progress p: EngineProgress, rate: Double?) -> Double? {
        guard let rate, p.state != .finished, p.iteration < p.settings.iterations else { return nil }
        return Double(p.settings.iterations - p.iteration) * rate
    }

    /// The key hints, in the order shown, each with its rank: at narrow widths the highest rank goes
    /// first. Help and quit (rank 0) are never dropped: with them on screen, everything else can be found.
    static let hintKeys: [(key: String, what: String, rank: Int)] = [
        ("space", "pause", 1), ("←→", "change", 2), ("↑↓", "select", 3), ("=", "type value", 5), ("s", "snapshot", 4),
        ("o", "optimizer", 8), ("r", "restart", 7), ("u", "upscale", 6), ("c", "colors", 8), ("p", "preset", 9), ("v", "view", 9), ("t", "theme", 10),
        ("?", "help", 0), ("q", "quit", 0),
    ]

    /// What space does now: pause, resume, or (at the iteration limit) continue.
    static func spaceLabel(state: EngineState, paused: Bool) -> String {
        if state == .finished { return "continue" }
        return paused ? "resume" : "pause"
    }

    static func drawHint(_ g: inout CellGrid, _ rect: Rect, space: String = "pause", st: ThemeStyles) {
        g.fill(rect, " ", st.base)
        let items = hintKeys.map { (key: $0.key, what: $0.key == "space" ? space : $0.what, rank: $0.rank) }
        // Each hint takes "key what" plus two spaces after it.
        let kept = Fit.byRank(items, width: rect.w - 1) { $0.key.count + $0.what.count + 3 }
        var x = rect.x + 1
        for h in kept {
            x += g.put(x, rect.y, h.key, st.accent) + 1
            x += g.put(x, rect.y, h.what, st.dim) + 2
        }
    }
}

/// Choosing what fits in a line of fixed width.
enum Fit {
    /// The items whose widths fit in `width`, dropping the highest `rank` first (the last of equals first);
    /// rank 0 is never dropped. Order is kept.
    static func byRank<T>(_ items: [T], width: Int, rank: (T) -> Int = { _ in 1 }, _ cost: (T) -> Int) -> [T] {
        var keep = Array(repeating: true, count: items.count)
        var total = items.map(cost).reduce(0, +)
        while total > width {
            var worst: Int?
            for i in items.indices where keep[i] && rank(items[i]) > 0 {
                if worst == nil || rank(items[i]) >= rank(items[worst!]) { worst = i }
            }
            guard let w = worst else { break }
            keep[w] = false; total -= cost(items[w])
        }
        return items.indices.filter { keep[$0] }.map { items[$0] }
    }

    static func byRank(_ items: [(key: String, what: String, rank: Int)], width: Int,
                       _ cost: ((key: String, what: String, rank: Int)) -> Int) -> [(key: String, what: String, rank: Int)] {
        byRank(items, width: width, rank: { $0.rank }, cost)
    }
}

// MARK: - Overlays

enum OverlayWidget {
    /// A centred box over whatever is below, showing `lines` from `scroll` on when they do not all fit
    /// (the footer then says how to scroll). Returns the rect used and the largest useful `scroll`.
    @discardableResult
    static func drawBox(_ g: inout CellGrid, title: String, lines: [(String, String)], footer: String,
                        scroll: Int = 0, st: ThemeStyles) -> (rect: Rect, maxScroll: Int) {
        let keyW = lines.map { $0.0.count }.max() ?? 0
        let textW = lines.map { $0.1.count }.max() ?? 0
        let w = min(g.width - 2, max(keyW + textW + 6, footer.count + 4, title.count + 8))
        let h = min(g.height - 2, lines.count + 4)
        let r = Rect(x: (g.width - w) / 2, y: (g.height - h) / 2, w: w, h: h)
        g.fill(r, " ", st.overlay)
        g.box(r, title: title, border: st.title, titleStyle: st.title, rounded: false)
        let inner = r.inner
        guard inner.h > 0 else { return (r, 0) }
        // With room, a blank row above the lines and the footer below; without, every row but the footer
        // shows lines, and the footer says where in the list the window is.
        let fits = inner.h >= lines.count + 2
        let pad = fits ? 1 : 0
        let rows = fits ? lines.count : max(1, inner.h - 1)
        let maxScroll = max(0, lines.count - rows)
        let first = min(max(0, scroll), maxScroll)
        for (i, (k, t)) in lines[first..<min(lines.count, first + rows)].enumerated() {
            let y = inner.y + pad + i
            g.put(inner.x + 1, y, k, st.accent, limit: inner.w - 1)
            g.put(inner.x + 3 + keyW, y, t, st.base, limit: max(0, inner.maxX - (inner.x + 3 + keyW)))
        }
        let foot = fits ? footer
            : "↑↓ scroll · \(first + 1)–\(first + rows) of \(lines.count) · other keys close"
        if inner.h >= rows + pad + 1 {
            g.put(inner.x + max(0, (inner.w - foot.count) / 2), inner.maxY - 1, foot, st.dim, limit: inner.w)
        }
        return (r, maxScroll)
    }

    static func drawTooSmall(_ g: inout CellGrid, _ layout: ScreenLayout, st: ThemeStyles) {
        g.fill(g.bounds, " ", st.base)
        guard let r = layout.message else { return }
        let text = ScreenLayout.tooSmallMessage
        g.put(r.x, r.y, text, st.warning, limit: r.w)
        let size = "now \(layout.width)×\(layout.height)"
        if r.y + 1 < g.height { g.put(max(0, (g.width - size.count) / 2), r.y + 1, size, st.dim, limit: g.width) }
    }
}
