import Core
import XCTest
@testable import TUI

/// `restyle batch` end to end: the built binary in child processes, on synthetic 32–48 px images with a
/// few iterations, and the real weights.
final class BatchTests: RunTestCase {
    /// Two contents × two styles at 32–40 px; the jobs take a few iterations each.
    func makePlan(_ extra: [String] = ["--iterations", "3"], out: String = "out") throws -> String {
        for (name, seed) in [("c1.png", 1), ("c2.png", 2)] { _ = try image("in/" + name, 40, 32, seed: UInt64(seed)) }
        for (name, seed) in [("s1.png", 3), ("s2.png", 4)] { _ = try image("in/" + name, 32, 32, seed: UInt64(seed)) }
        let r = try restyle(["batch", "plan", "--contents", dir + "/in/c1.png", dir + "/in/c2.png",
                             "--styles", dir + "/in/s1.png", dir + "/in/s2.png", "-o", dir + "/" + out, "--size", "32"] + extra)
        XCTAssertEqual(r.code, 0, r.stderr)
        return dir + "/" + out + "/jobs.jsonl"
    }

    override func image(_ name: String, _ w: Int, _ h: Int, seed: UInt64 = 1) throws -> String {
        let folder = (dir + "/" + name as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try super.image(name, w, h, seed: seed)
    }

    /// The job lines ("[k/n] done NAME …") of one or more runs' stdout, by word.
    func lines(_ outs: [String], _ word: String) -> [String] {
        outs.flatMap { $0.split(separator: "\n").map(String.init) }.filter { $0.split(separator: " ").dropFirst().first == Substring(word) }
    }


    func finish(_ h: (Process, Pipe, Pipe)) -> Result {
        let o = h.1.fileHandleForReading.readDataToEndOfFile(), e = h.2.fileHandleForReading.readDataToEndOfFile()
        h.0.waitUntilExit()
        return Result(code: h.0.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    // MARK: - plan

    func testPlanCrossProductNamesAndSweep() throws {
        for n in ["b.png", "a.jpg", ".hidden.png", "notes.txt"] { _ = try image("c/" + n, 32, 32) }
        try FileManager.default.moveItem(atPath: dir + "/c/notes.txt", toPath: dir + "/c/notes.txt.bak")
        _ = try image("s/x y.png", 32, 32)
        let plan = try BatchPlan.make(contents: [dir + "/c"], styles: [dir + "/s/x y.png"],
                                      engineArguments: ["--beta", "10,100", "--size=32", "--style-layers", "relu1_1,relu2_1",
                                                        "--style-layers", "relu3_1", "--iterations", "5"])
        // Folder files by name (hidden and non-image ones left out) × one style × 2 βs × 2 layer sets.
        XCTAssertEqual(plan.jobs.count, 2 * 1 * 2 * 2)
        XCTAssertEqual(plan.swept, ["--beta", "--style-layers"])
        XCTAssertEqual(plan.jobs.map(\.output), [
            "a__x-y__beta10__style-layers-relu1_1-relu2_1.png", "a__x-y__beta10__style-layers-relu3_1.png",
            "a__x-y__beta100__style-layers-relu1_1-relu2_1.png", "a__x-y__beta100__style-layers-relu3_1.png",
            "b__x-y__beta10__style-layers-relu1_1-relu2_1.png", "b__x-y__beta10__style-layers-relu3_1.png",
            "b__x-y__beta100__style-layers-relu1_1-relu2_1.png", "b__x-y__beta100__style-layers-relu3_1.png"])
        XCTAssertEqual(plan.jobs.map(\.settings.beta), [10, 10, 100, 100, 10, 10, 100, 100])
        XCTAssertEqual(plan.jobs[1].settings.styleLayers, ["relu3_1"])
        XCTAssertEqual(plan.jobs[0].settings.styleLayers, ["relu1_1", "relu2_1"])
        XCTAssertTrue(plan.jobs.allSatisfy { $0.size == 32 && $0.settings.iterations == 5 && $0.content.hasPrefix("/") })
        XCTAssertEqual(plan.jobs.map(\.index), Array(0..<8))
        // The same arguments give the same list, byte for byte.
        let again = try BatchPlan.make(contents: [dir + "/c"], styles: [dir + "/s/x y.png"],
                                       engineArguments: ["--beta", "10,100", "--size=32", "--style-layers", "relu1_1,relu2_1",
                                                         "--style-layers", "relu3_1", "--iterations", "5"])
        XCTAssertEqual(try plan.jobs.map { try $0.jsonLine() }, try again.jobs.map { try $0.jsonLine() })
        // Two inputs of one name from different folders get distinct outputs.
        _ = try image("d/a.png", 32, 32)
        let dup = try BatchPlan.make(contents: [dir + "/c/a.jpg", dir + "/d/a.png"], styles: [dir + "/s/x y.png"], engineArguments: [])
        XCTAssertEqual(dup.jobs.map(\.output), ["a__x-y.png", "a__x-y-2.png"])
        XCTAssertEqual(dup.jobs[0].settings.iterations, 500, "run's default")
        // A relative --init path is written absolute, so the list works from any folder.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        let started = try BatchPlan.make(contents: ["d/a.png"], styles: ["d/a.png"], engineArguments: ["--init", "c/b.png"])
        XCTAssertEqual(started.jobs[0].settings.initKind, .image((dir as NSString).standardizingPath + "/c/b.png"))
        XCTAssertEqual(started.jobs[0].content, (dir as NSString).standardizingPath + "/d/a.png")
    }

    /// `--style-set`: several styles blended as one style of the plan, with `--style-blend` repeated to
    /// sweep; the job runs with every style and records them.
    func testStyleSetsAreBlendedJobs() throws {
        let s1 = try image("s/s1.png", 32, 32, seed: 3), s2 = try image("s/s2.png", 32, 32, seed: 4), c = try image("c.png", 40, 32)
        let plan = try BatchPlan.make(contents: [c], styles: [s1], styleSets: ["\(s1),\(s2)"], engineArguments: ["--size", "32", "--iterations", "2"])
        XCTAssertEqual(plan.jobs.map(\.output), ["c__s1.png", "c__s1+s2.png"])
        XCTAssertEqual(plan.jobs[1].styles, [s1, s2].map { ($0 as NSString).standardizingPath })
        XCTAssertEqual(plan.jobs[1].settings.styleBlend, [0.5, 0.5])
        XCTAssertEqual(plan.jobs[0].settings.styleBlend, [1])
        let swept = try BatchPlan.make(contents: [c], styles: [], styleSets: ["\(s1),\(s2)"],
                                       engineArguments: ["--style-blend", "1,3", "--style-blend", "3,1"])
        XCTAssertEqual(swept.jobs.map(\.settings.normalizedBlend), [[0.25, 0.75], [0.75, 0.25]])
        XCTAssertEqual(swept.swept, ["--style-blend"])
        for (sets, styles, args, expect) in [([s1], [String](), [String](), "2 to 8 image files"),
                                             (["\(s1),\(dir)/s"], [], [], "not folders"),
                                             (["\(s1),\(s2)"], [s1], ["--style-blend", "1,2"], "gives 2 weights, but the style s1 has 1"),
                                             ([], [], [], "give at least one")] {
            XCTAssertThrowsError(try BatchPlan.make(contents: [c], styles: styles, styleSets: sets, engineArguments: args), "\(sets)") {
                XCTAssertTrue("\($0)".contains(expect), "\(sets): \($0)")
            }
        }
        // Run: the blended job writes its picture, with both styles and the weights in its text.
        let r = try restyle(["batch", "plan", "--contents", c, "--style-set", "\(s1),\(s2)", "--style-blend", "3,1", "--size", "32",
                             "--iterations", "2", "-o", dir + "/o"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let run = try restyle(["batch", "run", dir + "/o/jobs.jsonl", "--threads", "1"])
        XCTAssertEqual(run.code, 0, run.stderr)
        let text = try ImageIO.readPNGText(dir + "/o/c__s1+s2.png")
        XCTAssertTrue(text.contains { $0.0 == "style" && $0.1.hasSuffix("s1.png,\((s2 as NSString).standardizingPath)") }, "\(text)")
        XCTAssertTrue(text.contains { $0 == ("style-blend", "0.75,0.25") }, "\(text)")
    }

    func testPlanRefusals() throws {
        _ = try image("c.png", 32, 32)
        let c = dir + "/c.png"
        for (args, expect) in [(["--beta", "10,,100"], "empty value"), (["--beta", "-5"], "--beta"), (["--bogus", "1"], "bogus"),
                               (["--max-memory", "1G"], "give --max-memory to batch run"), (["stray"], "unexpected argument"),
                               (["--iterations"], "needs a value")] {
            XCTAssertThrowsError(try BatchPlan.make(contents: [c], styles: [c], engineArguments: args), "\(args)") { e in
                XCTAssertTrue("\(e)".contains(expect), "\(args): \(e)")
            }
        }
        XCTAssertThrowsError(try BatchPlan.make(contents: [dir + "/nope.png"], styles: [c], engineArguments: [])) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
        // The command: one line, exit 2; an existing list is kept unless --force.
        let r = try restyle(["batch", "plan", "--contents", c, "--styles", c, "--beta", "x", "-o", dir + "/o"])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(try restyle(["batch", "plan", "--contents", c, "--styles", c, "-o", dir + "/o"]).code, 0)
        let again = try restyle(["batch", "plan", "--contents", c, "--styles", c, "-o", dir + "/o"])
        XCTAssertEqual(again.code, 2)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        XCTAssertEqual(try restyle(["batch", "plan", "--contents", c, "--styles", c, "-o", dir + "/o", "--force"]).code, 0)
    }

    func testShardParsing() throws {
        XCTAssertEqual(try Shard.resolve("1/4", environment: [:]).index, 1)
        XCTAssertEqual(try Shard.resolve(nil, environment: [:]).count, 1)
        let slurm = try Shard.resolve(nil, environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"])
        XCTAssertEqual(slurm.index, 3); XCTAssertEqual(slurm.count, 4)
        XCTAssertEqual(try Shard.resolve("0/2", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"]).count, 2)
        for bad in ["4/4", "-1/4", "1/0", "a/b", "1", "1/2/3"] {
            XCTAssertThrowsError(try Shard.resolve(bad, environment: [:]), bad)
        }
        // An array submitted as 1-4 has IDs up to 4 with a count of 4: refused rather than misassigned.
        XCTAssertThrowsError(try Shard.resolve(nil, environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"])) {
            XCTAssertTrue("\($0)".contains("--array=0-(N-1)"), "\($0)")
        }
        XCTAssertEqual(Threads.defaultCount(environment: ["SLURM_CPUS_PER_TASK": "3"]), 3)
        XCTAssertEqual(Threads.defaultCount(environment: [:]), ProcessInfo.processInfo.activeProcessorCount)
    }

    // MARK: - run

    func testTwoShardsRunEveryJobOnceThenSkip() throws {
        let list = try makePlan()
        let a = try start(["batch", "run", list, "--shard", "0/2", "--threads", "1"])
        let b = try start(["batch", "run", list, "--threads", "1"], env: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"])
        let ra = finish(a), rb = finish(b)
        XCTAssertEqual(ra.code, 0, ra.stderr); XCTAssertEqual(rb.code, 0, rb.stderr)
        let done = lines([ra.stdout, rb.stdout], "done")
        XCTAssertEqual(done.count, 4, ra.stdout + rb.stdout)
        // Shard k mod 2: jobs 1 and 3 (1-based) in shard 0.
        XCTAssertEqual(lines([ra.stdout], "done").map { String($0.prefix(5)) }, ["[1/4]", "[3/4]"])
        let loaded = try JobList.read(list)
        for job in loaded.jobs {
            let text = try ImageIO.readPNGText(loaded.resolve(job.output))
            XCTAssertTrue(text.contains { $0 == ("restyle-job", job.settingsHash) }, job.output)
            XCTAssertTrue(text.contains { $0 == ("iteration", "3") }, job.output)
        }
        // Run again: nothing to do; status says all done.
        let again = try restyle(["batch", "run", list])
        XCTAssertEqual(again.code, 0, again.stderr)
        XCTAssertEqual(lines([again.stdout], "skip").count, 4, again.stdout)
        let status = try restyle(["batch", "status", list])
        XCTAssertEqual(status.code, 0, status.stdout)
        XCTAssertTrue(status.stdout.hasPrefix("4 jobs: 4 done, 0 running, 0 failed, 0 pending"), status.stdout)
        // A changed setting changes the hash: the jobs run again (their old outputs were ours to replace).
        _ = try makePlan(["--iterations", "4", "--force"])
        let changed = try restyle(["batch", "run", list, "--shard", "1/2"])
        XCTAssertEqual(lines([changed.stdout], "done").count, 2, changed.stdout + changed.stderr)
        XCTAssertEqual(try restyle(["batch", "status", list]).code, 1)
    }

    func testGNUParallelTwoShards() throws {
        let parallel = ["/usr/bin/parallel", "/usr/local/bin/parallel"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let parallel else { return XCTFail("GNU parallel is required (make setup installs it)") }
        let list = try makePlan()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: parallel)
        p.arguments = ["--will-cite", "-j", "2", Self.binary, "batch", "run", list, "--threads", "1", "--shard", "{}/2", ":::", "0", "1"]
        let out = Pipe(); p.standardOutput = out; p.standardError = Pipe()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        let done = lines([text], "done")
        XCTAssertEqual(done.count, 4, text)
        XCTAssertEqual(Set(done.map { $0.split(separator: " ")[2] }).count, 4, "each job once: \(text)")
        XCTAssertEqual(try restyle(["batch", "status", list]).code, 0)
    }

    func testTwoRunnersOfTheSameShardRunEachJobOnce() throws {
        let list = try makePlan(["--iterations", "4"])
        let a = try start(["batch", "run", list, "--threads", "1"]), b = try start(["batch", "run", list, "--threads", "1"])
        let ra = finish(a), rb = finish(b)
        XCTAssertEqual(ra.code, 0, ra.stderr); XCTAssertEqual(rb.code, 0, rb.stderr)
        let done = lines([ra.stdout, rb.stdout], "done")
        XCTAssertEqual(done.count, 4, "each job run by exactly one: \(ra.stdout)\n--\n\(rb.stdout)")
        XCTAssertEqual(Set(done.map { $0.split(separator: " ")[2] }).count, 4)
        XCTAssertEqual(lines([ra.stdout, rb.stdout], "done").count + lines([ra.stdout, rb.stdout], "skip").count
                       + lines([ra.stdout, rb.stdout], "held").count, 8, "every job accounted for by both runners")
        let sessions = try FileManager.default.contentsOfDirectory(atPath: dir + "/out/.sessions")
        XCTAssertEqual(sessions, [], "no lock or session left behind")
    }

    func testResumeAfterSIGTERMMatchesAnUninterruptedRun() throws {
        _ = try image("in/c.png", 48, 40, seed: 5); _ = try image("in/s.png", 40, 40, seed: 6)
        var lists: [String] = []
        for out in ["whole", "cut"] {
            let r = try restyle(["batch", "plan", "--contents", dir + "/in/c.png", "--styles", dir + "/in/s.png", "-o", dir + "/" + out,
                                 "--size", "48", "--iterations", "40"])
            XCTAssertEqual(r.code, 0, r.stderr)
            lists.append(dir + "/" + out + "/jobs.jsonl")
        }
        let whole = try restyle(["batch", "run", lists[0], "--threads", "1", "--save-every", "0"])
        XCTAssertEqual(whole.code, 0, whole.stderr)
        // SIGTERM once the first periodic save is there (a few iterations in), as Slurm does before a kill.
        let h = try start(["batch", "run", lists[1], "--threads", "1", "--save-every", "5"])
        let sessions = dir + "/cut/.sessions"
        let end = Date().addingTimeInterval(120)
        while Date() < end, ((try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? []).allSatisfy({ !$0.hasSuffix(".session") }) {
            usleep(10_000)
        }
        kill(h.0.processIdentifier, SIGTERM)
        let cut = finish(h)
        XCTAssertEqual(cut.code, 128 + SIGTERM, cut.stdout + cut.stderr)
        XCTAssertEqual(lines([cut.stdout], "stopped").count, 1, cut.stdout)
        let status = try restyle(["batch", "status", lists[1]])
        XCTAssertTrue(status.stdout.contains("1 pending (1 with a saved session)"), status.stdout)
        XCTAssertEqual(status.code, 1)
        let resumed = try restyle(["batch", "run", lists[1], "--threads", "1", "--save-every", "5"])
        XCTAssertEqual(resumed.code, 0, resumed.stderr)
        let line = try XCTUnwrap(lines([resumed.stdout], "done").first, resumed.stdout)
        let from = try XCTUnwrap(line.range(of: "resumed from iteration ").map { Int(line[$0.upperBound...].prefix { $0.isNumber }) ?? -1 })
        XCTAssertGreaterThanOrEqual(from, 5, line)
        XCTAssertLessThan(from, 40, line)
        func loss(_ s: String) throws -> Double {
            let l = try XCTUnwrap(lines([s], "done").first)
            let r = try XCTUnwrap(l.range(of: "loss "))
            return try XCTUnwrap(Double(l[r.upperBound...].prefix { !$0.isWhitespace }))
        }
        let got = try loss(resumed.stdout), want = try loss(whole.stdout)
        XCTAssertLessThanOrEqual(abs(got - want) / want, 1e-5, "resumed \(got) vs uninterrupted \(want) final loss")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sessions), [], "the session is removed once the output is written")
    }

    func testABadJobAmongGoodOnes() throws {
        _ = try image("in/c.png", 32, 32, seed: 1); _ = try image("in/s.png", 32, 32, seed: 2)
        _ = write("in/broken.png", Array("not an image".utf8))
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        let list = dir + "/out/jobs.jsonl"
        let s = "\"settings\": {\"iterations\": 2}, \"size\": 32"
        _ = FileManager.default.createFile(atPath: list, contents: Data("""
            {"content": "../in/c.png", "style": "../in/s.png", "output": "good1.png", \(s)}
            {"content": "../in/broken.png", "style": "../in/s.png", "output": "bad.png", \(s)}
            {"content": "../in/c.png", "style": "../in/s.png", "output": "good2.png", \(s), "settings": {"iterations": 3}}

            """.utf8))
        let r = try restyle(["batch", "run", list, "--threads", "1"])
        XCTAssertEqual(r.code, 1, r.stdout + r.stderr)
        XCTAssertEqual(lines([r.stdout], "done").count, 2, r.stdout)
        XCTAssertEqual(lines([r.stdout], "FAILED").count, 1, r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/good1.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/good2.png"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/bad.png"))
        let failed = try String(contentsOfFile: dir + "/out/failed.jsonl", encoding: .utf8)
        XCTAssertEqual(failed.split(separator: "\n").count, 1)
        XCTAssertTrue(failed.contains("\"output\":\"bad.png\"") && failed.contains("not a PNG or JPEG image"), failed)
        let status = try restyle(["batch", "status", list])
        XCTAssertEqual(status.code, 1)
        XCTAssertTrue(status.stdout.hasPrefix("3 jobs: 2 done, 0 running, 1 failed, 0 pending"), status.stdout)
        XCTAssertTrue(status.stdout.contains("failed   bad.png  ") && status.stdout.contains("not a PNG or JPEG image"), status.stdout)
        // A file the batch did not write is never replaced.
        _ = try image("out/mine.png", 32, 32)
        _ = FileManager.default.createFile(atPath: list, contents: Data("{\"content\": \"../in/c.png\", \"style\": \"../in/s.png\", \"output\": \"mine.png\", \(s)}\n".utf8))
        let refused = try restyle(["batch", "run", list])
        XCTAssertEqual(refused.code, 1)
        XCTAssertTrue(refused.stdout.contains("was not written by restyle batch"), refused.stdout)
        // A bad list is refused whole, with one line naming the line.
        _ = FileManager.default.createFile(atPath: list, contents: Data("{\"content\": 1}\n".utf8))
        let bad = try restyle(["batch", "run", list])
        XCTAssertEqual(bad.code, 2)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("jobs.jsonl:1:"), bad.stderr)
    }

    func testStatusNamesTheRunner() throws {
        let list = try makePlan()
        let loaded = try JobList.read(list)
        // A live lock (this test process holds it) and a stale one of a dead process.
        let live = BatchPaths(job: loaded.jobs[0], list: loaded), stale = BatchPaths(job: loaded.jobs[1], list: loaded)
        try FileManager.default.createDirectory(atPath: dir + "/out/.sessions", withIntermediateDirectories: true)
        guard case .acquired(let lock) = try JobLock.acquire(live.lock) else { return XCTFail("lock") }
        _ = FileManager.default.createFile(atPath: stale.lock, contents: Data("999999999 \(JobLock.hostName)\n".utf8))
        let s = try restyle(["batch", "status", list])
        XCTAssertEqual(s.code, 1)
        XCTAssertTrue(s.stdout.hasPrefix("4 jobs: 0 done, 1 running, 0 failed, 3 pending"), s.stdout)
        XCTAssertTrue(s.stdout.contains("running  \(loaded.jobs[0].output)  PID \(getpid()) on \(JobLock.hostName)"), s.stdout)
        // A runner leaves the held job alone and takes over the stale one.
        let r = try restyle(["batch", "run", list, "--shard", "0/1"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(lines([r.stdout], "held").count, 1, r.stdout)
        XCTAssertEqual(lines([r.stdout], "done").count, 3, r.stdout)
        withExtendedLifetime(lock) {}
    }

    // MARK: - sheet

    func testSheetDimensionsAndDistinctCells() throws {
        let list = try makePlan(["--iterations", "2", "--beta", "10,1000"])
        XCTAssertEqual(try restyle(["batch", "run", list]).code, 0)
        let sheetPath = dir + "/sheet.png"
        let r = try restyle(["batch", "sheet", list, "-o", sheetPath, "--cell", "48"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let sheet = try ImageIO.read(sheetPath)
        // Rows: 2 contents; columns: 2 styles × 2 βs; labels: content, style, beta (3 lines).
        let p = ContactSheet.padding, cellH = 48 + 3 * ContactSheet.lineHeight
        XCTAssertEqual(sheet.width, p + 4 * (48 + p))
        XCTAssertEqual(sheet.height, p + 2 * (cellH + p))
        var cells: [[Float]] = []
        for row in 0..<2 {
            for col in 0..<4 {
                let x0 = p + col * (48 + p), y0 = p + row * (cellH + p)
                var px: [Float] = []
                for c in 0..<3 { for y in y0..<(y0 + cellH) { for x in x0..<(x0 + 48) { px.append(sheet[c, y, x]) } } }
                cells.append(px)
            }
        }
        for i in 0..<cells.count { for j in (i + 1)..<cells.count { XCTAssertNotEqual(cells[i], cells[j], "cells \(i) and \(j)") } }
        let layout = SheetLayout(list: try JobList.read(list))
        let labels = layout.rows { _ in nil }.flatMap { $0.map(\.lines) }
        XCTAssertEqual(labels[1], ["c1", "s1", "beta 1000.0", "(not done)"])
        // --show draws it with chafa; -o must be a PNG.
        let shown = try restyle(["batch", "sheet", list, "--show"], env: ["COLORTERM": "truecolor", "NO_COLOR": ""])
        XCTAssertEqual(shown.code, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("\u{1B}[38;2;"), "truecolor cells")
        XCTAssertEqual(try restyle(["batch", "sheet", list, "-o", dir + "/s.jpg"]).code, 2)
    }
}
