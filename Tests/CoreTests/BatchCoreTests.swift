import Core
import XCTest

/// The parts of `restyle batch` that live in Core: the job list reader (hostile input), the job lock,
/// style Grams shared between objectives, the bitmap font and the contact sheet.
final class JobListTests: XCTestCase {
    func parse(_ text: String) throws -> JobList.Loaded {
        try JobList.parse(Array(text.utf8), source: "jobs.jsonl", directory: "/out")
    }

    func assertRefused(_ text: String, _ expect: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains(expect), "\(m) should contain \(expect)", file: file, line: line)
            XCTAssertFalse(m.contains("\n"), "one line: \(m)", file: file, line: line)
            XCTAssertTrue(m.hasPrefix("jobs.jsonl:"), "names the list and line: \(m)", file: file, line: line)
        }
    }

    func testMinimalHandWrittenLines() throws {
        let l = try parse("# a comment, then a blank line\n\n"
            + "{\"content\": \"a.jpg\", \"style\": \"/s/b.png\", \"output\": \"x.png\"}\n"
            + "{\"content\": \"a.jpg\", \"style\": \"b.png\", \"output\": \"sub/y.png\", \"size\": 64, \"style_size\": 32, "
            + "\"settings\": {\"beta\": 1000, \"iterations\": 7, \"future\": 1}, \"note\": \"ignored\"}")
        XCTAssertEqual(l.jobs.count, 2)
        XCTAssertEqual(l.jobs[0].size, JobList.defaultSize)
        XCTAssertEqual(l.jobs[0].settings, Settings())
        XCTAssertEqual(l.jobs[1].settings.beta, 1000)
        XCTAssertEqual(l.jobs[1].settings.iterations, 7)
        XCTAssertEqual(l.jobs[1].styleSize, 32)
        XCTAssertEqual(l.jobs[1].index, 1)
        XCTAssertEqual(l.jobs[1].line, 4)
        XCTAssertEqual(l.resolve(l.jobs[0].content), "/out/a.jpg")
        XCTAssertEqual(l.resolve(l.jobs[0].styles[0]), "/s/b.png")
        XCTAssertEqual(l.notes.count, 1, "the unknown setting is reported: \(l.notes)")
        XCTAssertTrue(l.notes[0].contains("future"))
    }

    func testHostileLines() {
        assertRefused("[1,2]\n", "expected a JSON object")
        assertRefused("{\"content\": \"a\"\n", "not valid JSON")
        assertRefused("{\"style\": \"a\", \"output\": \"o.png\"}\n", "missing 'content'")
        assertRefused("{\"content\": 3, \"style\": \"a\", \"output\": \"o.png\"}\n", "'content' has the wrong type")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.jpg\"}\n", "must be a .png")
        assertRefused("{\"content\": \"\", \"style\": \"a\", \"output\": \"o.png\"}\n", "'content' is empty")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\", \"size\": 100000}\n", "'size' must be")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\", \"size\": 64.5}\n", "'size'")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\", \"settings\": {\"beta\": -1}}\n", "--beta")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\", \"settings\": {\"beta\": \"x\"}}\n", "'settings.beta' has the wrong type")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\", \"settings\": {\"styleLayers\": [\"relu9_9\"]}}\n", "unknown layer")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"output\": \"o.png\"}\n{\"content\": \"d\", \"style\": \"a\", \"output\": \"./o.png\"}\n",
                      "also the output of line 1")
        assertRefused("{\"content\": \"" + String(repeating: "a", count: JobList.maxLineBytes) + "\"}\n", "the limit is")
        assertRefused("{\"content\": \"c\\u0000\", \"style\": \"a\", \"output\": \"o.png\"}\n", "not a usable path")
        assertRefused("{\"content\": \"c\u{0}\", \"style\": \"a\", \"output\": \"o.png\"}\n", "not valid JSON")
        assertRefused("{\"content\": \"c\", \"output\": \"o.png\"}\n", "missing 'style' (or 'styles'")
        assertRefused("{\"content\": \"c\", \"style\": \"a\", \"styles\": [\"a\", \"b\"], \"output\": \"o.png\"}\n", "not both")
        assertRefused("{\"content\": \"c\", \"styles\": [], \"output\": \"o.png\"}\n", "1 to 8 images, got 0")
        assertRefused("{\"content\": \"c\", \"styles\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"], \"output\": \"o.png\"}\n", "got 9")
        assertRefused("{\"content\": \"c\", \"styles\": [\"a\", \"\"], \"output\": \"o.png\"}\n", "'style' is empty")
        assertRefused("{\"content\": \"c\", \"styles\": [\"a\", 3], \"output\": \"o.png\"}\n", "'styles.[1]' has the wrong type")
        assertRefused("{\"content\": \"c\", \"styles\": [\"a\", \"b\"], \"output\": \"o.png\", \"settings\": {\"styleBlend\": [1, 2, 3]}}\n",
                      "3 weights for 2 styles")
        // Deep nesting is bounded by the line limit and refused by the decoder, without a crash.
        assertRefused("{\"content\":" + String(repeating: "[", count: 20_000) + "\n", "jobs.jsonl:1")
    }

    func testSeveralStylesAreOneJob() throws {
        let l = try parse("{\"content\": \"c.png\", \"styles\": [\"a.png\", \"/b.png\"], \"output\": \"o.png\"}\n"
            + "{\"content\": \"c.png\", \"styles\": [\"a.png\", \"b.png\"], \"output\": \"p.png\", \"settings\": {\"styleBlend\": [3, 1]}}\n"
            + "{\"content\": \"c.png\", \"styles\": [\"a.png\"], \"output\": \"q.png\"}\n")
        XCTAssertEqual(l.jobs[0].styles, ["a.png", "/b.png"])
        // Without weights the styles weigh the same, as on the command line.
        XCTAssertEqual(l.jobs[0].settings.styleBlend, [0.5, 0.5])
        XCTAssertEqual(l.jobs[1].settings.normalizedBlend, [0.75, 0.25])
        // A one-element list is the same job as `style`, with the same hash (so done outputs stay done).
        let one = try parse("{\"content\": \"c.png\", \"style\": \"a.png\", \"output\": \"q.png\"}\n").jobs[0]
        var third = l.jobs[2]
        third.index = one.index; third.line = one.line
        XCTAssertEqual(third, one)
        XCTAssertEqual(l.jobs[2].settingsHash, one.settingsHash)
        // Written back: one style as `style`, several as `styles`.
        XCTAssertTrue(try l.jobs[0].jsonLine().contains("\"styles\":[\"a.png\",\"/b.png\"]"))
        XCTAssertTrue(try one.jsonLine().contains("\"style\":\"a.png\""))
    }

    func testTooManyJobsAndEmptyList() throws {
        let line = "{\"content\":\"c\",\"style\":\"s\",\"output\":\"o%d.png\"}\n"
        let text = (0...JobList.maxJobs).map { String(format: line, $0) }.joined()
        XCTAssertThrowsError(try parse(text)) { XCTAssertTrue("\($0)".contains("more than \(JobList.maxJobs) jobs"), "\($0)") }
        let dir = NSTemporaryDirectory() + "restyle-jobs-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let empty = dir + "/jobs.jsonl"
        _ = FileManager.default.createFile(atPath: empty, contents: Data("# nothing\n\n".utf8))
        XCTAssertThrowsError(try JobList.read(empty)) { XCTAssertTrue("\($0)".contains("no jobs"), "\($0)") }
        XCTAssertThrowsError(try JobList.read(dir)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
    }

    func testWriteReadRoundTripAndHash() throws {
        var s = Settings(); s.beta = 100; s.initKind = .image("/x/start.png"); s.seed = 7
        let jobs = [BatchJob(index: 0, line: 1, content: "/c.png", style: "/s.png", output: "a.png", size: 64, styleSize: 48, settings: s),
                    BatchJob(index: 1, line: 2, content: "/c.png", style: "/s.png", output: "b.png", size: 64, settings: Settings())]
        let dir = NSTemporaryDirectory() + "restyle-jobs-rt-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try JobList.write(jobs, to: dir + "/jobs.jsonl")
        let back = try JobList.read(dir + "/jobs.jsonl")
        XCTAssertEqual(back.jobs, jobs)
        XCTAssertEqual(back.jobs[0].settingsHash, jobs[0].settingsHash)
        XCTAssertEqual(jobs[0].settingsHash.count, 16)
        // Every field that changes the result changes the hash; the output name does not.
        var changed = jobs[0]; changed.settings.beta = 101
        XCTAssertNotEqual(changed.settingsHash, jobs[0].settingsHash)
        changed = jobs[0]; changed.size = 65
        XCTAssertNotEqual(changed.settingsHash, jobs[0].settingsHash)
        changed = jobs[0]; changed.styles = ["/t.png"]
        XCTAssertNotEqual(changed.settingsHash, jobs[0].settingsHash)
        changed = jobs[0]; changed.styles = ["/s.png", "/t.png"]; changed.settings.styleBlend = [0.5, 0.5]
        XCTAssertNotEqual(changed.settingsHash, jobs[0].settingsHash)
        changed = jobs[0]; changed.output = "elsewhere.png"
        XCTAssertEqual(changed.settingsHash, jobs[0].settingsHash)
    }
}

final class JobLockTests: XCTestCase {
    var dir = ""
    override func setUp() {
        dir = NSTemporaryDirectory() + "restyle-lock-\(getpid())-\(UUID().uuidString.prefix(6))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func testHeldThenReleased() throws {
        let path = dir + "/job.lock"
        guard case .acquired(let lock) = try JobLock.acquire(path) else { return XCTFail("first acquire") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text, "\(getpid()) \(JobLock.hostName)\n")
        // A second open file description cannot take the flock, even in this process.
        guard case .held(let owner) = try JobLock.acquire(path) else { return XCTFail("second acquire must see it held") }
        XCTAssertEqual(owner?.pid, getpid()); XCTAssertEqual(owner?.host, JobLock.hostName)
        if case .held? = JobLock.probe(path) {} else { XCTFail("probe sees it held") }
        withExtendedLifetime(lock) {}
        _ = lock
    }

    func testReleaseRemovesTheFile() throws {
        let path = dir + "/job.lock"
        do {
            guard case .acquired(let lock) = try JobLock.acquire(path) else { return XCTFail("acquire") }
            withExtendedLifetime(lock) { XCTAssertTrue(FileManager.default.fileExists(atPath: path)) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertNil(JobLock.probe(path))
    }

    func testStaleLockOfThisHostIsTakenOver() throws {
        // A lock left by a process that is gone: its PID no longer exists and nobody holds its flock.
        let path = dir + "/job.lock"
        let dead = deadPID()
        _ = FileManager.default.createFile(atPath: path, contents: Data("\(dead) \(JobLock.hostName)\n".utf8))
        XCTAssertNil(JobLock.probe(path), "status counts a dead owner's lock as free")
        guard case .acquired(let lock) = try JobLock.acquire(path) else { return XCTFail("stale lock must be taken over") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "\(getpid()) \(JobLock.hostName)\n")
        withExtendedLifetime(lock) {}
    }

    func testOtherHostsLockIsLeftAlone() throws {
        let path = dir + "/job.lock"
        _ = FileManager.default.createFile(atPath: path, contents: Data("4242 some-other-host\n".utf8))
        guard case .held(let owner) = try JobLock.acquire(path) else { return XCTFail("another host's lock is not ours to break") }
        XCTAssertEqual(owner?.host, "some-other-host")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }

    func testNotARegularFile() throws {
        let path = dir + "/job.lock"
        mkfifo(path, 0o644)
        XCTAssertThrowsError(try JobLock.acquire(path)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
    }

    /// A PID that no process has: a child that has exited and been reaped.
    func deadPID() -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try! p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }
}

final class StyleGramsTests: XCTestCase {
    /// An objective built with another's style Grams computes exactly what one that ran the style
    /// network itself does (what lets `batch run` share them between jobs of one style).
    func testSharedGramsGiveTheSameLoss() throws {
        let w = try Golden.requireWeights()
        let s = Golden.settings()
        let first = try Objective(weights: w, content: Golden.a, style: Golden.b, settings: s)
        let c2 = Golden.image(80, 48) { i, j, c in 9 * i + 4 * j * j + 31 * c }
        let fresh = try Objective(weights: w, content: c2, style: Golden.b, settings: s)
        let shared = try Objective(weights: w, content: c2, style: Golden.b, settings: s, styleGrams: first.styleGrams)
        let n = 3 * 80 * 48
        var g1 = [Float](repeating: 0, count: n), g2 = g1
        let t1 = Golden.x.pixels.withUnsafeBufferPointer { fresh.evaluate($0.baseAddress!, grad: &g1) }
        let t2 = Golden.x.pixels.withUnsafeBufferPointer { shared.evaluate($0.baseAddress!, grad: &g2) }
        XCTAssertEqual(t1.total, t2.total)
        XCTAssertEqual(t1.style, t2.style)
        XCTAssertEqual(g1, g2)
        // Grams of another style size are not used: the result matches a fresh objective on that size.
        let b2 = resized(Golden.b, width: 48, height: 48)
        let other = try Objective(weights: w, content: c2, style: b2, settings: s, styleGrams: first.styleGrams)
        let otherFresh = try Objective(weights: w, content: c2, style: b2, settings: s)
        let t3 = Golden.x.pixels.withUnsafeBufferPointer { other.evaluate($0.baseAddress!, grad: nil) }
        let t4 = Golden.x.pixels.withUnsafeBufferPointer { otherFresh.evaluate($0.baseAddress!, grad: nil) }
        XCTAssertEqual(t3.style, t4.style)
        XCTAssertNotEqual(t3.style, t1.style)
    }
}

final class ContactSheetTests: XCTestCase {
    func testFontCoversPrintableASCII() {
        // Every printable character but space has ink; space has none; unknown characters draw as '?'.
        for code in 33...126 {
            let ch = Character(Unicode.Scalar(UInt8(code)))
            let inked = (0..<5).contains { x in (0..<8).contains { y in BitmapFont.ink(ch, x: x, y: y) } }
            XCTAssertTrue(inked, "glyph for \(ch)")
        }
        XCTAssertFalse((0..<5).contains { x in (0..<8).contains { y in BitmapFont.ink(" ", x: x, y: y) } })
        for x in 0..<5 { for y in 0..<8 { XCTAssertEqual(BitmapFont.ink("é", x: x, y: y), BitmapFont.ink("?", x: x, y: y)) } }
        // Distinct glyphs for the characters labels use most.
        let chars = Array("abcdefghijklmnopqrstuvwxyz0123456789_.-")
        let bitmaps = chars.map { ch in (0..<40).map { BitmapFont.ink(ch, x: $0 % 5, y: $0 / 5) } }
        XCTAssertEqual(Set(bitmaps.map { $0.map { $0 ? "1" : "0" }.joined() }).count, chars.count)
        XCTAssertEqual(BitmapFont.width("abc"), 17)
    }

    func testDrawClipsAtTheEdges() {
        var img = RGBImage(width: 8, height: 4, pixels: [Float](repeating: 0, count: 96))
        BitmapFont.draw("W", into: &img, x: -2, y: -3, color: (255, 255, 255))
        BitmapFont.draw("Wide text far off", into: &img, x: 6, y: 2, color: (255, 0, 0), scale: 3)
        XCTAssertTrue(img.pixels.contains(255))
    }

    func testSheetDimensionsAndCells() throws {
        let a = Bench.syntheticImage(width: 40, height: 30, seed: 1), b = Bench.syntheticImage(width: 30, height: 40, seed: 2)
        let rows: [[ContactSheet.Cell]] = [[.init(image: a, lines: ["a", "beta 10"]), .init(image: b, lines: ["b"])],
                                           [.init(image: nil, lines: ["missing", "x", "y"])]]
        let sheet = try ContactSheet.compose(rows, cellSide: 32)
        let p = ContactSheet.padding, cellH = 32 + 3 * ContactSheet.lineHeight
        XCTAssertEqual(sheet.width, p + 2 * (32 + p))
        XCTAssertEqual(sheet.height, p + 2 * (cellH + p))
        XCTAssertThrowsError(try ContactSheet.compose([], cellSide: 32))
        XCTAssertThrowsError(try ContactSheet.compose(rows, cellSide: 8))
        XCTAssertThrowsError(try ContactSheet.compose(Array(repeating: rows[0], count: 20), cellSide: 2048)) {
            XCTAssertTrue("\($0)".contains("over the image limit"), "\($0)")
        }
    }
}
