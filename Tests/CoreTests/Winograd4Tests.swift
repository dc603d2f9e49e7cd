@testable import Core
import XCTest

/// Winograd F(4×4, 3×3) against the direct shifted-GEMM convolution (itself tied to a naive loop and to
/// finite differences in GradientCheckTests), with and without the fused ReLU, and through the network.
final class Winograd4Tests: XCTestCase {
    var rng = SplitMix64(seed: 4044)

    func random(_ n: Int) -> [Float] { randomFloats(n, &rng) }
    func padded(_ s: PaddedShape) -> FloatBuffer { paddedRandom(s, &rng) }

    /// Sides that are 1…3 (one tile, mostly padding), 4k and 4k ± 1 (the last tile sticks out by up to
    /// three), rows long enough for one or two whole groups of eight tiles plus a remainder (the vector
    /// loads and stores of whole groups), one input or output channel.
    let shapes: [(cin: Int, cout: Int, h: Int, w: Int)] = [
        (1, 1, 1, 1), (1, 1, 6, 6), (1, 5, 7, 9), (5, 1, 9, 7), (3, 4, 5, 6), (3, 64, 9, 8), (8, 5, 7, 9),
        (16, 16, 1, 1), (5, 3, 1, 7), (4, 6, 2, 3), (6, 4, 3, 2), (7, 5, 3, 3), (3, 8, 11, 13),
        (32, 24, 17, 16), (64, 64, 12, 10), (2, 7, 6, 1), (8, 16, 9, 37), (16, 8, 20, 34), (4, 4, 33, 35),
        (2, 3, 4, 4), (2, 3, 8, 32), (3, 2, 15, 31), (3, 5, 9, 70),
    ]

    /// The default scratch (one chunk here), the smallest that holds 16 tiles, so chunks start in the
    /// middle of tile rows and of eight-tile groups, the older schedules, and blocks of one tile upward
    /// (one thread per block, the input gradient in phases), which these small shapes never get by default.
    func scratches(_ cin: Int, _ cout: Int) -> [WinogradScratch] {
        let tile = 36 * (cin + cout)
        return [try! WinogradScratch(), try! WinogradScratch(floats: tile * 48 + 4096),
                try! WinogradScratch(schedule: .pool), try! WinogradScratch(schedule: .sideBySide),
                try! WinogradScratch(schedule: .blocks(minTiles: 1, targetFloats: tile * 24 + 4096)),
                try! WinogradScratch(schedule: .blocks(minTiles: 1, targetFloats: tile * 48 + 4096)),
                try! WinogradScratch(floats: 2 * (tile * 80 + 4096), schedule: .blocks(minTiles: 1, targetFloats: tile * 80 + 4096))]
    }


    func testForwardMatchesDirect() {
        for (cin, cout, h, w) in shapes {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cin * cout), bias: random(cout))
            let x = padded(s), want = try! FloatBuffer(count: o.count), wantRelu = try! FloatBuffer(count: o.count)
            Ops.convForward(x: x.ptr, s, taps: conv.taps, bias: conv.bias, cout: cout, y: want.ptr)
            wantRelu.copy(from: want.ptr, count: o.count)
            Ops.reluForward(wantRelu.ptr, count: o.count)
            for kernels in Kernels.runnable {
                let u = Winograd.transformWeights4(taps: conv.taps, cout: cout, cin: cin, kernels: kernels)
                for scratch in scratches(cin, cout) {
                    for relu in [false, true] {
                        let got = try! FloatBuffer(count: o.count)
                        for i in 0..<o.count { got.ptr[i] = 7 } // stale contents must not survive anywhere
                        Ops.winograd4Forward(x: x.ptr, s, u: u, bias: conv.bias, cout: cout, y: got.ptr,
                                             scratch: scratch, relu: relu, kernels: kernels)
                        let (rel, border) = maxRelativeDiff(got, relu ? wantRelu : want, o)
                        XCTAssertLessThanOrEqual(rel, 2e-5, "forward \(cin)→\(cout) \(h)×\(w) relu \(relu) \(kernels)")
                        XCTAssertTrue(border, "forward \(cin)→\(cout) \(h)×\(w) \(kernels): border not zero")
                    }
                }
            }
        }
    }

    func testBackwardMatchesDirect() {
        for (cin, cout, h, w) in shapes {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cin * cout), bias: random(cout))
            let dy = padded(o), act = padded(o)
            Ops.reluForward(act.ptr, count: o.count)     // about half the mask is zero
            let want = try! FloatBuffer(count: s.count), wantMasked = try! FloatBuffer(count: s.count)
            Ops.convBackward(dy: dy.ptr, s, taps: conv.taps, cout: cout, dx: want.ptr)
            let masked = try! FloatBuffer(count: o.count)
            masked.copy(from: dy.ptr, count: o.count)
            Ops.reluBackward(masked.ptr, output: act.ptr, count: o.count)
            Ops.convBackward(dy: masked.ptr, s, taps: conv.taps, cout: cout, dx: wantMasked.ptr)
            for kernels in Kernels.runnable {
                let u = Winograd.transformWeights4(taps: conv.taps, cout: cout, cin: cin, kernels: kernels)
                for scratch in scratches(cin, cout) {
                    for mask in [false, true] {
                        let got = try! FloatBuffer(count: s.count)
                        for i in 0..<s.count { got.ptr[i] = 7 }
                        Ops.winograd4Backward(dy: dy.ptr, s, u: u, cout: cout, dx: got.ptr, scratch: scratch,
                                              reluOutput: mask ? UnsafePointer(act.ptr) : nil, kernels: kernels)
                        let (rel, border) = maxRelativeDiff(got, mask ? wantMasked : want, s)
                        XCTAssertLessThanOrEqual(rel, 2e-5, "backward \(cin)→\(cout) \(h)×\(w) mask \(mask) \(kernels)")
                        XCTAssertTrue(border, "backward \(cin)→\(cout) \(h)×\(w) \(kernels): border not zero")
                    }
                }
            }
        }
    }

    /// A lone tap: F(4×4) must place each kernel entry exactly (a transposed or shifted U would pass a
    /// smooth test input but not this).
    func testSingleTapsLandWhereDirectPutsThem() {
        let s = PaddedShape(c: 1, h: 7, w: 9)
        for k in 0..<9 {
            var taps = [Float](repeating: 0, count: 9)
            taps[k] = 1
            let conv = VGGWeights.Conv(name: "tap", cin: 1, cout: 1, taps: taps, bias: [0])
            let x = padded(s), want = try! FloatBuffer(count: s.count), got = try! FloatBuffer(count: s.count)
            Ops.convForward(x: x.ptr, s, taps: conv.taps, bias: conv.bias, cout: 1, y: want.ptr)
            Ops.winograd4Forward(x: x.ptr, s, u: conv.winograd4, bias: conv.bias, cout: 1, y: got.ptr, scratch: try! WinogradScratch())
            XCTAssertLessThanOrEqual(maxRelativeDiff(got, want, s).0, 1e-5, "tap \(k)")
        }
    }

    /// The weight transform (four channels at a time, G written out) is U = G g Gᵀ by the matrix `g4`,
    /// for channel counts that leave a partial group of four and (in panels) a partial panel of six,
    /// whose padding rows are zero; in both layouts.
    func testWeightTransformIsTheMatrixProduct() {
        var rng = SplitMix64(seed: 31)
        for kernels in Kernels.runnable {
            for (cout, cin) in [(1, 1), (3, 5), (7, 4), (2, 9), (13, 6)] {
                let mn = cout * cin, xiFloats = kernels.floatsPerXi(cout: cout, cin: cin)
                let taps = randomFloats(9 * mn, &rng)
                let u = Winograd.transformWeights4(taps: taps, cout: cout, cin: cin, kernels: kernels)
                XCTAssertEqual(u.count, 36 * xiFloats)
                var seen = Set<Int>()
                for o in 0..<cout { for c in 0..<cin {
                    let e = o * cin + c, at = kernels.index(o: o, c: c, cin: cin)
                    XCTAssertTrue(at < xiFloats && seen.insert(at).inserted, "\(kernels) \(cout)×\(cin): index of (\(o), \(c))")
                    for a in 0..<6 { for b in 0..<6 {
                        var sum = 0.0
                        for i in 0..<3 { for j in 0..<3 { sum += Winograd.g4[a][i] * Double(taps[(3 * i + j) * mn + e]) * Winograd.g4[b][j] } }
                        XCTAssertEqual(Double(u[(6 * a + b) * xiFloats + at]), sum, accuracy: 1e-6 * max(1, abs(sum)),
                                       "\(kernels) \(cout)×\(cin) ξ \(6 * a + b)")
                    } }
                } }
                for xi in 0..<36 { for i in 0..<xiFloats where !seen.contains(i) { XCTAssertEqual(u[xi * xiFloats + i], 0, "\(kernels) padding") } }
            }
        }
    }

    /// The AVX2 path's weight transform (C) is the Swift one's bit for bit: the same operations in the
    /// same order, no FMA contraction, so the two paths compute the same U.
    func testWeightTransformKernelsAgreeBitForBit() throws {
        guard Kernels.runnable.contains(.avx2) else { throw XCTSkip("this CPU has no AVX2 + FMA") }
        var rng = SplitMix64(seed: 32)
        for (cout, cin) in [(1, 1), (6, 4), (7, 5), (13, 6), (64, 3), (12, 131)] {
            let taps = randomFloats(9 * cout * cin, &rng).map { $0 * 3 }
            let swift = Winograd.transformWeights4(taps: taps, cout: cout, cin: cin, kernels: .portable)
            let c = Winograd.transformWeights4(taps: taps, cout: cout, cin: cin, kernels: .avx2)
            let xiFloats = Kernels.avx2.floatsPerXi(cout: cout, cin: cin)
            var differing = 0
            for xi in 0..<36 { for o in 0..<cout { for ch in 0..<cin {
                let a = swift[xi * cout * cin + o * cin + ch], b = c[xi * xiFloats + Kernels.avx2.index(o: o, c: ch, cin: cin)]
                if a.bitPattern != b.bitPattern { differing += 1 }
            } } }
            XCTAssertEqual(differing, 0, "\(cout)×\(cin): values that differ in any bit")
        }
    }

    /// The whole objective through F(4×4) (with its fused ReLUs) gives the direct plan's loss and gradient.
    func testNetworkPathsAgree() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings()
        s.tv = 1
        s.contentLayers = ["relu3_1", "conv2_2"]; s.styleLayers = ["relu1_2", "relu2_1", "relu3_1", "conv3_2"]
        let content = Bench.syntheticImage(width: 21, height: 18, seed: 1)
        let style = Bench.syntheticImage(width: 19, height: 23, seed: 2)
        let x = Bench.syntheticImage(width: 21, height: 18, seed: 3)
        var results: [(Double, [Float])] = []
        for policy in [VGGNetwork.ConvPolicy.direct, .winograd4, .auto] {
            let obj = try Objective(weights: w, content: content, style: style, settings: s, convPolicy: policy)
            var g = [Float](repeating: 0, count: x.pixels.count)
            let t = x.pixels.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { obj.evaluate(xp.baseAddress!, grad: $0.baseAddress!) }
            }
            results.append((t.total, g))
        }
        let gmax = results[0].1.map { abs($0) }.max()!
        for (r, name) in zip(results.dropFirst(), ["winograd4", "auto"]) {
            assertRelative(r.0, results[0].0, 1e-5, "total loss, \(name) vs direct")
            let dmax = zip(results[0].1, r.1).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(dmax / gmax, 1e-4, "gradient, \(name) vs direct")
        }
    }

    /// The plan fuses a ReLU only into a F(4×4) convolution whose own output no loss reads.
    func testReluFusedOnlyWhereNoLossReadsTheConvolution() throws {
        let w = VGGWeights(randomSeed: 5)
        let conv2_2 = VGG19.index(of: "conv2_2")!
        let net = try VGGNetwork(weights: w, height: 20, width: 20, depth: VGG19.index(of: "relu3_1")!, pooling: .max,
                                 tappedConvs: [conv2_2], convPolicy: .winograd4)
        XCTAssertTrue(net.algorithms.enumerated().allSatisfy { i, a in
            if case .conv = net.stages[i].kind { return a == .winograd4 } else { return a == .direct }
        })
        let input = Bench.syntheticImage(width: 20, height: 20, seed: 9)
        _ = input.pixels.withUnsafeBufferPointer { net.forward($0.baseAddress!) }
        // conv2_2's copy keeps negative values (it was not fused); relu2_2 has none.
        let shape = net.stages[conv2_2].outShape
        let pre = UnsafeBufferPointer(start: net.output(conv2_2), count: shape.count)
        let post = UnsafeBufferPointer(start: net.output(conv2_2 + 1), count: shape.count)
        XCTAssertTrue(pre.contains { $0 < 0 })
        XCTAssertFalse(post.contains { $0 < 0 })
    }
}

/// Every finite-difference check of GradientCheckTests again with every convolution forced through
/// F(4×4) (with its fused ReLUs in the objective's networks).
final class Winograd4GradientCheckTests: GradientCheckTests {
    override var convPolicy: VGGNetwork.ConvPolicy { .winograd4 }

    override func testConv() {
        for (cin, cout, h, w) in [(3, 4, 5, 6), (5, 2, 7, 3), (4, 4, 1, 9), (16, 8, 6, 5), (2, 3, 9, 10)] {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: random(9 * cout * cin), bias: random(cout))
            let scratch = try! WinogradScratch()
            checkOp("winograd4 conv \(cin)→\(cout) \(h)×\(w)", inShape: s, outShape: o, forward: { x, y in
                Ops.winograd4Forward(x: x, s, u: conv.winograd4, bias: conv.bias, cout: cout, y: y, scratch: scratch)
            }, backward: { dy, _, dx in
                Ops.winograd4Backward(dy: dy, s, u: conv.winograd4, cout: cout, dx: dx, scratch: scratch)
            })
        }
    }
}
