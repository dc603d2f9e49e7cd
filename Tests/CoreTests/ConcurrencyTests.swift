@testable import Core
import Foundation
import Synchronization
import XCTest

/// The races issue 6 found, made to happen: run under `make test-sanitize` (ThreadSanitizer) these must
/// be clean, and in a plain run they must leave consistent state and complete files.
final class ConcurrencyTests: XCTestCase {
    /// Another thread reads the published images (as the TUI's content/style views do) while the engine
    /// upscales and iterates.
    func testReadingPublishedImagesDuringUpscale() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings(); s.iterations = 1_000_000
        s.contentLayers = ["relu2_1"]; s.styleLayers = ["relu1_1", "relu2_1"]
        let content = Bench.syntheticImage(width: 16, height: 12, seed: 1)
        let e = try Engine(weights: w, content: content, style: content, settings: s)
        e.start()
        let stop = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let reader = Thread {
            while !stop.load(ordering: .relaxed) {
                let c = e.contentImage, st = e.styleImages[0], (img, _) = e.currentImage()
                XCTAssertEqual(c.pixels.count, 3 * c.width * c.height)
                XCTAssertEqual(st.pixels.count, 3 * st.width * st.height)
                XCTAssertEqual(img.pixels.count, 3 * img.width * img.height)
                reads.add(1, ordering: .relaxed)
            }
        }
        reader.start()
        for _ in 0..<2 {
            try e.upscale()
            let target = e.latestProgress().iteration + 3
            while e.latestProgress().iteration < target { usleep(1000) }
        }
        e.stop()
        stop.store(true, ordering: .relaxed)
        while !reader.isFinished { usleep(1000) }
        XCTAssertEqual(e.contentImage.width, 64, "two upscales of 16 px")
        XCTAssertEqual(e.currentImage().image.width, 64)
        XCTAssertGreaterThan(reads.load(ordering: .relaxed), 10)
    }

    /// Autosave, a snapshot's save and quit all at once, on the same path, while the loop runs: every
    /// call returns, and the file left is a complete session.
    func testThreeSavesAtOnceLeaveACompleteFile() throws {
        let w = VGGWeights(randomSeed: 4)
        var s = Settings(); s.iterations = 1_000_000; s.optimizer = .adam
        s.contentLayers = ["relu1_1"]; s.styleLayers = ["relu1_1"]
        let img = Bench.syntheticImage(width: 24, height: 20, seed: 2)
        let e = try Engine(weights: w, content: img, style: img, settings: s)
        e.start()
        let dir = tempDir(), path = dir + "/pair.session"
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 3 * 10) { _ in
            do { try e.saveSession(to: path) } catch { failures.add(1, ordering: .relaxed) }
        }
        e.stop()
        try e.saveSession(to: path) // after the loop: served on the queue directly
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        let (o, _) = try Optimization.resume(from: path, weights: w)
        XCTAssertEqual(o.iteration, e.latestProgress().iteration)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "pair.session" }
        XCTAssertEqual(leftovers, [], "no temporary files left")
    }

    /// Many writers of one path from many threads, outside any engine: temporaries never collide, and the
    /// file is always one writer's complete bytes.
    func testConcurrentAtomicWritersNeverTear() throws {
        let dir = tempDir(), path = dir + "/f.bin"
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let bytes = Data(repeating: UInt8(i), count: 100_000 + i)
            try? AtomicFile.write(bytes, to: path)
        }
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        let i = Int(d[0])
        XCTAssertEqual(d, Data(repeating: UInt8(i), count: 100_000 + i))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["f.bin"])
    }
}

final class AtomicFileTests: XCTestCase {
    func testRefusesToReplaceWhatIsNotARegularFile() throws {
        let dir = tempDir()
        let fifo = dir + "/fifo", dirTarget = dir + "/d", linkToDev = dir + "/null-link", dangling = dir + "/dangling"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try FileManager.default.createDirectory(atPath: dirTarget, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: linkToDev, withDestinationPath: "/dev/null")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir + "/nothing-here")
        for p in [fifo, dirTarget, linkToDev, dangling, "/dev/null", ""] {
            XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: p), p) { e in
                XCTAssertTrue("\(e)".contains("cannot write"), "\(e)")
            }
        }
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "the FIFO is still a FIFO")
        XCTAssertEqual(lstat("/dev/null", &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null untouched")
        XCTAssertEqual(lstat(linkToDev, &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link is still a link")
    }

    func testWritesThroughASymlinkToARegularFileAndKeepsItsMode() throws {
        let dir = tempDir(), real = dir + "/real.png", link = dir + "/link.png"
        try Data("old".utf8).write(to: URL(fileURLWithPath: real))
        chmod(real, 0o640)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        try AtomicFile.write(Data("new".utf8), to: link)
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), "new")
        var st = stat()
        XCTAssertEqual(lstat(link, &st), 0); XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link is kept")
        XCTAssertEqual(stat(real, &st), 0); XCTAssertEqual(st.st_mode & 0o777, 0o640, "the file's mode is kept")
    }

    /// A hard link or FIFO planted where the old code put its predictable temporary cannot be opened:
    /// temporaries are created O_EXCL under a random name.
    func testPlantedTemporariesAreNeverOpened() throws {
        let dir = tempDir(), target = dir + "/out.png", victim = dir + "/victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        link(victim, dir + "/.out.png.tmp-\(getpid())")
        mkfifo(dir + "/.out.png.tmp-\(getpid() + 1)", 0o600)
        try AtomicFile.write(Data("image".utf8), to: target)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "image")
    }

    func testNewFilesGetTheUmaskMode() throws {
        let dir = tempDir(), p = dir + "/new.bin"
        try AtomicFile.write(Data("x".utf8), to: p)
        var st = stat()
        XCTAssertEqual(stat(p, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o666 & ~AtomicFile.processUmask())
    }
}

final class OptimizationTests: XCTestCase {
    /// Weights that overflow float32 make the loss infinite at the start: that is reported as a failure,
    /// and nothing non-finite is kept in the history or written to a session.
    func testAnInfiniteLossFailsAndIsNeverStored() throws {
        let w = VGGWeights(randomSeed: 5, scale: 1e30)
        var s = Settings(); s.iterations = 3
        s.contentLayers = ["relu2_1"]; s.styleLayers = ["relu2_1"]
        let img = Bench.syntheticImage(width: 16, height: 16, seed: 1)
        let o = try Optimization(weights: w, content: img, style: img, settings: s)
        guard case .failed(let m) = o.iterate() else { return XCTFail("expected a failure") }
        XCTAssertTrue(m.contains("not finite"), m)
        XCTAssertEqual(o.history, [])
        let path = tempDir() + "/inf.session"
        try o.writeSession(to: path)
        let (back, _) = try Optimization.resume(from: path, weights: w)
        XCTAssertTrue(back.terms.isFinite)
    }

    func testAbsurdOptionsAreRefusedBeforeAllocating() throws {
        let w = VGGWeights(randomSeed: 1)
        let img = Bench.syntheticImage(width: 16, height: 16, seed: 1)
        for change in [{ (s: inout Settings) in s.lbfgsHistory = 1_000_000_000 }, { $0.lbfgsHistory = .max },
                       { $0.alpha = 1e308 }, { $0.beta = .infinity }, { $0.iterations = -1 }, { $0.learningRate = .nan }] {
            var s = Settings()
            change(&s)
            XCTAssertThrowsError(try Optimization(weights: w, content: img, style: img, settings: s))
        }
    }

    func testTheMemoryEstimateRefusesHugeSizes() {
        var s = Settings()
        let need4096 = MemoryEstimate.bytes(width: 4096, height: 4096, styleWidth: 4096, styleHeight: 4096, settings: s)
        XCTAssertGreaterThan(need4096, 20 << 30, "4096² with a 100-pair history needs tens of GB")
        s.lbfgsHistory = 1
        let need512 = MemoryEstimate.bytes(width: 512, height: 512, styleWidth: 512, styleHeight: 512, settings: s)
        XCTAssertLessThan(need512, 2 << 30)
        XCTAssertGreaterThan(MemoryEstimate.available(), 1 << 28)
    }

    /// A change that the settings' limits refuse leaves the run as it was, with a message.
    func testARefusedChangeKeepsTheSettings() throws {
        let w = VGGWeights(randomSeed: 1)
        var s = Settings(); s.contentLayers = ["relu1_1"]; s.styleLayers = ["relu1_1"]
        let img = Bench.syntheticImage(width: 16, height: 16, seed: 1)
        let o = try Optimization(weights: w, content: img, style: img, settings: s)
        let m = o.apply([{ $0.alpha = -3 }])
        XCTAssertTrue(m?.contains("refused") == true, m ?? "nil")
        XCTAssertEqual(o.settings.alpha, 1)
    }
}

final class CancelTests: XCTestCase {
    /// An iteration cancelled in flight leaves the state as before it, and L-BFGS then continues exactly as
    /// a run that was never interrupted (a quit or signal costs nothing in the result).
    func testACancelledIterationChangesNothingAndLBFGSContinuesExactly() throws {
        let w = try Golden.requireWeights()
        var s = Settings(); s.iterations = 6; s.beta = 100
        let img = Bench.syntheticImage(width: 32, height: 24, seed: 7), sty = Bench.syntheticImage(width: 24, height: 24, seed: 8)
        let whole = try Optimization(weights: w, content: img, style: sty, settings: s)
        while !whole.isFinished { whole.iterate() }

        let o = try Optimization(weights: w, content: img, style: sty, settings: s)
        for _ in 0..<3 { o.iterate() }
        let (x, it, hist) = (o.image, o.iteration, o.history)
        o.cancelFlag.set()
        XCTAssertEqual(o.iterate(), .cancelled)
        XCTAssertEqual(o.image, x)
        XCTAssertEqual(o.iteration, it)
        XCTAssertEqual(o.history, hist)
        o.cancelFlag.clear()
        while !o.isFinished { o.iterate() }
        XCTAssertEqual(o.history.map(\.iteration), whole.history.map(\.iteration))
        for (a, b) in zip(o.history, whole.history) {
            assertRelative(a.terms.total, b.terms.total, 1e-6, "total@\(a.iteration)")
        }
    }

    /// Stop abandons a long iteration: at 256² an iteration takes about half a second here, and stop
    /// must return well before a whole one has passed.
    func testStopDoesNotWaitForTheIterationInFlight() throws {
        let w = try Golden.requireWeights()
        var s = Settings(); s.iterations = 1000
        let img = Bench.syntheticImage(width: 256, height: 256, seed: 1)
        let e = try Engine(weights: w, content: img, style: img, settings: s)
        e.start()
        while e.latestProgress().iteration < 2 { usleep(1000) }
        let perIteration = e.latestProgress().secondsPerIteration
        usleep(UInt32(perIteration * 0.2 * 1e6)) // somewhere inside the next iteration
        let t0 = Date()
        e.stop()
        let took = Date().timeIntervalSince(t0)
        XCTAssertLessThan(took, perIteration * 0.9, "stop took \(took) s with \(perIteration) s iterations")
    }
}
