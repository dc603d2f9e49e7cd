import Foundation

/// One mouse report, in screen cells from 0.
struct MouseEvent: Equatable {
    enum Kind: Equatable { case press, release, drag, wheelUp, wheelDown }
    var kind: Kind
    /// 0 left, 1 middle, 2 right (for press, release and drag).
    var button = 0
    var x: Int, y: Int
}

/// The terminal's SGR mouse reports (xterm mode 1006), decoded without curses so it can be tested.
///
/// restyle asks for them itself (button-event tracking 1002 plus SGR encoding 1006) instead of through
/// ncurses' mousemask: ncurses encodes reports the way the terminfo entry says, and the entries of tmux
/// and screen (`kmous=\E[M`, no `XM`) would give the old X10 encoding, which cannot name a column past
/// 223 and carries no release button. The report's prefix `ESC [ <` is bound to a key code of our own
/// (`Terminal`), and the rest, `Cb;Cx;Cy` then `M` (press, motion) or `m` (release), is parsed here.
enum MouseInput {
    /// The key code ncurses returns for `ESC [ <`; above every KEY_* code (KEY_MAX is 0777).
    static let sgrPrefixKeyCode: Int32 = 0o1001
    /// The longest report body we accept ("65535;65535;65535M"); anything longer is not a report.
    static let maxBodyLength = 20

    /// Turns tracking on and off; written through curses' output so it is ordered with the frames.
    static let enableSequence = "\u{1B}[?1002h\u{1B}[?1006h"
    static let disableSequence = "\u{1B}[?1006l\u{1B}[?1002l"

    /// `body` is what follows `ESC [ <`, e.g. "0;12;5M". nil for anything that is not a well-formed report.
    static func parseSGR(_ body: String) -> MouseEvent? {
        guard body.count <= maxBodyLength, let last = body.last, last == "M" || last == "m" else { return nil }
        let fields = body.dropLast().split(separator: ";", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        var n: [Int] = []
        for f in fields {
            guard !f.isEmpty, f.count <= 5, f.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(f) else { return nil }
            n.append(v)
        }
        let (cb, cx, cy) = (n[0], n[1], n[2])
        // Cx and Cy count from 1.
        guard cx >= 1, cy >= 1 else { return nil }
        let x = cx - 1, y = cy - 1
        // Bits of Cb: 0–1 button, 2–4 shift/meta/ctrl (ignored), 5 motion, 6 wheel.
        let button = cb & 3
        if cb & 64 != 0 {
            // 64 up, 65 down; 66/67 (sideways) are not used here.
            switch button {
            case 0: return MouseEvent(kind: .wheelUp, x: x, y: y)
            case 1: return MouseEvent(kind: .wheelDown, x: x, y: y)
            default: return nil
            }
        }
        if last == "m" { return MouseEvent(kind: .release, button: button, x: x, y: y) }
        if cb & 32 != 0 {
            // Motion with no button held (3) only comes in mode 1003, which is not asked for.
            return button == 3 ? nil : MouseEvent(kind: .drag, button: button, x: x, y: y)
        }
        return button == 3 ? nil : MouseEvent(kind: .press, button: button, x: x, y: y)
    }
}

extension App {
    /// A mouse report, hit-tested against the layout last drawn. Clicks and the wheel do what keys do:
    /// a slider row selects it, its bar sets the value (shown while dragging, applied on release), the
    /// wheel moves it a notch, the `1 2 3` in the preview's title switch the view. Questions (restart,
    /// the value editor) are answered with keys only, so a stray click never answers one.
    func handleMouse(_ e: MouseEvent) {
        if editor != nil || confirmRestart { return }
        if showHelp {
            switch e.kind {
            case .wheelUp: helpScroll = max(0, min(helpScroll, helpScrollMax) - 3)
            case .wheelDown: helpScroll = min(helpScroll + 3, helpScrollMax)
            case .press: showHelp = false
            default: break
            }
            return
        }
        let layout = self.layout(width: screenSize.w, height: screenSize.h)
        guard layout.kind != .tooSmall else { return }
        switch e.kind {
        case .press where e.button == 0:
            endDrag()
            if let kind = SlidersWidget.row(at: e.x, e.y, in: layout.sliders, kinds: sliderKinds, selected: selected) {
                selected = kind
                if let v = SlidersWidget.value(at: e.x, kind: kind, in: layout.sliders, clampOutside: false) {
                    dragSlider(kind, to: v)
                }
            } else if let tab = previewTab(at: e.x, e.y, layout: layout) {
                source = tab
            }
        case .drag where e.button == 0:
            if let kind = dragging, let v = SlidersWidget.value(at: e.x, kind: kind, in: layout.sliders, clampOutside: true) {
                dragSlider(kind, to: v)
            }
        case .release:
            endDrag()
        case .wheelUp, .wheelDown:
            guard layout.sliders.contains(Rect(x: e.x, y: e.y, w: 1, h: 1)) else { return }
            endDrag()
            if let kind = SlidersWidget.row(at: e.x, e.y, in: layout.sliders, kinds: sliderKinds, selected: selected) { selected = kind }
            step(notches: e.kind == .wheelUp ? 1 : -1, big: false)
        default:
            break
        }
    }

    /// Which of the `1 2 3` in the preview pane's title is at (x, y), when the title shows them.
    func previewTab(at x: Int, _ y: Int, layout: ScreenLayout) -> PreviewSource? {
        let r = layout.preview
        guard y == r.y else { return nil }
        guard let start = PreviewTabs.firstColumn(rect: r) else { return nil }
        for s in PreviewSource.allCases where x == start + 2 * s.rawValue { return s }
        return nil
    }
}

/// Where the view tabs sit in the preview pane's top border: the title is "1 2 3 · <name>", tabs first,
/// so they stay put when the name changes with the view.
enum PreviewTabs {
    static let prefix = "1 2 3 · "
    /// Column of the "1", or nil when the border is too narrow to show all three.
    static func firstColumn(rect: Rect) -> Int? {
        // CellGrid.box writes the title from x+2, at most w-5 columns.
        rect.w - 5 >= 5 ? rect.x + 2 : nil
    }
}
