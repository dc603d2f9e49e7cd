import CChafa
import Core
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The terminal image protocols chafa can write, for a sharp preview (pixels instead of cells).
enum GraphicsProtocol: String, CaseIterable, Sendable {
    case sixel, kitty, iterm
    var label: String { self == .iterm ? "iTerm2" : rawValue }
}

/// `--preview` and the config file's `preview`: a protocol, block symbols, or what the terminal has.
enum PreviewRequest: String, CaseIterable, Sendable {
    case auto, symbols, sixel, kitty, iterm

    static let choices = "auto, symbols, sixel, kitty or iterm"
}

/// Which graphics protocol the terminal speaks, from its environment, chafa's terminal database and
/// its answer to Primary Device Attributes. Pure, so each terminal's case is a test.
enum GraphicsDetect {
    /// What chafa's terminal database says for this environment (it knows foot, mlterm, WezTerm, kitty,
    /// iTerm2 … by TERM and TERM_PROGRAM).
    static func chafaProtocols(env: [String: String]) -> Set<GraphicsProtocol> {
        var strings: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") }
        defer { strings.forEach { free($0) } }
        strings.append(nil)
        guard let db = chafa_term_db_get_default(),
              let info = strings.withUnsafeMutableBufferPointer({ chafa_term_db_detect(db, $0.baseAddress) }) else { return [] }
        defer { chafa_term_info_unref(info) }
        var out: Set<GraphicsProtocol> = []
        if chafa_term_info_have_seq(info, CHAFA_TERM_SEQ_BEGIN_SIXELS) != 0 { out.insert(.sixel) }
        if chafa_term_info_have_seq(info, CHAFA_TERM_SEQ_BEGIN_KITTY_IMMEDIATE_IMAGE_V1) != 0 { out.insert(.kitty) }
        if chafa_term_info_have_seq(info, CHAFA_TERM_SEQ_BEGIN_ITERM2_IMAGE) != 0 { out.insert(.iterm) }
        return out
    }

    /// The protocol to use, or nil for block symbols. `attributes` are the numbers of the terminal's
    /// answer to `CSI c` (nil when it did not answer in time); 4 in them means sixel graphics.
    static func choose(request: PreviewRequest, env: [String: String], chafa: Set<GraphicsProtocol>,
                       attributes: [Int]?) -> GraphicsProtocol? {
        switch request {
        case .symbols: return nil
        case .sixel: return .sixel
        case .kitty: return .kitty
        case .iterm: return .iterm
        case .auto: break
        }
        let term = env["TERM"] ?? ""
        let sixelAnswer = attributes.map { $0.dropFirst().contains(4) } ?? false
        // Inside tmux or screen only sixel gets through (tmux 3.4 and later pass it on, and then say so
        // in their own answer to CSI c); kitty's and iTerm2's sequences would reach nothing.
        if env["TMUX"] != nil || term.hasPrefix("screen") || term.hasPrefix("tmux") {
            return sixelAnswer ? .sixel : nil
        }
        let program = env["TERM_PROGRAM"] ?? ""
        if term == "xterm-kitty" || env["KITTY_WINDOW_ID"] != nil || term == "xterm-ghostty" || program == "ghostty"
            || chafa.contains(.kitty) {
            return .kitty
        }
        if program == "iTerm.app" || chafa.contains(.iterm) { return .iterm }
        if sixelAnswer || chafa.contains(.sixel) || program == "WezTerm" || env["WEZTERM_EXECUTABLE"] != nil
            || env["WEZTERM_PANE"] != nil {
            return .sixel
        }
        return nil
    }

    /// The numbers of a Primary Device Attributes answer, `ESC [ ? 63 ; 1 ; 4 c`, found anywhere in
    /// `bytes` (keys typed meanwhile may surround it); nil when there is none.
    static func parseAttributes(_ bytes: [UInt8]) -> [Int]? {
        guard let body = csiBody(bytes, prefix: Array("\u{1B}[?".utf8), final: UInt8(ascii: "c")) else { return nil }
        return numbers(body)
    }

    /// The window's text-area size in pixels from the answer to `CSI 14 t`, `ESC [ 4 ; height ; width t`.
    static func parseWindowPixels(_ bytes: [UInt8]) -> (w: Int, h: Int)? {
        guard let body = csiBody(bytes, prefix: Array("\u{1B}[4;".utf8), final: UInt8(ascii: "t")),
              let n = numbers(body), n.count == 2, n[0] > 0, n[1] > 0, n[0] <= 1 << 15, n[1] <= 1 << 15 else { return nil }
        return (n[1], n[0])
    }

    /// The digits and semicolons between `prefix` and `final`, at most 64 of them.
    private static func csiBody(_ bytes: [UInt8], prefix: [UInt8], final: UInt8) -> [UInt8]? {
        guard bytes.count >= prefix.count else { return nil }
        var i = 0
        while i + prefix.count <= bytes.count {
            if Array(bytes[i..<i + prefix.count]) == prefix {
                var j = i + prefix.count
                var body: [UInt8] = []
                while j < bytes.count, body.count < 64, bytes[j] == UInt8(ascii: ";") || (48...57).contains(bytes[j]) {
                    body.append(bytes[j]); j += 1
                }
                if j < bytes.count && bytes[j] == final { return body }
            }
            i += 1
        }
        return nil
    }

    private static func numbers(_ body: [UInt8]) -> [Int]? {
        let parts = String(decoding: body, as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false)
        var out: [Int] = []
        for p in parts {
            guard p.count <= 6, let v = Int(p) else { return nil }
            out.append(v)
        }
        return out
    }
}

/// What the terminal says about itself at start: its device attributes (for sixel) and its window's
/// pixel size (for terminals that leave TIOCGWINSZ's pixel fields at 0).
struct TerminalAnswers {
    var attributes: [Int]?
    var windowPixels: (w: Int, h: Int)?

    /// Asks with `CSI 14 t` then `CSI c` and reads until the device attributes arrive (every terminal
    /// answers that one, after the first) or `timeout` seconds pass. The terminal must be in raw mode.
    /// Anything typed meanwhile is lost, which at start is nothing.
    static func query(timeout: Double) -> TerminalAnswers {
        let ask = Array("\u{1B}[14t\u{1B}[c".utf8)
        guard ask.withUnsafeBytes({ write(STDOUT_FILENO, $0.baseAddress!, $0.count) }) == ask.count else { return .init() }
        var got: [UInt8] = []
        let end = ProcessInfo.processInfo.systemUptime + timeout
        var chunk = [UInt8](repeating: 0, count: 256)
        while got.count < 4096 {
            let left = end - ProcessInfo.processInfo.systemUptime
            if left <= 0 { break }
            var p = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(max(1, left * 1000)))
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            got += chunk[0..<n]
            if GraphicsDetect.parseAttributes(got) != nil { break }
        }
        return TerminalAnswers(attributes: GraphicsDetect.parseAttributes(got),
                               windowPixels: GraphicsDetect.parseWindowPixels(got))
    }
}
