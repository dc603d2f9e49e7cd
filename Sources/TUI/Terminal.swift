import CNcurses
import Core
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// ncurses' attribute macros are function-like, so Swift does not import them.
private let cA_UNDERLINE: UInt32 = 1 << 17
private let cA_REVERSE: UInt32 = 1 << 18
private let cA_DIM: UInt32 = 1 << 20
private let cA_BOLD: UInt32 = 1 << 21

/// The curses side: owns the terminal, maps styles to colour pairs and copies changed cells.
final class CursesScreen {
    let colorMode: ColorMode
    /// The terminal takes 24-bit colour numbers directly (terminfo RGB, e.g. TERM=xterm-direct).
    let direct: Bool
    let colors: Int
    let maxPairs: Int
    private var previous: CellGrid?
    /// Per style id: the pair and attributes it resolved to, invalidated with the pair table.
    private var resolved: [Int32?] = []
    private weak var lastTable: StyleTable?
    private var pairs: [UInt64: Int32] = [:]
    private var nextPair: Int32 = 1
    private var lastPairReset = -Double.infinity
    private var defaultColors = false

    /// The terminfo entry opened (TERM, or its `-direct` sibling for 24-bit colour).
    let terminalName: String
    /// Whether mouse reports were asked for (see MouseInput).
    let mouse: Bool
    /// Everything sent to the terminal goes through here, never straight to stdout (see TerminalOutput).
    let output: TerminalOutput
    private var modes: TerminalModes

    /// `modes` is the terminal already in raw mode (the start-up queries needed it), restored by `end()`.
    init(env: [String: String] = ProcessInfo.processInfo.environment, request: ColorRequest = .auto, mouse: Bool = true,
         modes: TerminalModes = TerminalModes()) throws {
        self.mouse = mouse
        self.modes = modes
        setlocale(LC_ALL, "")
        // Whatever fails from here leaves the terminal as the shell had it.
        do { output = try TerminalOutput() } catch { modes.restore(); throw error }
        // ncurses writes into the output pipe. Its own tty calls then have nothing to act on, so the input
        // modes and the window size are ours to set (TerminalModes, resize()).
        guard let ofp = fdopen(output.writeFD, "w") else {
            modes.restore()
            throw RestyleError.internal("fdopen of the output pipe failed")
        }
        // newterm rather than initscr: initscr exits the process on an unknown TERM, newterm lets us say why.
        let directName = TerminalType.choose(env: env, request: request)
        // Its size too: curses would take terminfo's 24×80 and set the scroll region to it, and an image
        // reaching below that row would then scroll part of the screen.
        if let ws = TerminalModes.windowSize() {
            setenv("LINES", "\(ws.ws_row)", 1); setenv("COLUMNS", "\(ws.ws_col)", 1)
        }
        defer { unsetenv("LINES"); unsetenv("COLUMNS") }
        var opened = directName.flatMap { name in name.withCString { newterm($0, ofp, restyle_stdin()) } }
        terminalName = opened != nil ? directName! : (env["TERM"] ?? "unset")
        if opened == nil { opened = newterm(nil, ofp, restyle_stdin()) }
        guard opened != nil else {
            self.modes.restore()
            throw RestyleError.badInput("cannot use this terminal (TERM=\(env["TERM"] ?? "unset")); try TERM=xterm-256color")
        }
        // A terminal that cannot move the cursor (TERM=dumb) would get a garbled scroll of frames.
        let cup = tigetstr("cup")
        if cup == nil || Int(bitPattern: cup) == -1 {
            endwin()
            output.drain(timeout: 1)
            self.modes.restore()
            throw RestyleError.badInput("this terminal cannot move the cursor (TERM=\(env["TERM"] ?? "unset")); use a full terminal, or `restyle run` for headless work")
        }
        // Ctrl-C and Ctrl-Z arrive as keys, handled like q and suspend. The calls only set curses' own
        // flags here (its descriptor is the pipe); TerminalModes sets the tty.
        self.modes.enterRaw()
        raw()
        noecho()
        nonl()
        keypad(restyle_stdscr(), true)
        wtimeout(restyle_stdscr(), 40)
        set_escdelay(25)
        curs_set(0)
        var has = has_colors()
        if has {
            start_color()
            defaultColors = use_default_colors() == OK
        }
        colors = Int(restyle_colors())
        maxPairs = Int(restyle_color_pairs())
        has = has && colors >= 8
        colorMode = ColorMode.detect(env: env, hasColors: has, colors: colors, request: request)
        let rgbFlag = tigetflag("RGB")
        direct = colorMode == .truecolor && (rgbFlag > 0 || colors >= 1 << 24)
        if mouse {
            // The report prefix becomes one key of our own (replacing terminfo's kmous where that is the
            // same string), and readKey parses the rest.
            _ = define_key("\u{1B}[<", 0)
            _ = define_key("\u{1B}[<", MouseInput.sgrPrefixKeyCode)
            setMouseReporting(true)
        }
        resize()
    }

    /// Written straight to the terminal rather than with putp, whose bytes did not reach it here (they
    /// are not in curses' output buffer that doupdate flushes). It is called where that buffer is empty
    /// (after a frame's doupdate, before endwin), or at start, where curses' set-up strings follow it;
    /// those do not reset the mouse modes.
    private func setMouseReporting(_ on: Bool) {
        guard mouse else { return }
        output.send(on ? MouseInput.enableSequence : MouseInput.disableSequence)
    }

    var size: (w: Int, h: Int) { (Int(getmaxx(restyle_stdscr())), Int(getmaxy(restyle_stdscr()))) }

    /// Takes the terminal's size from the tty (curses cannot: its descriptor is the pipe). Called at
    /// start and on SIGWINCH, which we watch ourselves for the same reason.
    func resize() {
        guard let ws = TerminalModes.windowSize() else { return }
        if Int(ws.ws_col) != size.w || Int(ws.ws_row) != size.h { resizeterm(Int32(ws.ws_row), Int32(ws.ws_col)) }
    }

    /// Real pixel size of a cell when the terminal reports it (many do over TIOCGWINSZ, some report 0).
    var cellPixelSize: (w: Double, h: Double)? {
        guard let ws = TerminalModes.windowSize(), ws.ws_xpixel > 0, ws.ws_ypixel > 0 else { return nil }
        return (Double(ws.ws_xpixel) / Double(ws.ws_col), Double(ws.ws_ypixel) / Double(ws.ws_row))
    }

    private var keyWaitMs: Int32 = 40
    /// How long readKey waits for a key: short while a frame waits for the terminal to take the last
    /// one, so it follows as soon as it can.
    func setKeyWait(milliseconds ms: Int32) {
        guard ms != keyWaitMs else { return }
        keyWaitMs = ms
        wtimeout(restyle_stdscr(), ms)
    }

    func readKey() -> Key? {
        var wch: wint_t = 0
        let r = wget_wch(restyle_stdscr(), &wch)
        if r == ERR { return nil }
        let v = Int32(bitPattern: wch)
        if r == KEY_CODE_YES {
            if v == MouseInput.sgrPrefixKeyCode { return readMouseReport() }
            switch v {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_SLEFT: return .shiftLeft
            case KEY_SRIGHT: return .shiftRight
            case KEY_BTAB: return .backTab
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case KEY_RESIZE: return .resize
            default: return .other(Int(v))
            }
        }
        switch v {
        case 3: return .ctrlC
        case 26: return .ctrlZ
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default:
            guard let s = Unicode.Scalar(UInt32(v)), v >= 32 else { return .other(Int(v)) }
            return .char(Character(s))
        }
    }

    /// The rest of an SGR mouse report after its `ESC [ <` prefix: digits and semicolons up to `M` or
    /// `m`, which arrive with the prefix. Anything else ends it as not a report.
    private func readMouseReport() -> Key {
        var body = ""
        while body.count < MouseInput.maxBodyLength {
            var wch: wint_t = 0
            let r = wget_wch(restyle_stdscr(), &wch)
            guard r == OK, let s = Unicode.Scalar(UInt32(wch)) else { break }
            body.unicodeScalars.append(s)
            if s == "M" || s == "m" { break }
            if !(s == ";" || ("0"..."9").contains(s)) { break }
        }
        return MouseInput.parseSGR(body).map { .mouse($0) } ?? .other(Int(MouseInput.sgrPrefixKeyCode))
    }

    /// Screen clears so far (GraphicsSink): each one erases sixel and iTerm2 images.
    private(set) var clears = 0
    /// Set when rows were marked for rewriting (GraphicsSink.repaint): the loop draws again at once.
    var repaintRequested = false

    /// Forget what is on screen: after a resize, a theme change or coming back from suspend.
    func invalidate(clearScreen: Bool) {
        clears += 1
        previous = nil
        if clearScreen { clear() } else { clearok(restyle_curscr(), true) }
    }

    private func colorNumber(_ c: TermColor, isBackground: Bool) -> Int32 {
        if c.isDefault { return defaultColors ? -1 : (isBackground ? 0 : 7) }
        if let i = c.index { return Int32(colors >= 256 ? i : (i < colors ? i : i % 8)) }
        let rgb = c.rgbValue ?? 0
        switch colorMode {
        case .truecolor: return direct ? Int32(bitPattern: Palette.directSafe(rgb)) : Int32(Palette.nearest256(rgb))
        case .c256: return Int32(Palette.nearest256(rgb))
        case .c16: return Int32(Palette.nearest16(rgb, count: min(16, colors)))
        case .mono: return -1
        }
    }

    private func pair(fg: Int32, bg: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: fg)) << 32 | UInt64(UInt32(bitPattern: bg))
        if let p = pairs[key] { return p }
        guard Int(nextPair) < maxPairs else { return 0 }
        let p = nextPair
        guard init_extended_pair(p, fg, bg) == OK else { return 0 }
        nextPair += 1
        pairs[key] = p
        return p
    }

    private func attrs(_ s: Style) -> UInt32 {
        let a = colorMode == .mono ? s.attrs.union(s.monoAttrs) : s.attrs
        var r: UInt32 = 0
        if a.contains(.bold) { r |= cA_BOLD }
        if a.contains(.dim) { r |= cA_DIM }
        if a.contains(.reverse) { r |= cA_REVERSE }
        if a.contains(.underline) { r |= cA_UNDERLINE }
        return r
    }

    /// Copies the cells that differ from the last frame, then one doupdate: curses then sends
    /// only what changed on the terminal, which keeps output small over SSH.
    func present(_ g: CellGrid) {
        let table = g.table
        // Style ids are only meaningful within one table; a new table (theme change) means new ids.
        if table !== lastTable { resolved = []; lastTable = table; previous = nil }
        if let p = previous, p.width != g.width || p.height != g.height { previous = nil }
        // Reset the pair table before a frame that would overflow it, rather than in the middle of one.
        // Rate-limited: on a terminal with few pairs (TERM=xterm has 64) a busy picture could otherwise
        // force a full repaint every frame, which is exactly what must not happen over SSH.
        let t = ProcessInfo.processInfo.systemUptime
        if colorMode != .mono && Int(nextPair) >= maxPairs && t - lastPairReset > 5 {
            pairs.removeAll(); nextPair = 1; resolved = []; previous = nil; lastPairReset = t
        }
        if resolved.count < table.count { resolved += Array(repeating: nil, count: table.count - resolved.count) }
        var cc = cchar_t()
        var wstr: [wchar_t] = [0, 0]
        for y in 0..<g.height {
            for x in 0..<g.width {
                let i = y * g.width + x
                let ch = g.chars[i], sid = g.styleIds[i]
                if let p = previous, p.chars[i] == ch, p.styleIds[i] == sid { continue }
                let style = table[sid]
                var pairNo: Int32 = 0
                if colorMode != .mono {
                    if let r = resolved[Int(sid)] { pairNo = r } else {
                        pairNo = pair(fg: colorNumber(style.fg, isBackground: false), bg: colorNumber(style.bg, isBackground: true))
                        resolved[Int(sid)] = pairNo
                    }
                }
                wstr[0] = wchar_t(bitPattern: ch.value)
                // The pair goes through the `opts` pointer: the short argument cannot hold pairs above 32767.
                _ = withUnsafeMutablePointer(to: &pairNo) { pp in
                    setcchar(&cc, wstr, attr_t(attrs(style)), 0, UnsafeMutableRawPointer(pp))
                }
                // The bottom-right cell returns ERR because the cursor cannot advance; the cell is still drawn.
                _ = mvwadd_wch(restyle_stdscr(), Int32(y), Int32(x), &cc)
            }
        }
        previous = g
        wnoutrefresh(restyle_stdscr())
        doupdate()
    }

    /// Ctrl-Z / SIGTSTP: give the terminal back, stop, and repaint everything when continued.
    func suspend() {
        setMouseReporting(false)
        endwin()
        // The shell's prompt must not arrive before curses' goodbye; a stalled link gets a second.
        output.drain(timeout: 1)
        modes.restore()
        // Execution continues after raise() once the shell sends SIGCONT.
        Signals.withDefaultAction(SIGTSTP) { _ = raise(SIGTSTP) }
        modes.enterRaw()
        resize()
        wrefresh(restyle_stdscr())
        setMouseReporting(true)
        invalidate(clearScreen: false)
    }

    /// The shell gets its terminal back as it was: mouse reporting off, then curses' own restore, then
    /// the input modes. Waits at most `timeout` for a slow link to take the last bytes.
    func end(timeout: Double = 1) {
        setMouseReporting(false)
        endwin()
        output.drain(timeout: timeout)
        modes.restore()
    }
}

extension CursesScreen: GraphicsSink {
    var backlog: Int { output.backlog }
    func send(_ bytes: [UInt8]) { output.send(bytes) }
    func repaint(rows: Range<Int>) {
        let r = rows.clamped(to: 0..<max(0, size.h))
        guard !r.isEmpty else { return }
        _ = wredrawln(restyle_stdscr(), Int32(r.lowerBound), Int32(r.count))
        repaintRequested = true
    }
}
