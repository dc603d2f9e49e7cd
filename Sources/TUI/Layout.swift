/// Where each pane goes for a terminal size. Pure arithmetic, so it is tested at fixed sizes.
struct ScreenLayout: Equatable {
    enum Kind: Equatable { case full, compact, tooSmall }

    static let minWidth = 60, minHeight = 18
    static let fullWidth = 100, fullHeight = 30
    static let tooSmallMessage = "enlarge the terminal to at least \(minWidth)×\(minHeight)"

    var kind: Kind
    var width: Int, height: Int
    var preview = Rect(x: 0, y: 0, w: 0, h: 0)
    var chart: Rect?
    var sliders = Rect(x: 0, y: 0, w: 0, h: 0)
    var status = Rect(x: 0, y: 0, w: 0, h: 0)
    var hint: Rect?
    /// Only for `.tooSmall`: the line the message is centred in.
    var message: Rect?

    /// The slider rows, the line saying what the selected one does, and the α/β ratio, inside a border.
    static func slidersHeight(rows: Int) -> Int { rows + 4 }
    /// The sliders of a run with one style.
    static let defaultSliderRows = SliderKind.allCases.count
    static let slidersHeight = slidersHeight(rows: defaultSliderRows)

    /// Every pane that is drawn, for overlap checks.
    var panes: [Rect] {
        if kind == .tooSmall { return message.map { [$0] } ?? [] }
        return [preview, sliders, status] + [chart, hint].compactMap { $0 }
    }

    /// `sliderRows`: how many sliders there are (more with several styles); the pane grows for them,
    /// up to what leaves the chart six rows (the sliders then scroll).
    static func compute(width: Int, height: Int, sliderRows: Int = defaultSliderRows) -> ScreenLayout {
        var l = ScreenLayout(kind: .tooSmall, width: width, height: height)
        guard width >= minWidth && height >= minHeight else {
            let text = tooSmallMessage.count
            let w = min(width, text)
            l.message = Rect(x: max(0, (width - w) / 2), y: max(0, height / 2), w: w, h: height > 0 ? 1 : 0)
            return l
        }
        let full = width >= fullWidth && height >= fullHeight
        l.kind = full ? .full : .compact
        // The right column holds the chart and sliders; the preview keeps the rest because it is the point.
        let rightW = full ? min(60, max(40, width * 38 / 100)) : min(40, max(30, width * 42 / 100))
        let bottomRows = full ? 2 : 1
        let paneH = height - bottomRows
        let leftW = width - rightW
        let slidersHeight = max(Self.slidersHeight, min(Self.slidersHeight(rows: sliderRows), paneH - 6))
        l.preview = Rect(x: 0, y: 0, w: leftW, h: paneH)
        l.status = Rect(x: 0, y: paneH, w: width, h: 1)
        if full {
            l.hint = Rect(x: 0, y: paneH + 1, w: width, h: 1)
            // Sliders at the bottom, under the chart, so the chart's time axis sits near the status line.
            l.sliders = Rect(x: leftW, y: paneH - slidersHeight, w: rightW, h: slidersHeight)
            l.chart = Rect(x: leftW, y: 0, w: rightW, h: paneH - slidersHeight)
        } else {
            // Sliders first: in the compact layout they must always be visible; the chart gets what is left.
            l.sliders = Rect(x: leftW, y: 0, w: rightW, h: slidersHeight)
            let rest = paneH - slidersHeight
            if rest >= 6 { l.chart = Rect(x: leftW, y: slidersHeight, w: rightW, h: rest) }
        }
        return l
    }
}
