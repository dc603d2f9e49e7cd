import Core
import XCTest

/// The real `restyle` binary on the real engine inside a detached tmux session, driven by send-keys and
/// read back with capture-pane, as a user at a terminal would. tmux is installed by `make setup`; a
/// missing tmux fails these tests rather than skipping them.
final class TmuxEndToEndTests: XCTestCase {
    var dir = ""
    var session = ""

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            XCTFail("tmux is required for the end-to-end tests (make setup installs it)")
            throw XCTSkip("no tmux")
        }
        dir = NSTemporaryDirectory() + "restyle-tmux-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        session = "restyle-e2e-\(getpid())-\(UUID().uuidString.prefix(6))"
        try ImageIO.writePNG(Bench.syntheticImage(width: 48, height: 40, seed: 1), to: dir + "/cat.png")
        try ImageIO.writePNG(Bench.syntheticImage(width: 40, height: 40, seed: 2), to: dir + "/paint.png")
    }

    override func tearDown() {
        _ = try? tmux(["kill-session", "-t", session])
    }

    override class func tearDown() {
        _ = spawn(["/usr/bin/tmux", "-L", socket, "kill-server"], stdout: "/dev/null")
    }

    /// A socket of our own, so the tests never touch the user's tmux server.
    static let socket = "restyle-test-\(getpid())"

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let outPath = dir + "/.tmux-out"
        let status = Self.spawn(["/usr/bin/tmux", "-L", Self.socket, "-f", "/dev/null"] + args, stdout: outPath)
        defer { unlink(outPath) }
        guard status == 0 || args.first == "kill-session" else { throw RestyleError.internal("tmux \(args) exited \(status)") }
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    /// posix_spawn + waitpid rather than Foundation's Process: the first tmux call forks the tmux server,
    /// which inherits Process's internal descriptors and keeps `waitUntilExit` from ever returning.
    static func spawn(_ argv: [String], stdout: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, cargs, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }

    /// Starts restyle in a new detached session; the exit status lands in dir/exit. NO_COLOR, which
    /// `swift test` sets, is removed: the screen is tested as a user's terminal has it. The config file
    /// is dir/config/restyle/config.
    func start(_ args: String, width: Int = 100, height: Int = 30, term: String = "screen-256color", env extra: String = "") throws {
        // A config folder of the test's own: the user's ~/.config/restyle is never read or written.
        let env = "RESTYLE_HOME='\(VGGWeights.home)' XDG_CONFIG_HOME='\(dir)/config' TERM=\(term) \(extra)"
        let cmd = "cd '\(dir)' && env -u NO_COLOR \(env) '\(RunTestCase.binary)' \(args); echo $? > '\(dir)/exit'; sleep 60"
        // Killing a test's only session makes the tmux server exit, and a new-session that reaches it while
        // it does fails; a moment later a fresh server starts.
        for attempt in 1...5 {
            do { try tmux(["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", cmd]); return } catch {
                if attempt == 5 { throw error }
                usleep(200_000)
            }
        }
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }

    /// Polls the screen until `ok` holds; fails with the last screen after `timeout` seconds.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                 _ ok: (String) -> Bool) throws -> String {
        let end = Date().addingTimeInterval(timeout)
        var s = ""
        while Date() < end {
            s = try screen()
            if ok(s) { return s }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what); screen:\n\(s)", file: file, line: line)
        throw XCTSkip("gave up")
    }

    func keys(_ k: String...) throws { try tmux(["send-keys", "-t", session] + k) }

    /// The iteration shown in the status bar ("it 12/500").
    func iteration(_ s: String) -> Int? {
        guard let r = s.range(of: #"it (\d+)/"#, options: .regularExpression) else { return nil }
        return Int(String(s[r].dropFirst(3).dropLast()))
    }

    func sliderLine(_ s: String, _ name: String) -> String {
        s.split(separator: "\n").first { $0.contains(name) }.map(String.init) ?? ""
    }

    func exitCode() throws -> Int? {
        guard let t = try? String(contentsOfFile: dir + "/exit", encoding: .utf8) else { return nil }
        return Int(t.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func testFullScreenKeysSnapshotResizeQuitAndResume() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0 --iterations 100000")
        var s = try waitFor("the engine to run") { (iteration($0) ?? 0) >= 2 }
        for pane in ["result", "loss", "weights", "α content", "β style", "γ smooth", "lr", "α/β", "running"] {
            XCTAssertTrue(s.contains(pane), "\(pane) on screen:\n\(s)")
        }
        XCTAssertTrue(sliderLine(s, "β style").contains("10.0"), s)

        // ↓ selects β, → raises it one notch (×10^⅛): 10 → 13.3 on screen.
        try keys("Down")
        try waitFor("β selected") { self.sliderLine($0, "β style").contains("▸") }
        try keys("Right")
        s = try waitFor("β to change") { self.sliderLine($0, "β style").contains("13.3") }

        // Space pauses: the iteration stops; space again resumes.
        try keys("Space")
        s = try waitFor("paused") { $0.contains("paused") }
        // An iteration already in flight still finishes (slowly, on a loaded machine): wait until the
        // count has held for a second, then it must hold.
        var frozen = iteration(try screen())
        var heldSince = Date()
        while Date().timeIntervalSince(heldSince) < 1 {
            usleep(100_000)
            let now = iteration(try screen())
            if now != frozen { frozen = now; heldSince = Date() }
        }
        usleep(1_000_000)
        XCTAssertEqual(iteration(try screen()), frozen, "no iterations while paused")

        // s writes a PNG and the session; the engine's β is in the PNG's text.
        try keys("s")
        s = try waitFor("snapshot message") { $0.contains("snapshot saved") }
        let out = dir + "/out"
        let pngs = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(pngs.count, 1, "one snapshot: \(pngs)")
        let text = Dictionary(try ImageIO.readPNGText(out + "/" + pngs[0]), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(Double(text["beta"] ?? "").map { ($0 * 100).rounded() / 100 }, 13.34, "the engine's β: \(text)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/cat-x-paint.session"))

        // Resize to 80×24 and back, while paused (a still screen): the compact layout keeps preview,
        // sliders and status; back at 100×30 the screen is exactly what it was.
        let before = try screen()
        try tmux(["resize-window", "-t", session, "-x", "80", "-y", "24"])
        // tmux shows the old frame cut to the new size until restyle redraws: wait for the new top border.
        s = try waitFor("compact layout") { s in
            let lines = s.split(separator: "\n")
            return lines.count <= 24 && lines.first.map { $0.hasPrefix("╭") && $0.contains("result") } == true
                && s.contains("β") && s.contains("paused")
        }
        XCTAssertTrue(s.contains("result"), s)
        for l in s.split(separator: "\n") { XCTAssertLessThanOrEqual(l.count, 80, "line fits 80 columns: \(l)") }
        try tmux(["resize-window", "-t", session, "-x", "50", "-y", "15"])
        try waitFor("too-small message") { $0.contains("enlarge the terminal to at least 60×18") }
        try tmux(["resize-window", "-t", session, "-x", "100", "-y", "30"])
        s = try waitFor("full layout again") { s in
            s.split(separator: "\n").first.map { $0.hasPrefix("╭") && $0.contains("result") } == true
                && s.contains("loss") && s.contains("paused") && s.split(separator: "\n").count >= 29
        }
        XCTAssertEqual(s, before, "no garbage after resizing")

        try keys("Space")
        try waitFor("running again") { (self.iteration($0) ?? 0) > (frozen ?? 0) }

        // q saves and exits 0, then resume reopens at the same iteration with the same β.
        try keys("q")
        let end = Date().addingTimeInterval(30)
        while try exitCode() == nil && Date() < end { usleep(50_000) }
        XCTAssertEqual(try exitCode(), 0)
        s = try screen()
        XCTAssertTrue(s.contains("restyle resume"), "tells how to resume:\n\(s)")
        try tmux(["kill-session", "-t", session])

        let saved = try Engine.resume(from: out + "/cat-x-paint.session", weights: try VGGWeights.loadDefault())
        let savedIteration = saved.latestProgress().iteration
        try start("resume out/cat-x-paint.session --autosave 0")
        s = try waitFor("the resumed screen") { self.iteration($0) != nil }
        XCTAssertGreaterThanOrEqual(iteration(s) ?? -1, savedIteration, s)
        XCTAssertLessThanOrEqual(iteration(s) ?? 1_000_000, savedIteration + 3, "continues where it stopped:\n\(s)")
        XCTAssertTrue(sliderLine(s, "β style").contains("13.3"), s)
    }

    func testHangupSavesTheSession() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 1 }
        let pid = try tmux(["list-panes", "-t", session, "-F", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        // The pane runs sh, whose child is restyle.
        _ = Self.spawn(["/usr/bin/pkill", "-HUP", "-P", pid, "restyle"], stdout: "/dev/null")
        let end = Date().addingTimeInterval(30)
        while try exitCode() == nil && Date() < end { usleep(50_000) }
        XCTAssertNotNil(try exitCode(), "restyle exited after SIGHUP")
        XCTAssertNoThrow(try Engine.resume(from: dir + "/out/cat-x-paint.session", weights: try VGGWeights.loadDefault()))
    }

    func testCompactLayoutAt80x24() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0", width: 80, height: 24)
        let s = try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 1 }
        for pane in ["result", "α", "β", "running"] { XCTAssertTrue(s.contains(pane), "\(pane):\n\(s)") }
        try keys("?")
        try waitFor("help overlay") { $0.contains("pause / resume") }
        // q closes help rather than quitting; the second q quits.
        try keys("q")
        try waitFor("help closed") { !$0.contains("pause / resume") }
        try keys("q")
        let end = Date().addingTimeInterval(30)
        while try exitCode() == nil && Date() < end { usleep(50_000) }
        XCTAssertEqual(try exitCode(), 0)
    }

    /// Issue 9 in a real terminal: two styles give a weight slider each; → on the first moves the blend,
    /// `c` switches the colour mode, and both reach the engine: the session saved on quit holds them.
    func testBlendSliderAndColourKeyReachTheEngine() throws {
        try ImageIO.writePNG(Bench.syntheticImage(width: 44, height: 36, seed: 3), to: dir + "/ink.png")
        try start("cat.png --style paint.png --style ink.png --size 48 --out-dir out --autosave 0 --iterations 100000")
        try waitFor("two weight sliders") { (self.iteration($0) ?? 0) >= 1 && $0.contains("w paint") && $0.contains("blend 50%:50%") }
        try keys("Down", "Down")
        try waitFor("the first weight selected") { self.row($0, containing: "▸w paint") != nil }
        try keys("Right")
        try waitFor("the blend moved") { $0.contains("blend 57%:43%") }
        try keys("c")
        try waitFor("luminance mode") { $0.contains("colors luminance") }
        // The engine re-evaluates under the new settings and goes on.
        let before = iteration(try screen()) ?? 0
        try waitFor("iterations after the changes") { (self.iteration($0) ?? 0) > before + 2 }
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
        let saved = try SessionFile.summary(dir + "/out/cat-x-paint+ink.session").settings
        XCTAssertEqual(saved.colors, .luminance)
        XCTAssertEqual(saved.normalizedBlend[0], pow(10, 1.0 / 8) / (1 + pow(10, 1.0 / 8)), accuracy: 1e-9)
    }

    func waitForExit(_ seconds: Double = 30) throws -> Int? {
        let end = Date().addingTimeInterval(seconds)
        while try exitCode() == nil && Date() < end { usleep(50_000) }
        return try exitCode()
    }

    /// Issue 7 §1: a second run of the same pair asks before touching the first run's session; `n` starts
    /// a new one under a new name; while a TUI runs, its session cannot be opened by another restyle;
    /// a session saved while paused resumes paused.
    func testASessionIsNeverOverwrittenWithoutAskingAndIsOwned() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0 --beta 100")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 2 }
        try keys("space")
        try waitFor("paused") { $0.contains("paused") }
        // While it runs, the session is its own.
        let first = dir + "/out/cat-x-paint.session"
        try tmux(["send-keys", "-t", session, "s"])
        try waitFor("the session written") { _ in FileManager.default.fileExists(atPath: first) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: RunTestCase.binary)
        p.arguments = ["run", "--resume", first, "-o", dir + "/x.png", "--quiet"]
        let err = Pipe(); p.standardError = err
        try p.run(); p.waitUntilExit()
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 2, said)
        XCTAssertTrue(said.contains("in use by another restyle (PID"), said)
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: first))
        let saved = try SessionFile.summary(first)
        XCTAssertTrue(saved.paused)

        // Same pair again: asked first; n keeps the first session and starts "-2".
        unlink(dir + "/exit")
        // A new tmux session beside the old one (killing the last session can take the server down
        // while the next one starts); the class's tearDown ends the server.
        session += "-2"
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0")
        let q = try waitFor("the resume question") { $0.contains("resume it (iteration") }
        XCTAssertTrue(q.contains("β 100"), q)
        XCTAssertTrue(q.contains("paused"), q)
        try keys("n", "Enter")
        try waitFor("the new run") { (self.iteration($0) ?? 0) >= 1 }
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: first)), firstBytes, "the first session is untouched")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/cat-x-paint-2.session"))

        // And Enter resumes the first, paused, at its iteration.
        unlink(dir + "/exit")
        // A new tmux session beside the old one (killing the last session can take the server down
        // while the next one starts); the class's tearDown ends the server.
        session += "-3"
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0")
        try waitFor("the resume question") { $0.contains("resume it (iteration") }
        try keys("Enter")
        let r = try waitFor("the resumed run") { self.iteration($0) != nil }
        XCTAssertTrue(r.contains("paused"), r)
        XCTAssertEqual(iteration(r), saved.iteration, r)
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
    }
}

extension TmuxEndToEndTests {
    /// Issue 7 §3: with COLORTERM=truecolor under a 256-colour TERM, the preview is sent in 24-bit colour
    /// (SGR 38;2 / 48;2), and without it in 256 colours.
    func testTrueColourWhenAnnouncedEvenWithA256ColourTERM() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0", term: "tmux-256color", env: "COLORTERM=truecolor TMUX=x")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 2 }
        let rgb = try tmux(["capture-pane", "-e", "-p", "-t", session])
        XCTAssertTrue(rgb.contains("48;2;") || rgb.contains("38;2;"), "24-bit SGR expected:\n\(rgb.prefix(400))")
        try keys("?")
        // The mode is near the end of help, which may be taller than the pane: page down to it.
        try keys("PageDown"); try keys("PageDown")
        try waitFor("help names the mode") { $0.contains("24-bit colour (tmux-direct)") }
        try keys("q"); try keys("q")
        _ = try waitForExit()

        unlink(dir + "/exit")
        // A new tmux session beside the old one (killing the last session can take the server down
        // while the next one starts); the class's tearDown ends the server.
        session += "-2"
        try start("cat.png paint.png --size 48 --out-dir out2 --autosave 0", term: "tmux-256color")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 2 }
        let c256 = try tmux(["capture-pane", "-e", "-p", "-t", session])
        XCTAssertFalse(c256.contains("48;2;") || c256.contains("38;2;"), "no 24-bit without COLORTERM")
        XCTAssertTrue(c256.contains("48;5;") || c256.contains("38;5;"), "256-colour SGR")
        try keys("q")
        _ = try waitForExit()
    }

    /// Issue 7 §6: a terminal that cannot address the cursor is refused with one line and exit 2.
    func testDumbTerminalIsRefused() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0", term: "dumb")
        XCTAssertEqual(try waitForExit(), 2)
        let s = try screen()
        XCTAssertTrue(s.contains("cannot move the cursor"), s)
    }
}

extension TmuxEndToEndTests {
    /// Types bytes into the pane as if the terminal had sent them (a mouse report, say).
    func sendBytes(_ s: String) throws {
        try tmux(["send-keys", "-t", session, "-H"] + s.utf8.map { String(format: "%02x", $0) })
    }

    /// Column (from 0) of `needle` in a captured line; the screen's characters are one column each.
    func column(of needle: String, in line: String) -> Int? {
        line.range(of: needle).map { line.distance(from: line.startIndex, to: $0.lowerBound) }
    }

    func row(_ s: String, containing needle: String) -> (y: Int, line: String)? {
        let lines = s.components(separatedBy: "\n")
        return lines.firstIndex { $0.contains(needle) }.map { ($0, lines[$0]) }
    }

    func sliderValue(_ line: String) -> Double? {
        line.split(separator: " ").compactMap { Double($0) }.first
    }

    func mouseFlags() throws -> String {
        try tmux(["display-message", "-p", "-t", session, "#{mouse_button_flag}#{mouse_sgr_flag}"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Issue 7 §7: with SGR mouse reporting on, a click on a slider's bar sets it, the wheel moves it a
    /// notch, a click on a view tab switches the view; --no-mouse leaves the terminal's mouse alone, and
    /// quitting turns reporting off again.
    func testMouseOnTheSlidersAndTheViewTabs() throws {
        try start("cat.png paint.png --size 48 --out-dir out --autosave 0 --iterations 100000")
        var s = try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 1 }
        XCTAssertEqual(try mouseFlags(), "11", "button-event tracking and SGR encoding are on")

        // Click the middle of β's bar: the bar fills up to that cell.
        let (y, line) = try XCTUnwrap(row(s, containing: "β style"))
        let label = try XCTUnwrap(column(of: "β style", in: line))
        let barStart = try XCTUnwrap(line.indices.first { i in
            line.distance(from: line.startIndex, to: i) > label + 18 && (line[i] == "━" || line[i] == "─")
        })
        let barX = line.distance(from: line.startIndex, to: barStart)
        let barW = line[barStart...].prefix { $0 == "━" || $0 == "─" }.count
        let cell = barW / 2
        try sendBytes("\u{1B}[<0;\(barX + cell + 1);\(y + 1)M\u{1B}[<0;\(barX + cell + 1);\(y + 1)m")
        s = try waitFor("β set by the click") { s in
            guard let l = self.row(s, containing: "β style")?.line else { return false }
            return l.filter { $0 == "━" }.count == cell + 1
        }
        let clicked = try XCTUnwrap(sliderValue(try XCTUnwrap(row(s, containing: "β style")).line))
        XCTAssertNotEqual(clicked, 10, s)
        XCTAssertTrue(row(s, containing: "▸β style") != nil, "the clicked slider is selected:\n\(s)")

        // The wheel: one notch up (×10^⅛).
        try sendBytes("\u{1B}[<64;\(label + 2);\(y + 1)M")
        s = try waitFor("β one notch up") { s in
            guard let l = self.row(s, containing: "β style")?.line, let v = self.sliderValue(l) else { return false }
            return abs(v / clicked - pow(10, 1.0 / 8)) < 0.02
        }

        // The view tabs in the preview's title.
        let top = s.components(separatedBy: "\n")[0]
        let one = try XCTUnwrap(column(of: "1 2 3 · result", in: top))
        try sendBytes("\u{1B}[<0;\(one + 3);1M\u{1B}[<0;\(one + 3);1m")
        try waitFor("the content view") { $0.components(separatedBy: "\n")[0].contains("1 2 3 · content") }

        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
        XCTAssertEqual(try mouseFlags(), "00", "reporting is off again after quitting")

        unlink(dir + "/exit")
        try tmux(["kill-session", "-t", session])
        try start("cat.png paint.png --size 48 --out-dir out2 --autosave 0 --no-mouse")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 1 }
        XCTAssertEqual(try mouseFlags(), "00", "--no-mouse asks for no reports")
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
    }

    /// Issue 7 §7: the config file is read at start (a CRLF file with an unknown key: one warning, the
    /// rest applied), `t` rewrites only its theme line, and the command line overrides it.
    func testConfigFileIsReadAndTheThemeIsRemembered() throws {
        let cfgDir = dir + "/config/restyle"
        try FileManager.default.createDirectory(atPath: cfgDir, withIntermediateDirectories: true)
        let original = "# mine\r\ntheme = light\r\nfps = 8\r\nwibble = 1\r\nmouse = off\r\n"
        try original.write(toFile: cfgDir + "/config", atomically: false, encoding: .utf8)

        try start("cat.png paint.png --size 48 --out-dir out --autosave 0")
        try waitFor("the config warning") { $0.contains("unknown keys ignored: 'wibble'") }
        XCTAssertEqual(try mouseFlags(), "00", "mouse = off applied")
        // light is in force, so t goes on to contrast, and the file says so.
        try keys("t")
        try waitFor("the next theme") { $0.contains("theme: contrast") }
        let want = original.replacingOccurrences(of: "theme = light", with: "theme = contrast")
        let end = Date().addingTimeInterval(10)
        while (try? String(contentsOfFile: cfgDir + "/config", encoding: .utf8)) != want && Date() < end { usleep(50_000) }
        XCTAssertEqual(try String(contentsOfFile: cfgDir + "/config", encoding: .utf8), want, "only the theme line changed")
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
        XCTAssertTrue(try screen().contains("warning: config"), "the warning is also left on the terminal")

        // The command line wins: with --theme default, t goes on to light.
        unlink(dir + "/exit")
        try tmux(["kill-session", "-t", session])
        try start("cat.png paint.png --size 48 --out-dir out2 --autosave 0 --theme default")
        try waitFor("the engine to run") { (self.iteration($0) ?? 0) >= 1 }
        try keys("t")
        try waitFor("the theme after default") { $0.contains("theme: light") }
        try keys("q")
        XCTAssertEqual(try waitForExit(), 0)
    }
}

/// The screen over a stalled link: a pty whose reader stops reading (scripts/pty_stall.py). No thread may
/// block writing to it; autosave must keep its period and keys must still work while it is stalled; once
/// it reads again the screen must catch up to a whole current frame; SIGTERM must save and exit within 2 s.
final class StalledTerminalTests: XCTestCase {
    func testAutosaveAndSIGTERMDoNotDependOnTheScreen() throws {
        let (status, text) = try runPtyScript("pty_stall.py")
        XCTAssertEqual(status, 0, text)
        print("pty stall: \(text)")
    }
}

/// The graphics preview's bandwidth cap on a real run (scripts/graphics_rate.py): sixel frames at least
/// 2 s apart and at most 100 KB/s on average, with images flowing; symbols over a slow link.
final class GraphicsRateTests: XCTestCase {
    func testSixelFramesKeepToTheCap() throws {
        let (status, text) = try runPtyScript("graphics_rate.py", extra: ["20"])
        XCTAssertEqual(status, 0, text)
        print("graphics rate: \(text)")
    }

    /// Read at 30 KB/s, a 300–400 KB sixel frame is still on its way after 4 s: back to symbols, and no
    /// image after.
    func testASlowLinkFallsBackToSymbols() throws {
        let (status, text) = try runPtyScript("graphics_rate.py", extra: ["25", "30000"])
        XCTAssertEqual(status, 0, text)
        print("graphics over a slow link: \(text)")
    }
}

/// Runs scripts/NAME on two synthetic images in a fresh folder: `NAME BINARY DIR cat.png paint.png EXTRA…`.
/// Returns its exit status and its output (one JSON line).
func runPtyScript(_ name: String, extra: [String] = []) throws -> (Int32, String) {
    let dir = NSTemporaryDirectory() + "restyle-pty-\(getpid())-\(UUID().uuidString.prefix(6))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try ImageIO.writePNG(Bench.syntheticImage(width: 48, height: 40, seed: 1), to: dir + "/cat.png")
    try ImageIO.writePNG(Bench.syntheticImage(width: 40, height: 40, seed: 2), to: dir + "/paint.png")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/" + name).path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, RunTestCase.binary, dir, "cat.png", "paint.png"] + extra
    var env = ProcessInfo.processInfo.environment
    env["RESTYLE_HOME"] = VGGWeights.home
    p.environment = env
    let out = Pipe(); p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}
