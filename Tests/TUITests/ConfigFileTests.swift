import Core
import XCTest
@testable import TUI

/// Issue 7 §7: the config file is read defensively (it may have been sent to the user), the command
/// line overrides it, and `t` remembers the theme by rewriting only its theme line, atomically.
final class ConfigFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "restyle-config-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testDocumentedKeysWithCommentsQuotesAndCRLF() {
        let text = "# mine\r\ntheme = light\r\nfps=8   # smoother\r\n\r\nsize = 384\r\nautosave = 0\r\n"
            + "preview = symbols\r\ncolor = 256\r\nmouse = off\r\n"
        let (v, w) = ConfigFile.parse(text)
        XCTAssertNil(w)
        XCTAssertEqual(v, ConfigFile.Values(theme: "light", fps: 8, size: 384, autosave: 0, preview: .symbols, color: .c256, mouse: false))
        XCTAssertEqual(ConfigFile.parse(text.replacingOccurrences(of: "\r\n", with: "\n")).values, v, "LF reads the same")
        XCTAssertEqual(ConfigFile.parse("theme = \"my dark\"\ncolour = mono\nmouse = YES").values,
                       ConfigFile.Values(theme: "my dark", color: .mono, mouse: true))
        // A '#' inside a value (a path) is not a comment; one after a space is.
        XCTAssertEqual(ConfigFile.parse("theme = /t/a#b.theme # x").values.theme, "/t/a#b.theme")
        XCTAssertEqual(ConfigFile.parse("fps = 2\nfps = 6").values.fps, 6, "the last one counts")
    }

    func testUnknownKeysAreOneWarningLineAndBadValuesKeepTheDefault() {
        let (v, w) = ConfigFile.parse("fps = 5\nspeed = 11\ncolour_scheme = x\n\u{1B}]0;evil\u{07} = 1\nsize = 3\ncolor = rainbow\npreview = pixels\nnonsense\n")
        XCTAssertEqual(v, ConfigFile.Values(fps: 5))
        let line = try! XCTUnwrap(w)
        XCTAssertFalse(line.contains("\n"), "one line: \(line)")
        XCTAssertTrue(line.contains("unknown keys ignored: 'speed' (line 2), 'colour_scheme' (line 3)"), line)
        XCTAssertTrue(line.contains("size: expected a whole number"), line)
        XCTAssertTrue(line.contains("color: expected auto"), line)
        XCTAssertTrue(line.contains("and 1 more"), "at most three value problems are spelled out: \(line)")
        // What reaches the terminal has the control characters escaped (printWarning, the status bar).
        XCTAssertFalse(Text.escaped(line).unicodeScalars.contains { $0.value < 0x20 })
        XCTAssertNil(ConfigFile.parse("").warning)
        XCTAssertNil(ConfigFile.parse("\n# only comments\n   \n").warning)
    }

    func testNoInputCrashesIt() {
        var seeded = UInt64(7)
        func next() -> UInt8 { seeded = seeded &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: seeded >> 33) }
        let alphabet = Array("=#\r\n \t\"'abcdefghijklmnopqrstuvwxyz0123456789.-;:/\u{0}\u{1B}é".unicodeScalars)
        for n in 0..<300 {
            var s = String.UnicodeScalarView()
            for _ in 0..<(Int(next()) * (n % 7 + 1)) { s.append(alphabet[Int(next()) % alphabet.count]) }
            let text = String(s)
            let (_, w) = ConfigFile.parse(text)
            if let w { XCTAssertLessThan(w.count, 2000) }
            // Writing back is total too, and reads back with that theme.
            XCTAssertEqual(ConfigFile.parse(ConfigFile.replacingTheme(in: text, with: "light")).values.theme, "light", text.debugDescription)
        }
        // Pathological shapes.
        for text in [String(repeating: "=", count: 60_000), String(repeating: "\n", count: 60_000),
                     String(repeating: "k = v\r", count: 5000), "theme = " + String(repeating: "x", count: 60_000),
                     String(repeating: "a", count: 60_000)] {
            let (_, w) = ConfigFile.parse(text)
            if let w { XCTAssertLessThan(w.count, 2000) }
        }
        // A byte-order mark, as some Windows editors write, is not part of the first key.
        XCTAssertEqual(ConfigFile.parse("\u{FEFF}theme = light\r\n").values.theme, "light")
    }

    func testOnlyARegularFileOfSensibleSizeInUTF8IsRead() throws {
        let p = dir + "/config"
        XCTAssertEqual(ConfigFile.load(p).values, ConfigFile.Values(), "no file: no settings")
        XCTAssertNil(ConfigFile.load(p).warning, "and nothing to say")
        _ = FileManager.default.createFile(atPath: p, contents: Data())
        XCTAssertNil(ConfigFile.load(p).warning, "an empty file is an empty config")
        try Data(repeating: 0x61, count: ConfigFile.sizeLimit + 1).write(to: URL(fileURLWithPath: p))
        XCTAssertTrue(ConfigFile.load(p).warning?.contains("ignored") == true, "\(ConfigFile.load(p))")
        try Data([0x74, 0x68, 0xFF, 0xFE, 0x3D, 0x0A]).write(to: URL(fileURLWithPath: p))
        XCTAssertTrue(ConfigFile.load(p).warning?.contains("not UTF-8") == true)
        unlink(p)
        mkfifo(p, 0o600)
        XCTAssertTrue(ConfigFile.load(p).warning?.contains("not a regular file") == true, "a FIFO is never opened")
        unlink(p)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        XCTAssertNotNil(ConfigFile.load(p).warning)
        // And a file it cannot read is never written over.
        XCTAssertThrowsError(try ConfigFile.rememberTheme("light", at: p))
    }

    func testPathFollowsXDG() {
        XCTAssertEqual(ConfigFile.path(env: ["XDG_CONFIG_HOME": "/x/c", "HOME": "/h"]), "/x/c/restyle/config")
        XCTAssertEqual(ConfigFile.path(env: ["HOME": "/h"]), "/h/.config/restyle/config")
        XCTAssertEqual(ConfigFile.path(env: ["XDG_CONFIG_HOME": "rel", "HOME": "/h"]), "/h/.config/restyle/config", "relative is ignored")
        XCTAssertEqual(ConfigFile.path(env: ["XDG_CONFIG_HOME": "", "HOME": "/h"]), "/h/.config/restyle/config")
        XCTAssertNil(ConfigFile.path(env: [:]))
    }

    func testTheCommandLineOverridesTheFile() throws {
        let file = ConfigFile.Values(theme: "light", fps: 2, size: 384, autosave: 5, color: .mono, mouse: false)
        let fromFile = try TUIOptions.parse([]).config(file: file)
        XCTAssertEqual(fromFile.fps, 2); XCTAssertEqual(fromFile.theme, "light"); XCTAssertEqual(fromFile.autosave, 5)
        XCTAssertEqual(fromFile.color, .mono); XCTAssertFalse(fromFile.mouse)
        let given = try TUIOptions.parse(["--fps", "8", "--theme", "contrast", "--autosave", "0", "--color", "256", "--mouse"]).config(file: file)
        XCTAssertEqual(given.fps, 8); XCTAssertEqual(given.theme, "contrast"); XCTAssertEqual(given.autosave, 0)
        XCTAssertEqual(given.color, .c256); XCTAssertTrue(given.mouse)
        let none = try TUIOptions.parse([]).config()
        XCTAssertEqual(none.fps, 4); XCTAssertEqual(none.theme, "default"); XCTAssertEqual(none.autosave, 60); XCTAssertTrue(none.mouse)
    }

    func testRememberingTheThemeChangesOnlyTheThemeLine() throws {
        let before = "# keep me\r\ntheme = default   # was\r\nfps = 8\r\nbogus = 1\r\ntheme = light\r\nsize = 384"
        XCTAssertEqual(ConfigFile.replacingTheme(in: before, with: "contrast"),
                       "# keep me\r\ntheme = default   # was\r\nfps = 8\r\nbogus = 1\r\ntheme = contrast\r\nsize = 384",
                       "the last theme line is the one in force")
        XCTAssertEqual(ConfigFile.replacingTheme(in: "fps = 8\r\n", with: "light"), "fps = 8\r\ntheme = light\r\n")
        XCTAssertEqual(ConfigFile.replacingTheme(in: "fps = 8", with: "light"), "fps = 8\ntheme = light\n")
        XCTAssertEqual(ConfigFile.replacingTheme(in: "", with: "light"), "theme = light\n")

        // On disk: atomically, through a link, keeping the mode; a new file and its folder are made.
        let real = dir + "/real-config", link = dir + "/config"
        try before.write(toFile: real, atomically: false, encoding: .utf8)
        chmod(real, 0o640)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        try ConfigFile.rememberTheme("contrast", at: link)
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), ConfigFile.replacingTheme(in: before, with: "contrast"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), real, "the link is kept")
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: real)[.posixPermissions] as? Int), 0o640)
        let fresh = dir + "/new/restyle/config"
        try ConfigFile.rememberTheme("light", at: fresh)
        XCTAssertEqual(ConfigFile.load(fresh).values.theme, "light")
        XCTAssertNil(ConfigFile.load(fresh).warning)
        // A name that would not read back as itself is refused.
        XCTAssertThrowsError(try ConfigFile.rememberTheme("x\nfps = 0.001", at: fresh))
        XCTAssertThrowsError(try ConfigFile.rememberTheme("a #b", at: fresh))
        XCTAssertEqual(ConfigFile.load(fresh).values.fps, nil)
    }

    func testTRemembersTheTheme() throws {
        let app = makeApp(FakeEngine())
        let path = dir + "/cfg/restyle/config"
        app.config.configFile = path
        app.handle(.char("t"))
        XCTAssertEqual(ConfigFile.load(path).values.theme, "light")
        app.handle(.char("t"))
        XCTAssertEqual(ConfigFile.load(path).values.theme, "contrast")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "theme =").count, 2, "one theme line")
    }
}
