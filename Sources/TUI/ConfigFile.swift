import Core
import Foundation

/// `${XDG_CONFIG_HOME:-~/.config}/restyle/config`: the screen's defaults, read at start, and the theme
/// `t` last picked, written back. Command-line options override it; `restyle run` does not read it.
///
/// It is a file a user may have been sent, so it is read like every other untrusted file: a regular file
/// (or a link to one) of at most 64 KB, UTF-8, `key = value` lines (`#` comments, blank lines, LF or
/// CRLF). Nothing in it stops restyle from starting: a line that cannot be used is reported, in one
/// warning line for the whole file, and the default is kept.
enum ConfigFile {
    static let sizeLimit = 64 << 10

    /// The documented keys.
    static let keys = ["theme", "fps", "size", "autosave", "preview", "color", "mouse"]

    /// What the file sets; nil where it sets nothing usable.
    struct Values: Equatable {
        var theme: String?
        var fps: Double?
        var size: Int?
        var autosave: Double?
        var preview: PreviewRequest?
        var color: ColorRequest?
        var mouse: Bool?
    }

    /// The path for this environment, or nil without HOME. A relative XDG_CONFIG_HOME is ignored, as the
    /// XDG spec says.
    static func path(env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let x = env["XDG_CONFIG_HOME"], x.hasPrefix("/") { return x + "/restyle/config" }
        guard let home = env["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/restyle/config"
    }

    // MARK: reading

    /// Parses the text; returns the values and, if anything was not usable, one line saying what.
    static func parse(_ text: String) -> (values: Values, warning: String?) {
        var v = Values()
        var unknown: [String] = []
        var problems: [String] = []
        for (i, line) in lines(text).enumerated() {
            let n = i + 1
            guard let (key, value) = keyValue(line.content) else {
                if !isBlankOrComment(line.content) { problems.append("line \(n): expected 'key = value'") }
                continue
            }
            func bad(_ why: String) { problems.append("line \(n): \(key): \(why), got '\(clip(value))'") }
            switch key {
            case "theme":
                if value.isEmpty || value.count > 1024 || value.unicodeScalars.contains(where: isControl) {
                    bad("expected a theme name or path")
                } else { v.theme = value }
            case "fps":
                if let d = Double(value), d.isFinite, d > 0, d <= 1000 { v.fps = d } else { bad("expected a number above 0, at most 1000") }
            case "size":
                if let s = Int(value), (Limits.minSide...Limits.maxSide).contains(s) { v.size = s }
                else { bad("expected a whole number from \(Limits.minSide) to \(Limits.maxSide)") }
            case "autosave":
                if let d = Double(value), d.isFinite, d >= 0, d <= 86400 * 365 { v.autosave = d } else { bad("expected seconds, 0 or more") }
            case "preview":
                if let p = PreviewRequest(rawValue: value.lowercased()) { v.preview = p } else { bad("expected \(PreviewRequest.choices)") }
            case "color", "colour":
                if let c = ColorRequest(rawValue: value) { v.color = c } else { bad("expected auto, direct, 256, 16 or mono") }
            case "mouse":
                switch value.lowercased() {
                case "on", "yes", "true", "1": v.mouse = true
                case "off", "no", "false", "0": v.mouse = false
                default: bad("expected on or off")
                }
            default:
                unknown.append("'\(clip(key))' (line \(n))")
            }
        }
        var said: [String] = []
        if !unknown.isEmpty {
            let shown = unknown.prefix(5).joined(separator: ", ")
            said.append("unknown keys ignored: \(shown)" + (unknown.count > 5 ? " and \(unknown.count - 5) more" : "")
                        + " (known: \(keys.joined(separator: ", ")))")
        }
        if !problems.isEmpty {
            said.append(problems.prefix(3).joined(separator: "; ") + (problems.count > 3 ? "; and \(problems.count - 3) more" : ""))
        }
        return (v, said.isEmpty ? nil : said.joined(separator: "; "))
    }

    /// Reads and parses the file at `path`. Never throws: a missing file is no settings, and a file that
    /// cannot be used at all (not regular, too large, not UTF-8) is reported and ignored. The warning
    /// does not name the file; the caller does.
    static func load(_ path: String) -> (values: Values, warning: String?) {
        let text: String
        switch read(path) {
        case .success(nil): return (Values(), nil)
        case .success(let t?): text = t
        case .failure(let e): return (Values(), "\(e.message); ignored")
        }
        return parse(text)
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The file's text; nil when there is no file.
    static func read(_ path: String) -> Result<String?, Failure> {
        var info = stat()
        if stat(path, &info) != 0 {
            return errno == ENOENT ? .success(nil) : .failure(Failure(message: "cannot read: \(String(cString: strerror(errno)))"))
        }
        // An empty regular file is an empty config; FileRead would call it an error.
        if info.st_mode & S_IFMT == S_IFREG && info.st_size == 0 { return .success("") }
        let bytes: [UInt8]
        do { bytes = try FileRead.regularFile(path, limit: sizeLimit, what: "config file") } catch let e as RestyleError {
            // RestyleError says "<path>: problem"; the caller names the file itself.
            let d = e.description
            return .failure(Failure(message: d.hasPrefix(path + ": ") ? String(d.dropFirst(path.count + 2)) : d))
        } catch {
            return .failure(Failure(message: "\(error)"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(Failure(message: "not UTF-8 text")) }
        return .success(text)
    }

    // MARK: writing the theme back

    /// Remembers `theme` in the file at `path`: its `theme` line is replaced (the last one, which is the
    /// one in force) or one is added; every other byte stays as it was. Written atomically, keeping the
    /// file's mode and writing through a link. A file that could not be read as a config is not touched.
    static func rememberTheme(_ theme: String, at path: String) throws {
        guard isRememberable(theme) else { throw Failure(message: "a theme name with control characters or '#' is not written to the config") }
        let old: String
        switch read(path) {
        case .success(let t): old = t ?? "# restyle's settings; see the README's \"Config file\" section.\n"
        case .failure(let e): throw Failure(message: "\(path): \(e.message); not changed")
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try AtomicFile.write(Data(replacingTheme(in: old, with: theme).utf8), to: path)
    }

    /// A name that reads back as itself: no control character (a newline would start a new line) and no
    /// `#` (which starts a comment).
    static func isRememberable(_ theme: String) -> Bool {
        !theme.isEmpty && !theme.unicodeScalars.contains(where: isControl) && !theme.contains("#")
            && theme == theme.trimmingCharacters(in: .whitespaces)
    }

    /// `text` with its effective theme line set to `theme`; pure, for testing.
    static func replacingTheme(in text: String, with theme: String) -> String {
        var ls = lines(text)
        let newLine = "theme = \(theme)"
        if let i = ls.lastIndex(where: { keyValue($0.content)?.key == "theme" }) {
            ls[i].content = newLine
        } else {
            // Appended with the file's own line ending; the last line gets one first if it had none.
            let ending = text.contains("\r\n") ? "\r\n" : "\n"
            if let last = ls.indices.last, ls[last].ending.isEmpty {
                if ls[last].content.isEmpty { ls.removeLast() } else { ls[last].ending = ending }
            }
            ls.append((newLine, ending))
        }
        return ls.map { $0.content + $0.ending }.joined()
    }

    // MARK: lines

    /// Lines with their own endings (LF, CRLF or CR; the last may have none), so writing back changes
    /// nothing it did not mean to. Split on scalars: in Swift "\r\n" is one Character.
    static func lines(_ text: String) -> [(content: String, ending: String)] {
        var out: [(String, String)] = []
        var cur = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if s == "\n" || s == "\r" {
                var ending = String(s)
                if s == "\r" && i + 1 < scalars.count && scalars[i + 1] == "\n" { ending = "\r\n"; i += 1 }
                out.append((String(cur), ending)); cur = String.UnicodeScalarView()
            } else {
                cur.append(s)
            }
            i += 1
        }
        if !cur.isEmpty { out.append((String(cur), "")) }
        return out
    }

    static func isBlankOrComment(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.isEmpty || t.hasPrefix("#")
    }

    /// `key = value`, the key lower-cased, the value without a trailing ` # comment` or quotes. nil for
    /// blank lines, comments and lines without '='.
    static func keyValue(_ line: String) -> (key: String, value: String)? {
        if isBlankOrComment(line) { return nil }
        guard let eq = line.firstIndex(of: "=") else { return nil }
        // A byte-order mark (some Windows editors write one) is not part of the first key.
        let key = line[..<eq].trimmingCharacters(in: CharacterSet.whitespaces.union(["\u{FEFF}"])).lowercased()
        var value = String(line[line.index(after: eq)...])
        // A comment starts at '#' after whitespace, so a value such as a path can still hold a '#'.
        var prev: Character = " "
        for (i, c) in zip(value.indices, value) {
            if c == "#" && (prev == " " || prev == "\t") { value = String(value[..<i]); break }
            prev = c
        }
        value = value.trimmingCharacters(in: .whitespaces)
        if value.count >= 2, let f = value.first, f == value.last, f == "\"" || f == "'" { value = String(value.dropFirst().dropLast()) }
        return (key, value)
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || s.value == 0x7F }

    /// Keys and values from the file, cut short for the warning line.
    private static func clip(_ s: String) -> String { s.count > 40 ? String(s.prefix(40)) + "…" : s }
}
