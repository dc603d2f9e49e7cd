@testable import Core
import XCTest

/// The L-BFGS history in 8-bit blocks: packing, the kernels over packed pairs, hostile stored pairs and
/// sessions that hold them.
final class BlockInt8Tests: XCTestCase {
    func packed(_ v: [Float]) -> [Float] {
        var b = [Float](repeating: -1, count: BlockInt8.floats(count: v.count))
        v.withUnsafeBufferPointer { vp in b.withUnsafeMutableBufferPointer { BlockInt8.pack(vp.baseAddress!, count: v.count, into: $0.baseAddress!) } }
        return b
    }

    func unpacked(_ b: [Float], _ n: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: n)
        b.withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { BlockInt8.unpack(bp.baseAddress!, count: n, into: $0.baseAddress!) } }
        return out
    }

    /// Each value within half a step of its block's scale (the block's largest magnitude / 127), the
    /// largest exactly, over magnitudes from gradients' 1e-9 to 1e6, sizes around the block and vector widths.
    func testValuesComeBackWithinHalfAStepOfTheirBlock() {
        var rng = SplitMix64(seed: 5)
        for n in [1, 7, 8, 9, 63, 64, 65, 200, 1001, 70_001] {
            let magnitude = Float(pow(10, Double(Int(rng.next() % 16)) - 9))
            let v = (0..<n).map { _ in rng.nextSymmetric() * magnitude }
            let b = packed(v)
            XCTAssertNil(b.withUnsafeBufferPointer { BlockInt8.problem($0.baseAddress!, count: n) }, "n \(n)")
            let back = unpacked(b, n)
            for k in 0..<(n + 63) / 64 {
                let block = k * 64 ..< min(n, k * 64 + 64)
                let top = block.map { abs(v[$0]) }.max()!
                XCTAssertTrue(b[k] == top / 127 || b[k] == (top / 127).nextDown, "scale of block \(k), n \(n)")
                for i in block {
                    XCTAssertLessThanOrEqual(abs(back[i] - v[i]), top / 254 * 1.0001, "n \(n) at \(i)")
                    XCTAssertEqual(back[i], b.withUnsafeBufferPointer { BlockInt8.value($0.baseAddress!, i, count: n) })
                    if abs(v[i]) == top { XCTAssertEqual(abs(back[i]), top * (127 * (1 / Float(127))), accuracy: top * 1e-6) }
                }
            }
        }
    }

    func testEdgeBlocks() {
        // All zeros: scale 0, codes 0, and they read back as zeros (not NaN from 0/0).
        XCTAssertEqual(unpacked(packed([Float](repeating: 0, count: 70)), 70), [Float](repeating: 0, count: 70))
        // A non-finite value makes its whole block read as NaN and leaves the other blocks alone.
        // (At 129 it is in the last, partial block, which is packed value by value.)
        for bad in [Float.nan, .infinity, -.infinity] {
            for at in [70, 129] {
                var v = (0..<130).map { Float($0) - 60 }
                v[at] = bad
                let back = unpacked(packed(v), 130)
                let block = at / 64 * 64 ..< min(130, at / 64 * 64 + 64)
                XCTAssertTrue(back[block].allSatisfy(\.isNaN), "\(bad) at \(at)")
                XCTAssertFalse(back[0..<64].contains(where: \.isNaN))
                if at == 70 { XCTAssertEqual(back[129], 69) } else { XCTAssertEqual(back[127], 67) }
            }
        }
        // Subnormal blocks (127 / top overflows) keep their values within half a step; zeros stay zero.
        let tiny: [Float] = [1e-40, -5e-41, 0, 3e-41, 2e-43, 0, 0, 0, 1e-40]
        let tinyBack = unpacked(packed(tiny), tiny.count)
        for (a, b) in zip(tiny, tinyBack) { XCTAssertLessThanOrEqual(abs(a - b), 1e-40 / 254 * 1.01 + 1e-45, "\(a)") }
        XCTAssertEqual(tinyBack[2], 0)
        XCTAssertEqual(unpacked(packed([Float.leastNonzeroMagnitude, 0]), 2), [0, 0], "a scale that underflows stores zeros")
        // The largest finite magnitude is kept, not overflowed to infinity.
        let big = unpacked(packed([.greatestFiniteMagnitude, -1]), 2)
        XCTAssertTrue(big[0].isFinite)
        XCTAssertEqual(big[0], .greatestFiniteMagnitude, accuracy: .greatestFiniteMagnitude * 1e-6)
        // The pad after an odd count is zero, so the same values always give the same bytes.
        let b = packed([1, 2, 3, 4, 5])
        b.withUnsafeBytes { raw in XCTAssertEqual(Array(raw[(4 + 5)...]), [0, 0, 0]) }
    }

    func testDotAndAxpyMatchTheScalarDefinition() {
        var rng = SplitMix64(seed: 9)
        for n in [1, 7, 8, 9, 64, 1001, 70_003] {
            let a = packed(randomFloats(n, &rng).map { $0 * 1e-5 })
            let x = randomFloats(n, &rng)
            let values = a.withUnsafeBufferPointer { ap in (0..<n).map { BlockInt8.value(ap.baseAddress!, $0, count: n) } }
            var expected = 0.0
            for i in 0..<n { expected += Double(values[i]) * Double(x[i]) }
            let got = a.withUnsafeBufferPointer { ap in x.withUnsafeBufferPointer { BlockInt8.dot(ap.baseAddress!, $0.baseAddress!, count: n) } }
            XCTAssertEqual(got, expected, accuracy: 1e-6 * abs(expected) + 1e-12, "dot, n \(n)")
            var y = x
            a.withUnsafeBufferPointer { ap in y.withUnsafeMutableBufferPointer { BlockInt8.axpy(0.75, ap.baseAddress!, $0.baseAddress!, count: n) } }
            for i in 0..<n {
                XCTAssertEqual(y[i], x[i] + 0.75 * values[i], accuracy: 1e-6 * abs(x[i]) + 1e-12, "axpy, n \(n) at \(i)")
                if abs(y[i] - (x[i] + 0.75 * values[i])) > 1e-6 * abs(x[i]) + 1e-12 { break }
            }
        }
    }

    /// f = ½ Σ c_i (x_i − t_i)²: 8-bit pairs still converge.
    func testByteHistoryConvergesOnAQuadratic() throws {
        let float = try quadraticAfterLBFGS(.float).end, (byte, start) = try quadraticAfterLBFGS(.byte)
        XCTAssertLessThan(byte, 1e-3 * start, "float reached \(float)")
    }

    /// The file holds the stored blocks themselves, so a save, load and save are byte for byte the same,
    /// and the loaded state steps on exactly as the original.
    func testByteStateRoundTripsExactly() throws {
        for n in [5, 70] {
            try assertExactRoundTrip(try lbfgsState(n: n, precision: .byte),
                                     bytes: 4 * 8 + 2 * (8 + 4 * n) + 3 * (8 + 2 * (8 + 4 * BlockInt8.floats(count: n))))
        }
    }

    /// Hostile pairs: a NaN, infinite or negative scale, a code of −128, a non-zero pad, a count for
    /// another precision, a truncated file.
    func testHostileBytePairsAreRefused() throws {
        let n = 5
        let good = try encoded(try lbfgsState(n: n, precision: .byte))
        // The first pair's s starts after the header (4 words), d and g (each 8 + 4n), ρ (8) and its count:
        // one scale, then five codes and three pad bytes.
        let firstS = 4 * 8 + 2 * (8 + 4 * n) + 8 + 8
        let nan = Float.nan.bitPattern, inf = Float.infinity.bitPattern, negative = Float(-1).bitPattern
        func bytes(_ w: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
        for (what, offset, patch) in [("nan scale", firstS, bytes(nan)), ("inf scale", firstS, bytes(inf)),
                                      ("negative scale", firstS, bytes(negative)), ("code -128", firstS + 4 + 2, [UInt8(0x80)]),
                                      ("pad", firstS + 4 + n, [UInt8(1)])] {
            var bad = good
            for (k, b) in patch.enumerated() { bad[bad.startIndex + offset + k] = b }
            var r = BinaryReader(bad, source: "s.session")
            XCTAssertThrowsError(try LBFGS(count: n, history: 3, precision: .byte).decode(from: &r, count: n), what)
        }
        // (At n = 5 the three precisions' pair vectors happen to take the same bytes; at 70 they differ.)
        let wide = try encoded(try lbfgsState(n: 70, precision: .byte))
        for other in [LBFGSPrecision.float, .half] {
            var r = BinaryReader(wide, source: "s.session")
            XCTAssertThrowsError(try LBFGS(count: 70, history: 3, precision: other).decode(from: &r, count: 70), "byte pairs read as \(other)")
        }
        var r = BinaryReader(good.prefix(good.count - 3), source: "s.session")
        XCTAssertThrowsError(try LBFGS(count: n, history: 3, precision: .byte).decode(from: &r, count: n), "truncated")
    }

    /// A whole session with 8-bit pairs resumes and saves again byte for byte.
    func testByteSessionsResumeExactly() throws {
        let w = try Golden.requireWeights()
        var s = Settings()
        s.iterations = 50; s.lbfgsHistory = 3; s.beta = 100; s.lbfgsPrecision = .byte
        let o = try Optimization(weights: w, content: Bench.syntheticImage(width: 32, height: 24, seed: 23),
                                 style: Bench.syntheticImage(width: 28, height: 28, seed: 24), settings: s)
        for _ in 0..<6 { _ = o.iterate() }
        let dir = tempDir(), now = dir + "/now.session", again = dir + "/again.session"
        try o.writeSession(to: now)
        let (back, _) = try Optimization.resume(from: now, weights: w)
        XCTAssertEqual(back.settings.lbfgsPrecision, .byte)
        XCTAssertEqual((back.optimizer as? LBFGS)?.precision, .byte)
        XCTAssertEqual((back.optimizer as? LBFGS)?.s.count, 3)
        try back.writeSession(to: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: now)), try Data(contentsOf: URL(fileURLWithPath: again)))
        // And both go on to the same image.
        for _ in 0..<3 { _ = o.iterate(); _ = back.iterate() }
        XCTAssertEqual(o.terms, back.terms)
        XCTAssertEqual(o.variable.pixels, back.variable.pixels)
    }
}
