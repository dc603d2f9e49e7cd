import XCTest
@testable import TUI

final class ThemeTests: XCTestCase {
    func testGoodFileAndFallback() throws {
        let t = try Theme.parse("""
            # a comment
            background = #101010   # trailing comment
            total=#FFAA00

            """, name: "x", file: "x.theme")
        XCTAssertEqual(t[.background], .rgb(0x101010))
        XCTAssertEqual(t[.total], .rgb(0xFFAA00))
        // Not set here: from the default theme.
        XCTAssertEqual(t[.style], Theme.fallback[.style])
        XCTAssertEqual(t.colors.count, ThemeKey.allCases.count)
    }

    func testBadLinesNameFileAndLine() {
        func err(_ text: String) -> ThemeError? {
            do { _ = try Theme.parse(text, name: "bad", file: "bad.theme"); return nil } catch { return error as? ThemeError }
        }
        let e1 = err("# ok\nforeground = #fff\n")
        XCTAssertEqual(e1?.line, 2)
        XCTAssertTrue(e1!.description.hasPrefix("bad.theme:2:"), e1!.description)
        XCTAssertEqual(err("\n\nnonsense\n")?.line, 3)
        XCTAssertEqual(err("colour_of_sky = #00ff00")?.line, 1)
        XCTAssertTrue(err("colour_of_sky = #00ff00")!.message.contains("unknown key"))
        XCTAssertEqual(err("title = #00ff0g")?.line, 1)
    }

    func testLoadByPathAndName() throws {
        let dir = NSTemporaryDirectory() + "restyle-themes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "accent = #123456\n".write(toFile: dir + "/mine.theme", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Theme.load("mine", dirs: [dir])[.accent], .rgb(0x123456))
        XCTAssertEqual(try Theme.load(dir + "/mine.theme", dirs: [])[.accent], .rgb(0x123456))
        XCTAssertEqual(try Theme.load("light", dirs: []).name, "light")
        XCTAssertEqual(Theme.availableNames(dirs: [dir]), ["default", "light", "contrast", "mine"])
        XCTAssertThrowsError(try Theme.load("nope", dirs: [dir]))
        try "title = blue\n".write(toFile: dir + "/broken.theme", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Theme.load("broken", dirs: [dir])) { e in
            XCTAssertEqual("\(e)", dir + "/broken.theme:1: bad colour 'blue' for title (use #rrggbb or default)")
        }
    }

    func testEmbeddedThemesMatchFiles() throws {
        let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Themes").standardized
        for name in BuiltinThemes.names {
            let file = try String(contentsOf: themes.appendingPathComponent(name + ".theme"), encoding: .utf8)
            XCTAssertEqual(BuiltinThemes.text[name]!.trimmingCharacters(in: .whitespacesAndNewlines),
                           file.trimmingCharacters(in: .whitespacesAndNewlines), "\(name): regenerate BuiltinThemes.swift")
            XCTAssertNoThrow(try Theme.parse(file, name: name, file: name))
        }
    }

    func testThemeCycleAndColourMapping() {
        let app = makeApp(FakeEngine())
        app.handle(.char("t")); XCTAssertEqual(app.theme.name, "light"); XCTAssertTrue(app.needsClear)
        app.handle(.char("t")); XCTAssertEqual(app.theme.name, "contrast")
        app.handle(.char("t")); XCTAssertEqual(app.theme.name, "default")
        XCTAssertEqual(Palette.nearest256(0xFF0000), 196)
        XCTAssertEqual(Palette.nearest256(0x000000), 16)
        XCTAssertEqual(Palette.nearest256(0x808080), 244)
        XCTAssertEqual(Palette.nearest16(0xFF0000), 9)
        XCTAssertEqual(Palette.nearest16(0x0000EE), 4)
        XCTAssertEqual(ColorMode.detect(env: ["COLORTERM": "truecolor"], hasColors: true, colors: 256), .truecolor)
        XCTAssertEqual(ColorMode.detect(env: ["COLORTERM": "truecolor", "NO_COLOR": "1"], hasColors: true, colors: 256), .mono)
        XCTAssertEqual(ColorMode.detect(env: [:], hasColors: true, colors: 8), .c16)
        XCTAssertEqual(ColorMode.detect(env: [:], hasColors: false, colors: 0), .mono)
    }
}

final class PaletteTests: XCTestCase {
    /// Near-black must not become an ANSI colour number under direct-colour terminfo.
    func testDirectColourAvoidsTheANSIRange() {
        for v: UInt32 in 0..<8 { XCTAssertGreaterThanOrEqual(Palette.directSafe(v), 8) }
        XCTAssertEqual(Palette.directSafe(0x123456), 0x123456)
        XCTAssertEqual(Palette.directSafe(8), 8)
    }
}

final class ThemeFileTests: XCTestCase {
    /// A theme saved with Windows line ends parses exactly like the same file with LF.
    func testCRLFThemeFilesParse() throws {
        let lf = "# test\nforeground = #112233\naccent = #445566 # comment\n"
        let a = try Theme.parse(lf, name: "t", file: "t.theme")
        let b = try Theme.parse(lf.replacingOccurrences(of: "\n", with: "\r\n"), name: "t", file: "t.theme")
        XCTAssertEqual(a, b)
        XCTAssertEqual(b[.accent], .rgb(0x445566))
        XCTAssertThrowsError(try Theme.parse("accent = #12345\r\n", name: "t", file: "t.theme")) {
            XCTAssertEqual("\($0)".split(separator: "\n").count, 1)
        }
    }

    func testThemeFilesThatAreNotRegularOrTooLargeAreRefused() throws {
        let dir = NSTemporaryDirectory() + "restyle-theme-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fifo = dir + "/fifo.theme", big = dir + "/big.theme", bin = dir + "/bin.theme"
        mkfifo(fifo, 0o600)
        try Data(repeating: 0x23, count: 1 << 20).write(to: URL(fileURLWithPath: big))
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: bin))
        for p in [fifo, big, bin] { XCTAssertThrowsError(try Theme.load(p, dirs: []), p) }
    }
}

final class TerminalTypeTests: XCTestCase {
    let installed: (String) -> Bool = { ["xterm-direct", "tmux-direct", "kitty-direct"].contains($0) }

    func choose(_ env: [String: String], _ r: ColorRequest = .auto) -> String? {
        TerminalType.choose(env: env, request: r, exists: installed)
    }

    func testDirectSiblingOnlyWhenTwentyFourBitIsAnnounced() {
        XCTAssertEqual(choose(["TERM": "xterm-256color", "COLORTERM": "truecolor"]), "xterm-direct")
        XCTAssertEqual(choose(["TERM": "xterm-256color", "COLORTERM": "24bit"]), "xterm-direct")
        XCTAssertNil(choose(["TERM": "xterm-256color"]))
        XCTAssertEqual(choose(["TERM": "tmux-256color", "COLORTERM": "truecolor"]), "tmux-direct")
        XCTAssertNil(choose(["TERM": "tmux-256color"]))
        XCTAssertEqual(choose(["TERM": "screen-256color", "COLORTERM": "truecolor", "TMUX": "/tmp/t,1,0"]), "tmux-direct")
        XCTAssertNil(choose(["TERM": "screen-256color", "COLORTERM": "truecolor"]), "GNU screen keeps 256")
        XCTAssertNil(choose(["TERM": "screen-256color"]))
        XCTAssertEqual(choose(["TERM": "xterm-kitty", "COLORTERM": "truecolor"]), "xterm-direct")
        XCTAssertNil(choose(["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"]))
        XCTAssertNil(choose(["TERM": "linux", "COLORTERM": "truecolor"]), "no linux-direct installed")
        XCTAssertNil(choose(["TERM": "xterm-direct", "COLORTERM": "truecolor"]), "already direct")
    }

    func testColorOptionOverrides() {
        XCTAssertEqual(choose(["TERM": "xterm-256color"], .direct), "xterm-direct")
        XCTAssertNil(choose(["TERM": "xterm-256color", "COLORTERM": "truecolor"], .c256))
        XCTAssertEqual(ColorMode.detect(env: ["COLORTERM": "truecolor"], hasColors: true, colors: 256, request: .c256), .c256)
        XCTAssertEqual(ColorMode.detect(env: [:], hasColors: true, colors: 256, request: .c16), .c16)
        XCTAssertEqual(ColorMode.detect(env: [:], hasColors: true, colors: 256, request: .mono), .mono)
        XCTAssertEqual(ColorMode.detect(env: [:], hasColors: true, colors: 1 << 24), .truecolor, "a -direct entry is 24-bit")
    }
}
