import Core
import XCTest

/// Winograd F(2×2, 3×3) against the direct shifted-GEMM convolution, which GradientCheckTests ties to a
/// naive loop and to finite differences.
final class WinogradTests: XCTestCase {
    var rng = SplitMix64(seed: 2024)

    func random(_ n: Int) -> [Float] { randomFloats(n, &rng) }
    func padded(_ s: PaddedShape) -> FloatBuffer { paddedRandom(s, &rng) }

    /// Odd sizes (the last tile sticks out), 1, 2 and 3 pixel sides, Cin = 3, and shapes big enough for
    /// several chunks.
    let shapes: [(cin: Int, cout: Int, h: Int, w: Int)] = [
        (3, 4, 5, 6), (3, 64, 9, 8), (8, 5, 7, 9), (16, 16, 1, 1), (5, 3, 1, 7), (4, 6, 2, 3),
        (6, 4, 3, 2), (7, 5, 3, 3), (3, 8, 11, 13), (32, 24, 17, 16), (64, 64, 12, 10), (2, 7, 6, 1),
        (8, 16, 9, 37), (16, 8, 20, 34), // rows with eight-tile vector runs and a scalar remainder
    ]

    /// Scratch sizes: the default (one chunk here) and the smallest one, which gives chunks of 16 tiles
    /// (rows padded to 16 floats, plus the ξ skew), so chunks start in the middle of tile rows.
    func scratches(_ cin: Int, _ cout: Int) -> [WinogradScratch] {
        [try! WinogradScratch(), try! WinogradScratch(floats: 16 * (cin + cout) * 16 + 1024)]
    }


    func testForwardMatchesDirect() {
        for (cin, cout, h, w) in shapes {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cin * cout), bias: random(cout))
            let x = padded(s), want = try! FloatBuffer(count: o.count)
            Ops.convForward(x: x.ptr, s, taps: conv.taps, bias: conv.bias, cout: cout, y: want.ptr)
            for scratch in scratches(cin, cout) {
                let got = try! FloatBuffer(count: o.count)
                for i in 0..<o.count { got.ptr[i] = 7 } // stale contents must not survive anywhere
                Ops.winogradForward(x: x.ptr, s, u: conv.winograd, bias: conv.bias, cout: cout, y: got.ptr, scratch: scratch)
                let (rel, border) = maxRelativeDiff(got, want, o)
                XCTAssertLessThanOrEqual(rel, 1e-5, "forward \(cin)→\(cout) \(h)×\(w)")
                XCTAssertTrue(border, "forward \(cin)→\(cout) \(h)×\(w): border not zero")
            }
        }
    }

    func testBackwardMatchesDirect() {
        for (cin, cout, h, w) in shapes {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cin * cout), bias: random(cout))
            let dy = padded(o), want = try! FloatBuffer(count: s.count)
            Ops.convBackward(dy: dy.ptr, s, taps: conv.taps, cout: cout, dx: want.ptr)
            for scratch in scratches(cin, cout) {
                let got = try! FloatBuffer(count: s.count)
                for i in 0..<s.count { got.ptr[i] = 7 }
                Ops.winogradBackward(dy: dy.ptr, s, u: conv.winograd, cout: cout, dx: got.ptr, scratch: scratch)
                let (rel, border) = maxRelativeDiff(got, want, s)
                XCTAssertLessThanOrEqual(rel, 1e-5, "backward \(cin)→\(cout) \(h)×\(w)")
                XCTAssertTrue(border, "backward \(cin)→\(cout) \(h)×\(w): border not zero")
            }
        }
    }

    /// The identity the backward relies on: the transform of the 180°-rotated kernel is U with indices
    /// 0↔3 swapped in both dimensions (G·flip(g) = P·G·g).
    func testRotatedKernelIsPermutedTransform() {
        let g = random(9)
        let rotated = (0..<9).map { g[8 - $0] }
        let u = VGGWeights.Conv(name: "g", cin: 1, cout: 1, taps: g, bias: [0]).winograd
        let ur = VGGWeights.Conv(name: "r", cin: 1, cout: 1, taps: rotated, bias: [0]).winograd
        let p = [3, 1, 2, 0]
        for a in 0..<4 { for b in 0..<4 {
            XCTAssertEqual(ur[4 * a + b], u[4 * p[a] + p[b]], accuracy: 1e-6, "U_rot[\(a)][\(b)]")
        } }
    }

    /// The policy switch reaches the network: a forced-Winograd plan gives the direct plan's losses.
    func testNetworkPathsAgree() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings()
        s.tv = 1
        s.contentLayers = ["relu3_1"]; s.styleLayers = ["relu1_2", "relu2_1", "relu3_1"]
        let content = Bench.syntheticImage(width: 21, height: 18, seed: 1)
        let style = Bench.syntheticImage(width: 19, height: 23, seed: 2)
        let x = Bench.syntheticImage(width: 21, height: 18, seed: 3)
        var results: [(Double, [Float])] = []
        for policy in [VGGNetwork.ConvPolicy.direct, .winograd] {
            let obj = try Objective(weights: w, content: content, style: style, settings: s, convPolicy: policy)
            var g = [Float](repeating: 0, count: x.pixels.count)
            let t = x.pixels.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { obj.evaluate(xp.baseAddress!, grad: $0.baseAddress!) }
            }
            results.append((t.total, g))
        }
        assertRelative(results[1].0, results[0].0, 1e-5, "total loss, Winograd vs direct")
        let gmax = results[0].1.map { abs($0) }.max()!
        let dmax = zip(results[0].1, results[1].1).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(dmax / gmax, 1e-4, "gradient, Winograd vs direct")
    }
}

/// Every finite-difference check of GradientCheckTests again, with every convolution (the op check and the
/// whole objective's networks) forced through Winograd.
final class WinogradGradientCheckTests: GradientCheckTests {
    override var convPolicy: VGGNetwork.ConvPolicy { .winograd }

    override func testConv() {
        for (cin, cout, h, w) in [(3, 4, 5, 6), (5, 2, 7, 3), (4, 4, 1, 9), (16, 8, 6, 5)] {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cout * cin), bias: random(cout))
            let scratch = try! WinogradScratch()
            checkOp("winograd conv \(cin)→\(cout) \(h)×\(w)", inShape: s, outShape: o, forward: { x, y in
                Ops.winogradForward(x: x, s, u: conv.winograd, bias: conv.bias, cout: cout, y: y, scratch: scratch)
            }, backward: { dy, _, dx in
                Ops.winogradBackward(dy: dy, s, u: conv.winograd, cout: cout, dx: dx, scratch: scratch)
            })
        }
    }
}
