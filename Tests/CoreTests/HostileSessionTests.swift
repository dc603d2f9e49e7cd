@testable import Core
import Foundation
import XCTest

/// Session files are shared and the checksum can be recomputed by anyone, so the reader must survive any
/// payload. Each case here crafted a crash, a hang or an out-of-bounds access before the reader
/// validated every field (issue 6); each builds a payload with a *valid* checksum, so the payload parser
/// is what is tested.
final class HostileSessionTests: XCTestCase {
    /// A session payload in the v1 layout, field by field, each replaceable.
    struct Payload {
        var version = "0.1.0"
        var settingsJSON = Data(#"{"alpha":1,"beta":10,"tv":0,"optimizer":"adam","learningRate":1,"lbfgsHistory":100,"contentLayers":["relu1_1"],"styleLayers":["relu1_1"],"pooling":"max","iterations":5,"initKind":{"content":{}},"seed":0}"#.utf8)
        var iteration = 1
        var elapsed = 0.5
        var flags = (1, 0)
        var historyJSON = Data(#"{"points":[],"marks":[]}"#.utf8)
        var size = (w: 4, h: 3)
        var imageCount: Int?
        var x: [Float]?
        var optimizer = "adam"
        var adamT = 1

        func bytes() throws -> Data {
            var w = BinaryWriter(DataSink())
            try w.string(version)
            try w.bytes(settingsJSON)
            try w.int(iteration); try w.double(elapsed); try w.int(flags.0); try w.int(flags.1)
            try w.bytes(historyJSON)
            // With an absurd size only `imageCount` floats follow: the reader must refuse on the size alone.
            let n = size.w < 1 << 12 && size.h < 1 << 12 ? 3 * size.w * size.h : 0
            for _ in 0..<3 {
                try w.int(size.w); try w.int(size.h)
                let count = imageCount ?? n
                try w.floats([Float](repeating: 100, count: min(count, 1 << 20)))
            }
            try w.floats(x ?? [Float](repeating: 100, count: n))
            try w.floats([Float](repeating: 0, count: n))
            for _ in 0..<4 { try w.double(1) }
            try w.string(optimizer)
            try w.int(adamT)
            try w.floats([Float](repeating: 0, count: n)); try w.floats([Float](repeating: 0, count: n))
            return w.sink.data
        }
    }

    /// magic, version, length, payload, FNV-1a: a file whose checksum is right.
    static func wrap(_ payload: Data, length: Int? = nil) -> Data {
        var w = BinaryWriter(DataSink())
        w.sink.data.append(SessionFile.magic)
        // The crafted payload is in the version 1 layout (one style image).
        try! w.int(1)
        try! w.int(length ?? payload.count)
        w.sink.data.append(payload)
        var h = SessionFile.FNV1a()
        payload.withUnsafeBytes { h.add($0) }
        try! w.int(Int(Int64(bitPattern: h.h)))
        return w.sink.data
    }

    func assertRefused(_ data: Data, _ expect: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SessionState(data: data, source: "s.session"), file: file, line: line) { err in
            let m = "\(err)"
            XCTAssertTrue(m.hasPrefix("s.session: "), "names the file: \(m)", file: file, line: line)
            XCTAssertTrue(m.contains(expect), "\(m) does not say \(expect)", file: file, line: line)
        }
    }

    func testTheCraftedBaselineParses() throws {
        let s = try SessionState(data: Self.wrap(try Payload().bytes()), source: "s.session")
        XCTAssertEqual(s.content.width, 4)
        XCTAssertEqual(s.iteration, 1)
    }

    func testPayloadLengthNearInt64MaxIsRefused() throws {
        let p = try Payload().bytes()
        for n in [Int.max, Int.max - 23, Int.max - 31, -1, Int.min] {
            assertRefused(Self.wrap(p, length: n), "session file")
        }
    }

    func testInnerLengthsNearInt64MaxAreRefused() throws {
        var p = try Payload().bytes()
        // The version string's length is the first field.
        for n in [Int.max, Int.max - 7, -8] {
            p.replaceSubrange(0..<8, with: withUnsafeBytes(of: Int64(n).littleEndian) { Data($0) })
            assertRefused(Self.wrap(p), "corrupt")
        }
    }

    func testImageSizeWhoseFloatCountWrapsIsRefused() throws {
        var p = Payload()
        // 3·w·h with w = 2^62 + 32 wraps to a small number; it must be refused on the side length alone.
        p.size = (w: (1 << 62) + 32, h: 1)
        p.imageCount = 96
        assertRefused(Self.wrap(try p.bytes()), "width")
        p.size = (w: 20000, h: 20000)
        assertRefused(Self.wrap(try p.bytes()), "width")
        p.size = (w: 16000, h: 16000)
        assertRefused(Self.wrap(try p.bytes()), "pixels")
    }

    func testAbsurdSettingsAreRefused() throws {
        for (json, says) in [
            (#"{"lbfgsHistory":1000000000000}"#, "lbfgs-history"),
            (#"{"lbfgsHistory":9223372036854775807}"#, "lbfgs-history"),
            (#"{"iterations":-5}"#, "iterations"),
            (#"{"alpha":-3}"#, "alpha"),
            (#"{"beta":1e300}"#, "beta"),
            (#"{"learningRate":0}"#, "lr"),
            (#"{"contentLayers":["relu9_9"]}"#, "relu9_9"),
            (#"{"alpha":"high"}"#, "settings"),
            (#"[1,2,3]"#, "settings"),
        ] {
            var p = Payload()
            p.settingsJSON = Data(json.utf8)
            assertRefused(Self.wrap(try p.bytes()), says)
        }
    }

    func testNegativeIterationIsRefused() throws {
        for it in [Int.min, -1] {
            var p = Payload()
            p.iteration = it
            assertRefused(Self.wrap(try p.bytes()), "iteration")
        }
    }

    func testNonFiniteValuesAreRefused() throws {
        var p = Payload()
        p.elapsed = .nan
        assertRefused(Self.wrap(try p.bytes()), "elapsed")
        p = Payload()
        p.historyJSON = Data(#"{"points":[{"iteration":0,"terms":{"total":1e999,"content":0,"style":0,"tv":0},"alpha":1,"beta":1,"tv":0}],"marks":[]}"#.utf8)
        assertRefused(Self.wrap(try p.bytes()), "history")
    }

    /// Found by the session fuzzer: finite is not enough where the TUI makes an Int of a value. An elapsed
    /// time of 1.8e308 s trapped the status line's clock; a chart mark or history iteration near Int.min
    /// or Int.max trapped the chart (first + 1, Int of a scaled position).
    func testValuesTheTUIWouldTrapOnAreRefused() throws {
        for t in [Double.greatestFiniteMagnitude, 1e19, Limits.maxElapsedSeconds * 2] {
            var p = Payload()
            p.elapsed = t
            assertRefused(Self.wrap(try p.bytes()), "elapsed")
        }
        let point = #"{"iteration":ITER,"terms":{"total":1,"content":1,"style":1,"tv":0},"alpha":1,"beta":1,"tv":0}"#
        for i in [Int.max, Int.min, -1, Limits.maxIterations + 1] {
            var p = Payload()
            p.historyJSON = Data(#"{"points":[],"marks":[\#(i)]}"#.utf8)
            assertRefused(Self.wrap(try p.bytes()), "history iteration \(i)")
            p.historyJSON = Data(#"{"points":[\#(point.replacingOccurrences(of: "ITER", with: "\(i)"))],"marks":[]}"#.utf8)
            assertRefused(Self.wrap(try p.bytes()), "history iteration \(i)")
        }
        // The limits themselves are fine.
        var p = Payload()
        p.elapsed = Limits.maxElapsedSeconds
        p.historyJSON = Data(#"{"points":[\#(point.replacingOccurrences(of: "ITER", with: "\(Limits.maxIterations)"))],"marks":[0,\#(Limits.maxIterations)]}"#.utf8)
        XCTAssertNoThrow(try SessionState(data: Self.wrap(try p.bytes()), source: "s.session"))
    }

    /// Found by the session-resume fuzzer: a step undone for being non-finite left L-BFGS's direction
    /// non-finite, and the next save wrote it, so the session could not be read back. After a reset
    /// there is nothing non-finite to save.
    func testLBFGSResetLeavesStateThatSavesAndReadsBack() throws {
        let n = 6
        let o = try LBFGS(count: n, history: 2)
        var x = [Float](repeating: 100, count: n)
        let g: [Float] = [1, -2, 3, -4, 5, -6]
        o.step(x: &x, grad: g, count: n, learningRate: 1)
        o.d.ptr[2] = .infinity; o.d.ptr[3] = .nan // what a step that overflowed leaves
        o.reset()
        var w = BinaryWriter(DataSink())
        try o.encode(into: &w)
        var r = BinaryReader(w.sink.data, source: "s.session")
        XCTAssertNoThrow(try LBFGS(count: n, history: 2).decode(from: &r, count: n))
    }

    /// Found by the session-resume fuzzer: a session may hold a finite gradient whose square overflows a
    /// Float, and Adam's next step stored an infinite second moment, which the next save wrote.
    func testAdamMomentsStayFiniteOnAHugeGradient() throws {
        let n = 4
        let o = try Adam(count: n)
        var x = [Float](repeating: 100, count: n)
        for _ in 0..<2 { o.step(x: &x, grad: [1e21, -3e38, .greatestFiniteMagnitude, 1], count: n, learningRate: 1) }
        var w = BinaryWriter(DataSink())
        try o.encode(into: &w)
        var r = BinaryReader(w.sink.data, source: "s.session")
        XCTAssertNoThrow(try Adam(count: n).decode(from: &r, count: n))
        XCTAssertTrue(x.allSatisfy { (0...255).contains($0) })
    }

    /// Found by the session-resume fuzzer: a session whose optimiser step count is at the limit the
    /// reader allows was continued one step and saved past it, so it could not be read back.
    func testStepCountsAtTheLimitStillSaveReadably() throws {
        let n = 3
        var x = [Float](repeating: 100, count: n)
        let g: [Float] = [1, -1, 0.5]
        for make in [{ try Adam(count: n) as Optimizer }, { try LBFGS(count: n, history: 2) as Optimizer }] {
            var w = BinaryWriter(DataSink())
            try w.int(Limits.maxIterations) // t, or steps
            if try make() is LBFGS { try w.double(1); try w.double(1); try w.int(0) } // hDiag, lastT, no pairs
            try w.floats([Float](repeating: 0, count: n)); try w.floats([Float](repeating: 0, count: n))
            var r = BinaryReader(w.sink.data, source: "s.session")
            let o = try make()
            try o.decode(from: &r, count: n)
            o.step(x: &x, grad: g, count: n, learningRate: 1)
            var again = BinaryWriter(DataSink())
            try o.encode(into: &again)
            var r2 = BinaryReader(again.sink.data, source: "s.session")
            XCTAssertNoThrow(try make().decode(from: &r2, count: n), "\(o.kind)")
        }
    }

    /// The rest of a session (x, g, optimizer state) needs the network, so these go through `resume`.
    func testNaNImageAndHugeOptimizerStateAreRefused() throws {
        let w = VGGWeights(randomSeed: 1)
        var p = Payload()
        p.size = (w: 16, h: 16)
        var x = [Float](repeating: 100, count: 3 * 16 * 16)
        x[7] = .nan
        p.x = x
        XCTAssertThrowsError(try Optimization.resume(data: Self.wrap(try p.bytes()), source: "s", weights: w)) {
            XCTAssertTrue("\($0)".contains("non-finite"), "\($0)")
        }
        p = Payload()
        p.size = (w: 16, h: 16)
        p.adamT = -1
        XCTAssertThrowsError(try Optimization.resume(data: Self.wrap(try p.bytes()), source: "s", weights: w)) {
            XCTAssertTrue("\($0)".contains("Adam"), "\($0)")
        }
        p.adamT = 1
        p.optimizer = "lbfgs"
        XCTAssertThrowsError(try Optimization.resume(data: Self.wrap(try p.bytes()), source: "s", weights: w)) {
            XCTAssertTrue("\($0)".contains("optimizer"), "\($0)")
        }
        // And the baseline at this size does load, so the refusals above are about the one field.
        p = Payload()
        p.size = (w: 16, h: 16)
        _ = try Optimization.resume(data: Self.wrap(try p.bytes()), source: "s", weights: w)
    }

    /// Random damage to a valid payload, checksum fixed each time: never a crash, only errors or loads.
    func testMutatedPayloadsNeverCrash() throws {
        let w = VGGWeights(randomSeed: 1)
        var p = Payload()
        p.size = (w: 16, h: 16)
        let base = try p.bytes()
        var rng = SplitMix64(seed: 9)
        for _ in 0..<300 {
            var d = base
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(d.count))
                switch rng.next() % 3 {
                case 0: d[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                case 1: d[i] = 0xFF
                default: d.removeSubrange(i..<min(d.count, i + Int(rng.next() % 16)))
                }
                if d.isEmpty { break }
            }
            _ = try? Optimization.resume(data: Self.wrap(d), source: "s", weights: w)
        }
    }

    func testSessionTooLargeForTheMemoryLimitIsRefused() throws {
        var p = Payload()
        p.size = (w: 16, h: 16)
        XCTAssertThrowsError(try Optimization.resume(data: Self.wrap(try p.bytes()), source: "s",
                                                     weights: VGGWeights(randomSeed: 1), memoryLimit: 1 << 20)) {
            XCTAssertTrue("\($0)".contains("memory"), "\($0)")
        }
    }
}

final class SessionCompatibilityTests: XCTestCase {
    static func fixture(_ name: String) -> String {
        Bundle.module.path(forResource: name, ofType: nil, inDirectory: "Data")!
    }

    /// A session written by restyle 0.1.0 (before the engine split), 20×16, L-BFGS, 3 iterations. Every
    /// later version must load it and continue exactly as that version did: these totals are what 0.1.0
    /// printed for iterations 4 and 5 (`restyle run c.png s.png --size 20 --iterations 5 --tv 10 --beta 100`).
    func testAVersion1SessionStillLoadsAndContinuesTheSame() throws {
        let w = try Golden.requireWeights()
        let (o, notes) = try Optimization.resume(from: Self.fixture("session-v1.session"), weights: w)
        XCTAssertEqual(notes, [])
        XCTAssertEqual(o.iteration, 3)
        XCTAssertEqual(o.width, 20); XCTAssertEqual(o.height, 16)
        XCTAssertEqual(o.history.map(\.iteration), [0, 1, 2, 3])
        assertRelative(o.terms.total, 41.1255697772284, 1e-9, "stored total")
        o.apply([{ $0.iterations = 5 }])
        o.iterate()
        assertRelative(o.terms.total, 497.8766821918178, 1e-5, "iteration 4")
        o.iterate()
        assertRelative(o.terms.total, 30.642693444369755, 1e-5, "iteration 5")
    }

    func testSettingsToleratesMissingAndUnknownKeys() throws {
        let (s, unknown) = try Settings.decode(json: Data(#"{"beta":250,"colorMode":"luminance","styles":[1]}"#.utf8))
        XCTAssertEqual(s.beta, 250)
        XCTAssertEqual(s.alpha, Settings().alpha)
        XCTAssertEqual(s.styleLayers, Settings.defaultStyleLayers)
        XCTAssertEqual(unknown, ["colorMode", "styles"])
        // And what is written round-trips.
        let again = try Settings.decode(json: try JSONEncoder().encode(s))
        XCTAssertEqual(again.settings, s)
        XCTAssertEqual(again.unknownKeys, [])
    }
}
