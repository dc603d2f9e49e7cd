import Core
import Foundation
import XCTest

/// What `restyle run` writes, and what it refuses to touch (issue 6, "Writing outputs", "Resource
/// limits", "Untrusted text", "Small ones").
final class RunOutputTests: RunTestCase {
    func testOutputsThatAreNotRegularFilesAreRefusedBeforeAnyWork() throws {
        let good = try image("good.png", 32, 32)
        let fifo = dir + "/fifo.png", devLink = dir + "/null.png"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try FileManager.default.createSymbolicLink(atPath: devLink, withDestinationPath: "/dev/null")
        for (flag, target) in [("-o", fifo), ("-o", devLink), ("-o", ""), ("--session", fifo), ("--log-json", fifo), ("--session", dir)] {
            let out = flag == "-o" ? target : dir + "/out.png"
            var args = ["run", good, good, "--quiet", "--iterations", "1", "--size", "32"]
            args += flag == "-o" ? ["-o", target] : ["-o", out, flag, target]
            let r = try restyle(args)
            XCTAssertEqual(r.code, 2, "\(flag) \(target): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
        XCTAssertEqual(lstat(devLink, &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.png"))
    }

    func testJPEGOutputIsJPEGAndOtherExtensionsAreRefused() throws {
        let good = try image("good.png", 32, 32)
        let jpg = dir + "/out.jpg"
        var r = try restyle(["run", good, good, "-o", jpg, "--quiet", "--iterations", "1", "--size", "32", "--quality", "80"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: jpg))
        XCTAssertEqual(Array(bytes.prefix(3)), [0xFF, 0xD8, 0xFF], "JPEG bytes in a .jpg")
        XCTAssertEqual(try ImageIO.read(jpg).width, 32)
        r = try restyle(["run", good, good, "-o", dir + "/out.gif", "--quiet"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.stderr.contains(".gif"), r.stderr)
    }

    func testPNGToStdout() throws {
        let good = try image("good.png", 32, 32)
        let r = try restyle(["run", good, good, "-o", "-", "--quiet", "--iterations", "1", "--size", "32"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.utf8.starts(with: [0x89, 0x50, 0x4E, 0x47]) || r.stdout.contains("PNG"), "PNG on stdout")
    }

    /// `--log-json - | head -1`: the pipe closes after one line; the run must go on, save and exit 0.
    func testLogToAClosedPipeIsDroppedAndTheRunCompletes() throws {
        let good = try image("good.png", 32, 32)
        let out = dir + "/out.png"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let err = Pipe(); p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        // sh has no PIPESTATUS: restyle's status goes through a file.
        p.arguments = ["-c", "('\(Self.binary)' run '\(good)' '\(good)' -o '\(out)' --iterations 4 --size 32 --log-json -; echo $? > '\(dir)/rc') | head -1 >/dev/null"]
        try p.run(); p.waitUntilExit()
        let rc = try String(contentsOfFile: dir + "/rc", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(rc, "0")
        XCTAssertNoThrow(try ImageIO.read(out))
    }

    /// The output cannot be written at the end (here: it became a directory): the session holds the
    /// run, the exit is 1, and a line names the session.
    func testAFailedImageWriteKeepsTheRun() throws {
        let c = try image("c.png", 32, 32, seed: 1), s = try image("s.png", 32, 32, seed: 2)
        let out = dir + "/out.png", log = dir + "/log.jsonl"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["run", c, s, "-o", out, "--iterations", "40", "--size", "32", "--log-json", log, "--quiet"]
        let err = Pipe(); p.standardError = err
        try p.run()
        let end = Date().addingTimeInterval(60)
        while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count < 2 && Date() < end { usleep(10_000) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, stderr)
        let sessions = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".session") }
        XCTAssertEqual(sessions.count, 1, "a rescue session: \(stderr)")
        XCTAssertTrue(stderr.contains(sessions.first ?? "?"), stderr)
        let r = try restyle(["run", "--resume", dir + "/" + sessions[0], "-o", dir + "/again.png", "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
    }

    func testHugeSizesAndHistoriesAreRefusedWithOneLine() throws {
        let good = try image("good.png", 32, 32)
        try assertBadInput(["run", good, good, "--size", "16384"], "memory")
        try assertBadInput(["run", good, good, "--style-size", "16384", "--size", "32"], "memory")
        try assertBadInput(["run", good, good, "--lbfgs-history", "1000000000"], "--lbfgs-history")
        try assertBadInput(["run", good, good, "--lbfgs-history", "9223372036854775807"], "--lbfgs-history")
        try assertBadInput(["run", good, good, "--alpha", "1e308"], "--alpha")
        try assertBadInput(["run", good, good, "--alpha", "-3"], "--alpha")
        try assertBadInput(["run", good, good, "--size", "64", "--max-memory", "100M"], "memory")
    }

    func testResumeRefusesOptionsItCannotApplyAndAppliesTheRest() throws {
        let c = try image("c.png", 32, 32, seed: 1)
        let session = dir + "/s.session"
        var r = try restyle(["run", c, c, "-o", dir + "/a.png", "--iterations", "1", "--session", session, "--quiet", "--size", "32"])
        XCTAssertEqual(r.code, 0, r.stderr)
        for bad in [["--size", "64"], ["--alpha=-3"], ["--init", "random"]] {
            r = try restyle(["run", "--resume", session, "-o", dir + "/b.png", "--quiet"] + bad)
            XCTAssertEqual(r.code, 2, "\(bad): \(r.stderr)")
        }
        r = try restyle(["run", "--resume", session, "-o", dir + "/b.png", "--quiet", "--beta", "321", "--iterations", "2"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let text = Dictionary(try ImageIO.readPNGText(dir + "/b.png"), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(text["beta"], "321.0")
    }

    /// A file name holding a terminal escape must print as text, not retitle or clear the terminal.
    func testControlCharactersInMessagesAreEscaped() throws {
        let evil = dir + "/x\u{1B}]0;pwned\u{07}\u{1B}[2J.png"
        let r = try restyle(["run", evil, evil, "-o", dir + "/o.png", "--quiet"])
        XCTAssertEqual(r.code, 2)
        XCTAssertFalse(r.stderr.contains("\u{1B}"), "no raw ESC: \(r.stderr.debugDescription)")
        XCTAssertFalse(r.stderr.contains("\u{07}"))
        XCTAssertTrue(r.stderr.contains("x\\e]0;pwned\\x07\\e[2J.png"), r.stderr)
    }

    func testSmallAndElongatedInputs() throws {
        let long = try image("long.png", 16, 4000)
        try assertBadInput(["run", long, long, "--size", "512"], "16×4000")
        let tiny = try image("tiny.png", 8, 8), good = try image("good.png", 64, 64)
        let r = try restyle(["run", tiny, good, "-o", dir + "/o.png", "--iterations", "0", "--size", "64"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("enlarged 8×"), r.stderr)
    }
}

final class TUIStartTests: RunTestCase {
    /// A bad --out-dir is refused at start with one line (it used to fail only at quit, losing the session).
    func testBadOutDirIsRefusedAtStart() throws {
        let good = try image("good.png", 32, 32)
        let file = write("plain-file", [1])
        for outDir in [file, file + "/below", "/proc/version/x"] {
            let r = try restyle([good, good, "--out-dir", outDir])
            XCTAssertEqual(r.code, 2, "\(outDir): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--out-dir"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        let made = dir + "/new/out"
        let r = try restyle([good, good, "--out-dir", made])
        XCTAssertEqual(r.code, 2, "no terminal: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("terminal"), r.stderr)
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: made, isDirectory: &isDir) && isDir.boolValue, "made at start")
    }
}
