import Core
import XCTest

/// `restyle run` as a user calls it: the built binary in a child process.
class RunTestCase: XCTestCase {
    static let binary: String = {
        // The test bundle sits beside the product in .build/<config>/.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [dir.appendingPathComponent("restyle").path]
        candidates.append(dir.deletingLastPathComponent().appendingPathComponent("restyle").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    var dir = ""
    override func setUp() {
        dir = NSTemporaryDirectory() + "restyle-run-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    struct Result { var code: Int32; var stdout: String; var stderr: String }

    /// The binary started with `args`, the environment plus `env`, and its output in pipes.
    func start(_ args: [String], env: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        return (p, out, err)
    }

    @discardableResult
    /// With `interruptWhen`, SIGINT is sent once that condition holds (polled), so a slow start under
    /// load cannot turn the test into a test of the loading phase.
    func restyle(_ args: [String], env: [String: String] = [:], interruptWhen: (() -> Bool)? = nil) throws -> Result {
        let (p, out, err) = try start(args, env: env)
        if let ready = interruptWhen {
            let end = Date().addingTimeInterval(120)
            while !ready() && Date() < end { usleep(20_000) }
            kill(p.processIdentifier, SIGINT)
        }
        let o = out.fileHandleForReading.readDataToEndOfFile(), r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self))
    }

    func image(_ name: String, _ w: Int, _ h: Int, seed: UInt64 = 1) throws -> String {
        let p = dir + "/" + name
        try ImageIO.writePNG(Bench.syntheticImage(width: w, height: h, seed: seed), to: p)
        return p
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let p = dir + "/" + name
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    /// Exit 2, one line on stderr that contains `expect`, and no output file.
    func assertBadInput(_ args: [String], _ expect: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = dir + "/out.png"
        let r = try restyle(args + ["-o", out, "--quiet"])
        XCTAssertEqual(r.code, 2, "exit code for \(args): \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(expect), "\(r.stderr) should mention \(expect)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output", file: file, line: line)
    }

}

final class RunCommandTests: RunTestCase {
    func testBadInputs() throws {
        let good = try image("good.png", 32, 32)
        let small = try image("small.png", 64, 10)
        let png = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = write("truncated.png", Array(png.prefix(png.count / 2)))
        let empty = write("empty.png", [])
        let text = write("notes.png", Array("just some text, not an image\n".utf8))
        let jpegJunk = write("corrupt.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array(repeating: 0x55, count: 200))
        // A PNG header claiming 100000×100000 pixels: refused before any allocation.
        var huge: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
                             0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 2, 0, 0, 0]
        let crc = crc32(Array(huge[12...]))
        huge += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        for chunk in ["IDAT", "IEND"] {
            let c = crc32(Array(chunk.utf8))
            huge += [0, 0, 0, 0] + Array(chunk.utf8) + [UInt8(c >> 24), UInt8(c >> 16 & 0xFF), UInt8(c >> 8 & 0xFF), UInt8(c & 0xFF)]
        }
        let hugePath = write("huge.png", huge)

        try assertBadInput(["run", dir + "/missing.png", good], "missing.png")
        try assertBadInput(["run", dir, good], dir)
        try assertBadInput(["run", good, empty], "empty.png")
        try assertBadInput(["run", truncated, good], "truncated.png")
        try assertBadInput(["run", good, text], "notes.png")
        try assertBadInput(["run", jpegJunk, good], "corrupt.jpg")
        try assertBadInput(["run", hugePath, good], "limit")
        try assertBadInput(["run", good, good, "--content-layers", "relu9_9"], "relu9_9")
        try assertBadInput(["run", good, good, "--beta", "-1"], "--beta")
        try assertBadInput(["run", good, good, "--optimizer", "sgd"], "sgd")
        try assertBadInput(["run", small, good, "--size", "64"], "too small")
        try assertBadInput(["run", good, good, "--size", "12"], "--size")
        try assertBadInput(["run", good, good, "--init", dir + "/nope.png"], "nope.png")
        let r = try restyle(["run", good, good, "-o", dir + "/no/such/dir/out.png", "--quiet"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.stderr.contains("cannot write"), r.stderr)
    }

    func testMissingWeightsSaysHowToGetThem() throws {
        let good = try image("good.png", 32, 32)
        let r = try restyle(["run", good, good, "-o", dir + "/o.png"], env: ["RESTYLE_HOME": dir + "/empty-home"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.stderr.range(of: #"make (-C \S+ )?setup"#, options: .regularExpression) != nil, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
    }

    /// Issue 9 §4: a coarse-to-fine run logs its stage, ends at --size, records the scales in the PNG,
    /// a dry run prints the stages, and the options are refused with garbage or with --resume.
    func testScalesInTheLogThePNGAndTheDryRun() throws {
        let c = try image("c.png", 64, 48, seed: 1), s = try image("s.png", 48, 48, seed: 2)
        let out = dir + "/c2f.png"
        let r = try restyle(["run", c, s, "-o", out, "--size", "64", "--scales", "2", "--scale-iterations", "2,2",
                             "--log-json", "-", "--quiet", "--session", dir + "/c2f.session"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["iteration"] as! Int }, [0, 1, 2, 3, 4])
        XCTAssertEqual(rows.map { $0["scale"] as! Int }, [1, 1, 1, 2, 2])
        XCTAssertEqual(rows.map { $0["width"] as! Int }, [32, 32, 32, 64, 64])
        XCTAssertEqual(rows[0]["scales"] as? Int, 2)
        let img = try ImageIO.read(out)
        XCTAssertEqual([img.width, img.height], [64, 48])
        let text = Dictionary(try ImageIO.readPNGText(out), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(text["scales"], "2"); XCTAssertEqual(text["scale-step"], "2.0"); XCTAssertEqual(text["scale-iterations"], "2,2")
        XCTAssertEqual(text["iterations"], "4", "the counts set the total")
        let dry = try restyle(["run", c, s, "-o", out, "--size", "128", "--scales", "3", "--iterations", "40", "--dry-run"])
        XCTAssertEqual(dry.code, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("dry run: 3 scales: 32×24 (15 it) → 64×48 (15 it) → 128×96 (10 it)"), dry.stdout)
        try assertBadInput(["run", c, s, "--scales", "9"], "--scales")
        try assertBadInput(["run", c, s, "--scales", "2", "--scale-step", "1"], "--scale-step")
        try assertBadInput(["run", c, s, "--scales", "2", "--scale-iterations", "5,x"], "--scale-iterations")
        try assertBadInput(["run", c, s, "--scales", "2", "--scale-iterations", "5,5,5"], "--scale-iterations")
        try assertBadInput(["run", c, s, "--scales", "2", "--scale-iterations", "5,5", "--iterations", "3"], "--iterations")
        try assertBadInput(["run", c, s, "--size", "64", "--scales", "4"], "needs at least")
        try assertBadInput(["run", "--resume", dir + "/c2f.session", "--scales", "3"], "--scales")
    }

    /// `restyle bench` takes turns between the thread counts in one run: a row per count, 1 thread
    /// first, and the scaling as the median of as many rounds as --iterations; one row without it.
    func testBenchTakesTurnsAndPrintsTheScaling() throws {
        func rows(_ r: Result) -> [Int] {
            r.stdout.split(separator: "\n").compactMap { line -> Int? in
                let f = line.split(separator: " ")
                return f.count == 9 && line.hasPrefix("   ") ? Int(f[0]) : nil
            }
        }
        let both = try restyle(["bench", "--size", "32", "--iterations", "3", "--threads", "2"])
        XCTAssertEqual(both.code, 0, both.stderr)
        XCTAssertEqual(rows(both), [1, 2], both.stdout)
        XCTAssertTrue(both.stdout.contains("3 iterations each"), both.stdout)
        XCTAssertTrue(both.stdout.contains("time on 2 threads / time on 1 = "), both.stdout)
        XCTAssertTrue(both.stdout.contains("(median of 3 rounds, "), both.stdout)
        XCTAssertTrue(both.stdout.contains("estimate") && both.stdout.contains("with 5 pairs"), "6 steps after the warm-up: \(both.stdout)")
        for args in [["--threads", "2", "--skip-serial"], ["--threads", "1"]] {
            let one = try restyle(["bench", "--size", "32", "--iterations", "2"] + args)
            XCTAssertEqual(one.code, 0, one.stderr)
            XCTAssertEqual(rows(one), [Int(args[1])!], one.stdout)
            XCTAssertFalse(one.stdout.contains("scaling"), one.stdout)
            XCTAssertFalse(one.stdout.contains("each"), one.stdout)
        }
    }

    func testRunWritesPNGWithSettingsAndJSONLog() throws {
        let c = try image("c.png", 40, 32, seed: 1), s = try image("s.png", 32, 32, seed: 2)
        let out = dir + "/out.png"
        let r = try restyle(["run", c, s, "-o", out, "--iterations", "3", "--beta", "100", "--log-json", "-",
                             "--save-every", "2", "--quiet", "--size", "40"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(rows.map { $0["iteration"] as! Int }, [0, 1, 2, 3])
        for key in ["total", "content", "style", "tv", "seconds"] { XCTAssertNotNil(rows[0][key] as? Double, key) }
        let img = try ImageIO.read(out)
        XCTAssertEqual([img.width, img.height], [40, 32])
        let text = Dictionary(try ImageIO.readPNGText(out), uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(text["beta"], "100.0")
        XCTAssertEqual(text["iteration"], "3")
        XCTAssertEqual(text["optimizer"], "lbfgs")
        XCTAssertNotNil(text["restyle-version"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out-i00002.png"), "--save-every snapshot")
    }

    func testInterruptWritesTheCurrentImageAndExits130() throws {
        let c = try image("c.png", 96, 96, seed: 1), s = try image("s.png", 96, 96, seed: 2)
        let out = dir + "/out.png"
        let log = dir + "/log.jsonl"
        let r = try restyle(["run", c, s, "-o", out, "--iterations", "100000", "--quiet", "--size", "96", "--log-json", log],
                            interruptWhen: {
                                // Two iterations logged: the engine is in its loop.
                                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count >= 2
                            })
        XCTAssertEqual(r.code, 130, r.stderr)
        XCTAssertNoThrow(try ImageIO.read(out))
    }

    func testHeadlessResumeContinuesASession() throws {
        let c = try image("c.png", 32, 32, seed: 1), s = try image("s.png", 32, 32, seed: 2)
        let session = dir + "/run.restyle"
        var r = try restyle(["run", c, s, "-o", dir + "/a.png", "--iterations", "2", "--session", session, "--quiet", "--size", "32"])
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try restyle(["run", "--resume", session, "-o", dir + "/b.png", "--iterations", "4", "--log-json", "-", "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let its = r.stdout.split(separator: "\n").map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["iteration"] as! Int }
        XCTAssertEqual(its, [3, 4])
    }
}

/// CRC-32 as PNG chunks use it, to craft a header that passes the checksum and fails on size alone.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}
