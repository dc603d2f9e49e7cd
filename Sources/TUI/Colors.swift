import Foundation

/// What the terminal can show, decided once at start-up from the environment and terminfo.
enum ColorMode: String, Equatable {
    case truecolor, c256 = "256", c16 = "16", mono

    /// For the help screen: what the preview is drawn with.
    var label: String {
        switch self {
        case .truecolor: return "24-bit colour"
        case .c256: return "256 colours"
        case .c16: return "16 colours"
        case .mono: return "no colour"
        }
    }

    /// NO_COLOR wins (https://no-color.org); COLORTERM is how terminals announce 24-bit colour,
    /// since terminfo usually doesn't; otherwise trust terminfo's colour count.
    static func detect(env: [String: String], hasColors: Bool, colors: Int, request: ColorRequest = .auto) -> ColorMode {
        switch request {
        case .mono: return .mono
        case .c16: return hasColors ? .c16 : .mono
        case .c256: return hasColors && colors >= 256 ? .c256 : (hasColors ? .c16 : .mono)
        case .direct: return hasColors ? .truecolor : .mono
        case .auto: break
        }
        if let nc = env["NO_COLOR"], !nc.isEmpty { return .mono }
        if !hasColors || colors < 8 { return .mono }
        if colors >= 1 << 24 { return .truecolor }
        let ct = (env["COLORTERM"] ?? "").lowercased()
        if (ct == "truecolor" || ct == "24bit") && colors >= 256 { return .truecolor }
        if colors >= 256 { return .c256 }
        return .c16
    }
}

/// What `--color` asks for; `auto` decides from the environment and terminfo.
enum ColorRequest: String, CaseIterable, Sendable {
    case auto, direct, c256 = "256", c16 = "16", mono
}

/// Which terminfo entry to open. Most terminals announce 24-bit colour only through COLORTERM while
/// TERM names a 256-colour entry (xterm-256color, or tmux-256color/screen-256color inside tmux), and
/// ncurses then sends 256 colours. When 24-bit colour is announced (or asked for with --color direct),
/// the entry's `-direct` sibling from ncurses-term is opened instead, so the preview gets real colours.
enum TerminalType {
    static func choose(env: [String: String], request: ColorRequest,
                       exists: (String) -> Bool = TerminalType.installed) -> String? {
        if let nc = env["NO_COLOR"], !nc.isEmpty, request == .auto { return nil }
        let term = env["TERM"] ?? ""
        let ct = (env["COLORTERM"] ?? "").lowercased()
        let wantsDirect = request == .direct || (request == .auto && (ct == "truecolor" || ct == "24bit"))
        guard wantsDirect, !term.isEmpty, !term.hasSuffix("-direct") else { return nil }
        var base = term
        for suffix in ["-256color", "-88color", "-16color", "-color"] where base.hasSuffix(suffix) {
            base = String(base.dropLast(suffix.count)); break
        }
        var candidates: [String] = []
        if base.hasPrefix("tmux") { candidates.append("tmux-direct") }
        // screen-256color is tmux's old default TERM; GNU screen itself (no $TMUX) does not pass
        // 24-bit colour through, so it keeps its 256 colours.
        else if base.hasPrefix("screen") { if env["TMUX"] != nil { candidates.append("tmux-direct") } }
        else if base.hasPrefix("xterm") { candidates.append("xterm-direct") }
        else { candidates.append(base + "-direct") }
        if request == .direct { candidates.append("xterm-direct") }
        return candidates.first(where: exists)
    }

    /// Whether a compiled terminfo entry of that name is installed where ncurses looks.
    static func installed(_ name: String) -> Bool {
        guard let first = name.first, !name.contains("/") else { return false }
        let env = ProcessInfo.processInfo.environment
        var dirs = [env["TERMINFO"], env["HOME"].map { $0 + "/.terminfo" }].compactMap { $0 }
        dirs += (env["TERMINFO_DIRS"] ?? "").split(separator: ":").map(String.init)
        dirs += ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo"]
        let hex = String(first.asciiValue ?? 0, radix: 16)
        return dirs.contains { d in
            FileManager.default.fileExists(atPath: "\(d)/\(first)/\(name)") || FileManager.default.fileExists(atPath: "\(d)/\(hex)/\(name)")
        }
    }
}

enum Palette {
    /// xterm's default 16 colours; only used to pick the nearest, the terminal shows its own.
    static let ansi16: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    static let cubeLevels = [0, 95, 135, 175, 215, 255]

    /// Direct-colour terminfo (xterm-direct and kin) sends colour numbers below 8 as the classic ANSI
    /// colours, so near-black 0x000001…0x000007 would show as red, green, blue…: lift them to 0x010101.
    static func directSafe(_ rgb: UInt32) -> UInt32 { rgb < 8 ? 0x010101 : rgb }

    @inline(__always) static func split(_ rgb: UInt32) -> (Int, Int, Int) {
        (Int(rgb >> 16 & 0xFF), Int(rgb >> 8 & 0xFF), Int(rgb & 0xFF))
    }
    @inline(__always) static func dist(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        // Weighted toward green the way the eye is; cheap and good enough for picking a palette entry.
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }

    /// Nearest of the 6×6×6 cube and the 24 greys (16…255); 0–15 are skipped since terminals redefine them.
    static func nearest256(_ rgb: UInt32) -> Int {
        let c = split(rgb)
        func level(_ v: Int) -> Int { v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40 }
        let (ri, gi, bi) = (level(c.0), level(c.1), level(c.2))
        let cube = (cubeLevels[ri], cubeLevels[gi], cubeLevels[bi])
        let avg = (c.0 + c.1 + c.2) / 3
        let gi2 = avg > 238 ? 23 : max(0, (avg - 3) / 10)
        let g = 8 + 10 * gi2
        return dist(c, (g, g, g)) < dist(c, cube) ? 232 + gi2 : 16 + 36 * ri + 6 * gi + bi
    }

    static func nearest16(_ rgb: UInt32, count: Int = 16) -> Int {
        let c = split(rgb)
        var best = 0, bestD = Int.max
        for i in 0..<min(count, 16) {
            let d = dist(c, ansi16[i])
            if d < bestD { bestD = d; best = i }
        }
        return best
    }
}
