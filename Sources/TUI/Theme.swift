import Core
import Foundation

/// A colour as the UI asks for it. The backend maps it to what the terminal can show,
/// so widgets never need to know the colour mode.
struct TermColor: Hashable {
    /// Bit 31: terminal default; bit 30: palette index in the low byte; otherwise 0xRRGGBB.
    let raw: UInt32
    static let `default` = TermColor(raw: 1 << 31)
    static func rgb(_ v: UInt32) -> TermColor { TermColor(raw: v & 0xFFFFFF) }
    static func rgb(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> TermColor {
        .rgb(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
    }
    static func indexed(_ i: Int) -> TermColor { TermColor(raw: 1 << 30 | UInt32(i & 0xFF)) }
    var isDefault: Bool { raw & (1 << 31) != 0 }
    var index: Int? { raw & (1 << 30) != 0 ? Int(raw & 0xFF) : nil }
    var rgbValue: UInt32? { raw & (3 << 30) == 0 ? raw : nil }
}

struct Attr: OptionSet, Hashable {
    let rawValue: UInt8
    static let bold = Attr(rawValue: 1)
    static let dim = Attr(rawValue: 2)
    static let reverse = Attr(rawValue: 4)
    static let underline = Attr(rawValue: 8)
}

/// How one cell looks. `monoAttrs` are added only when the terminal has no colour, so that
/// what colour alone distinguishes (selection, status bar) stays visible there.
struct Style: Hashable {
    var fg: TermColor = .default
    var bg: TermColor = .default
    var attrs: Attr = []
    var monoAttrs: Attr = []
}

/// The named colour slots a theme file sets. Documented at the top of Themes/default.theme.
enum ThemeKey: String, CaseIterable {
    case background, foreground, border, title, accent, dim
    case total, content, style, tv, mark
    case slider_bar, slider_empty, slider_selected
    case status_bg, status_fg, warning, error
}

typealias ThemeError = NamedFileError

struct Theme: Equatable {
    var name: String
    var colors: [ThemeKey: TermColor]

    subscript(_ key: ThemeKey) -> TermColor { colors[key] ?? Theme.fallback.colors[key] ?? .default }

    /// The built-in default; every other theme's missing keys come from here.
    static let fallback: Theme = {
        // The embedded text is ours and covered by a test, so failing here is a build defect.
        try! Theme.parse(BuiltinThemes.text["default"]!, name: "default", file: "<built-in default>", base: nil)
    }()

    /// Parse `key = #rrggbb` lines. `file` names the source in errors; keys not set come from `base`.
    static func parse(_ text: String, name: String, file: String, base: Theme? = Theme.fallback) throws -> Theme {
        var colors = base?.colors ?? [:]
        // A file saved with CRLF line ends reads the same as one with LF ("\r\n" is one Character).
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fail = { (m: String) in ThemeError(file: file, line: i + 1, message: m) }
            guard let eq = trimmed.firstIndex(of: "=") else { throw fail("expected 'key = #rrggbb', got '\(trimmed)'") }
            let k = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            // The colour is the first word after '='; only a `#` comment may follow it.
            let rest = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            let v = String(rest.prefix { $0 != " " && $0 != "\t" })
            let after = rest.dropFirst(v.count).trimmingCharacters(in: .whitespaces)
            if !after.isEmpty && !after.hasPrefix("#") { throw fail("unexpected '\(after)' after the colour") }
            guard let key = ThemeKey(rawValue: k) else {
                throw fail("unknown key '\(k)' (known: \(ThemeKey.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let color = parseColor(v) else { throw fail("bad colour '\(v)' for \(k) (use #rrggbb or default)") }
            colors[key] = color
        }
        return Theme(name: name, colors: colors)
    }

    static func parseColor(_ s: String) -> TermColor? {
        if s == "default" { return .default }
        guard s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) else { return nil }
        return .rgb(v)
    }

    /// Themes by name: in `dirs`, then the built-ins.
    static func files(dirs: [String]) -> NamedFiles {
        NamedFiles(suffix: ".theme", dirs: dirs, builtinNames: BuiltinThemes.names, builtinText: BuiltinThemes.text)
    }

    /// Loads a theme by name or path. A name is looked up in `dirs` (first hit wins), then among
    /// the built-ins; anything containing '/' or ending in .theme is a path.
    static func load(_ nameOrPath: String, dirs: [String]) throws -> Theme {
        let (text, name, file) = try files(dirs: dirs).load(nameOrPath, kind: "theme", limit: 64 << 10)
        return try parse(text, name: name, file: file)
    }

    /// Built-in names first, then any extra themes found in `dirs`, so `t` cycles predictably.
    static func availableNames(dirs: [String]) -> [String] { files(dirs: dirs).availableNames() }

    /// The styles widgets draw with, derived once per theme.
    var styles: ThemeStyles { ThemeStyles(self) }
}

/// Theme colours combined into the concrete styles the widgets use.
struct ThemeStyles {
    let base, border, title, accent, dim, total, content, style, tv, mark: Style
    let sliderBar, sliderEmpty, sliderSelected, status, statusAccent, warning, error, overlay: Style

    init(_ t: Theme) {
        let bg = t[.background]
        func s(_ k: ThemeKey, _ a: Attr = [], mono: Attr = []) -> Style { Style(fg: t[k], bg: bg, attrs: a, monoAttrs: mono) }
        base = s(.foreground)
        border = s(.border)
        title = s(.title, .bold)
        accent = s(.accent, .bold)
        dim = s(.dim, mono: .dim)
        total = s(.total, .bold)
        content = s(.content)
        style = s(.style)
        tv = s(.tv)
        mark = s(.mark, mono: .dim)
        sliderBar = s(.slider_bar)
        sliderEmpty = s(.slider_empty, mono: .dim)
        sliderSelected = s(.slider_selected, .bold, mono: .reverse)
        status = Style(fg: t[.status_fg], bg: t[.status_bg], attrs: [], monoAttrs: .reverse)
        statusAccent = Style(fg: t[.accent], bg: t[.status_bg], attrs: .bold, monoAttrs: .reverse)
        warning = s(.warning, .bold)
        error = s(.error, .bold, mono: .underline)
        overlay = s(.foreground)
    }
}
