@testable import Core
import XCTest

/// The L-BFGS history in bfloat16: packing, the kernels over packed pairs, and sessions that hold them.
final class BFloat16Tests: XCTestCase {
    func testPackUnpackEdges() {
        // Exactly representable values come back unchanged.
        let exact: [Float] = [0, 1, -1, 0.5, 256, -3.140625, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x3F81_0000)]
        for v in exact {
            let back = BFloat16.unpack(BFloat16.pack(v))
            if Float(bitPattern: v.bitPattern & 0xFFFF_0000) == v { XCTAssertEqual(back.bitPattern, v.bitPattern, "\(v)") }
        }
        XCTAssertEqual(BFloat16.pack(-0.0), 0x8000, "the sign of zero is kept")
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(.infinity)), .infinity)
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(-.infinity)), -.infinity)
        XCTAssertTrue(BFloat16.unpack(BFloat16.pack(.nan)).isNaN)
        XCTAssertTrue(BFloat16.unpack(BFloat16.pack(Float(bitPattern: 0x7F80_0001))).isNaN, "a NaN whose payload is in the low bits stays NaN")
        XCTAssertFalse(BFloat16.isFinite(BFloat16.pack(.nan)))
        // Large finite values saturate instead of rounding to infinity.
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(.greatestFiniteMagnitude)), Float(bitPattern: 0x7F7F_0000))
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(-.greatestFiniteMagnitude)), -Float(bitPattern: 0x7F7F_0000))
        XCTAssertTrue(BFloat16.isFinite(BFloat16.pack(.greatestFiniteMagnitude)))
        // Subnormals: float32's exponent range is kept, so a subnormal with high mantissa bits survives, and
        // the smallest ones round to zero (not to NaN or a normal number).
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(Float(bitPattern: 0x0040_0000))), Float(bitPattern: 0x0040_0000))
        XCTAssertEqual(BFloat16.pack(.leastNonzeroMagnitude), 0)
        XCTAssertEqual(BFloat16.pack(.leastNormalMagnitude), 0x0080)
        // Round to nearest, ties to even: 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷.
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(1 + 0x1p-8)), 1)
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(1 + 3 * 0x1p-8)), 1 + 0x1p-6)
        XCTAssertEqual(BFloat16.unpack(BFloat16.pack(1 + 0x1p-8 + 0x1p-20)), 1 + 0x1p-7)
        // Relative error of at most 2⁻⁸ (half an ulp of 8 significant bits) over a wide range, gradients' scale included.
        var rng = SplitMix64(seed: 3)
        for _ in 0..<10_000 {
            let v = rng.nextSymmetric() * Float(pow(10, Double(Int(rng.next() % 60)) - 40))
            let back = BFloat16.unpack(BFloat16.pack(v))
            XCTAssertLessThanOrEqual(abs(back - v), abs(v) * 0x1p-8 + 0x1p-133, "\(v)")
        }
    }

    func testDotAndAxpyMatchTheScalarDefinition() {
        var rng = SplitMix64(seed: 8)
        for n in [1, 7, 8, 9, 64, 1001, 70_003] {
            let a = (0..<n).map { _ in BFloat16.pack(rng.nextSymmetric()) }
            let b = randomFloats(n, &rng)
            var expected = 0.0
            for i in 0..<n { expected += Double(BFloat16.unpack(a[i])) * Double(b[i]) }
            let got = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { BFloat16.dot(ap.baseAddress!, $0.baseAddress!, count: n) } }
            XCTAssertEqual(got, expected, accuracy: 1e-9 * Double(n), "dot, n \(n)")
            var y = b
            a.withUnsafeBufferPointer { ap in y.withUnsafeMutableBufferPointer { BFloat16.axpy(0.75, ap.baseAddress!, $0.baseAddress!, count: n) } }
            for i in 0..<n { XCTAssertEqual(y[i], b[i] + 0.75 * BFloat16.unpack(a[i]), "axpy, n \(n) at \(i)"); if y[i] != b[i] + 0.75 * BFloat16.unpack(a[i]) { break } }
        }
    }

    /// f = ½ Σ c_i (x_i − t_i)²: half-precision pairs converge like float ones.
    func testHalfHistoryConvergesOnAQuadratic() throws {
        let (float, start) = try quadraticAfterLBFGS(.float), half = try quadraticAfterLBFGS(.half).end
        XCTAssertLessThan(float, 1e-6 * start)
        XCTAssertLessThan(half, 1e-4 * start, "float reached \(float)")
    }

    /// The file holds the stored bfloat16 pairs themselves, so a save, load and save are byte for byte
    /// the same (odd and even counts: an odd count's last pair value is padded).
    func testHalfStateRoundTripsExactly() throws {
        for n in [5, 6] {
            try assertExactRoundTrip(try lbfgsState(n: n, precision: .half),
                                     bytes: 4 * 8 + 2 * (8 + 4 * n) + 3 * (8 + 2 * (8 + 4 * ((n + 1) / 2))), "pairs take half the bytes")
        }
    }

    /// Hostile pairs: a non-finite bfloat16, a non-zero pad, a count for the other precision.
    func testHostileHalfPairsAreRefused() throws {
        let n = 5
        let good = try encoded(try lbfgsState(n: n, precision: .half))
        // The first pair's s starts after the header (4 words), d and g (each 8 + 4n) and ρ (8), and its count.
        let firstS = 4 * 8 + 2 * (8 + 4 * n) + 8 + 8
        for (what, offset, bytes) in [("inf", firstS + 2, [UInt8(0x80), 0x7F]), ("nan", firstS, [UInt8(0xC0), 0x7F]),
                                      ("pad", firstS + 2 * n, [UInt8(1), 0])] {
            var bad = good
            for (k, b) in bytes.enumerated() { bad[bad.startIndex + offset + k] = b }
            var r = BinaryReader(bad, source: "s.session")
            XCTAssertThrowsError(try LBFGS(count: n, history: 3, precision: .half).decode(from: &r, count: n), what)
        }
        var r = BinaryReader(good, source: "s.session")
        XCTAssertThrowsError(try LBFGS(count: n, history: 3, precision: .float).decode(from: &r, count: n), "half pairs read as float")
        var r2 = BinaryReader(good.prefix(good.count - 3), source: "s.session")
        XCTAssertThrowsError(try LBFGS(count: n, history: 3, precision: .half).decode(from: &r2, count: n), "truncated")
    }

    /// A whole session with half pairs: a snapshot written after its pairs were dropped is the state when
    /// it was taken (pairs kept by reference), and it resumes and saves again byte for byte.
    func testHalfSessionsSnapshotAndResumeExactly() throws {
        let w = try Golden.requireWeights()
        var s = Settings()
        s.iterations = 50; s.lbfgsHistory = 2; s.beta = 100; s.lbfgsPrecision = .half
        let o = try Optimization(weights: w, content: Bench.syntheticImage(width: 32, height: 24, seed: 21),
                                 style: Bench.syntheticImage(width: 28, height: 28, seed: 22), settings: s)
        for _ in 0..<4 { o.iterate() }
        let dir = tempDir(), now = dir + "/now.session", later = dir + "/later.session", again = dir + "/again.session"
        try o.writeSession(to: now)
        let snapshot = try o.sessionSnapshot()
        for _ in 0..<4 { o.iterate() }
        try snapshot.write(to: later)
        let a = try Data(contentsOf: URL(fileURLWithPath: now))
        XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: later)))
        let (back, _) = try Optimization.resume(from: later, weights: w)
        XCTAssertEqual(back.settings.lbfgsPrecision, .half)
        XCTAssertEqual((back.optimizer as? LBFGS)?.precision, .half)
        try back.writeSession(to: again)
        XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: again)))
    }

    /// The bench fills the history for its autosave figure through `LBFGS.store`: with half pairs it
    /// once copied float-sized vectors into them (a heap overrun). The filled state saves and resumes.
    func testTheBenchFillsAHalfHistoryWithinItsPairs() throws {
        let w = try Golden.requireWeights()
        for precision in LBFGSPrecision.allCases {
            var s = Settings()
            s.iterations = 2; s.lbfgsHistory = 6; s.lbfgsPrecision = precision
            let o = try Optimization(weights: w, content: Bench.syntheticImage(width: 33, height: 25, seed: 1),
                                     style: Bench.syntheticImage(width: 24, height: 24, seed: 2), settings: s)
            while !o.isFinished { o.iterate() }
            let path = tempDir() + "/bench.session"
            let f = try Bench.measureSave(o, to: path)
            XCTAssertEqual(f.historyPairs, 6)
            let l = try XCTUnwrap(o.optimizer as? LBFGS)
            for b in l.s + l.y { XCTAssertEqual(b.count, LBFGS.pairBytes(count: l.count, precision: precision) / 4) }
            XCTAssertEqual(f.bytes, try Data(contentsOf: URL(fileURLWithPath: path)).count)
            XCTAssertNoThrow(try Optimization.resume(from: path, weights: w), "\(precision)")
        }
    }

    /// Settings from before the option hold float pairs; new settings say which.
    func testSettingsWithoutThePrecisionMeanFloat() throws {
        let old = try Settings.decode(json: Data(#"{"alpha":1,"beta":10}"#.utf8)).settings
        XCTAssertEqual(old.lbfgsPrecision, .float)
        var s = Settings()
        s.lbfgsPrecision = .half
        let back = try Settings.decode(json: try JSONEncoder().encode(s))
        XCTAssertEqual(back.settings.lbfgsPrecision, .half)
        XCTAssertTrue(back.unknownKeys.isEmpty)
        XCTAssertThrowsError(try Settings.decode(json: Data(#"{"lbfgsPrecision":"quarter"}"#.utf8)))
    }
}
