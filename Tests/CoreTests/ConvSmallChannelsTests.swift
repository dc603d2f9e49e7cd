@testable import Core
import XCTest

/// The blocked im2col convolution for few input channels (ConvSmallChannels.swift) against the nine
/// shifted GEMMs, which GradientCheckTests ties to a naive loop and to finite differences: on sides of
/// one, sides that end mid-block, scratches that force blocks of the fewest rows, and several thread
/// counts (so that blocks of both phases of the backward pass meet).
final class ConvSmallChannelsTests: XCTestCase {
    var rng = SplitMix64(seed: 808)

    let sizes: [(h: Int, w: Int)] = [(1, 1), (1, 7), (5, 3), (17, 33), (64, 61), (7, 1), (10, 200)]
    let cins = [1, 2, 3, 5, 8]
    let couts = [1, 7, 64]

    /// The default scratch, and the smallest in which the backward pass still runs two parts of three-row
    /// blocks (the forward pass then has one- or two-row blocks).
    func scratches(_ s: PaddedShape, cout: Int) -> [WinogradScratch] {
        let weights = (cout * (9 * s.c + 1) + 15) & ~15
        let small = try! WinogradScratch(floats: weights + 2 * ((9 * s.c * 3 * s.rowStride + 15) & ~15))
        return [try! WinogradScratch(), small].map { scratch in
            // Stale contents must never reach a result.
            for i in 0..<scratch.buffer.count { scratch.buffer.ptr[i] = .nan }
            return scratch
        }
    }

    func withThreads(_ body: () -> Void) {
        let saved = Threads.count
        defer { Threads.set(saved) }
        for n in [1, 2, 3] { Threads.set(n); body() }
    }

    func testForwardMatchesShiftedGEMMs() {
        withThreads {
            for (h, w) in sizes { for cin in cins { for cout in couts {
                let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
                let conv = VGGWeights.Conv(name: "t", cin: cin, cout: cout, taps: randomFloats(9 * cin * cout, &rng),
                                           bias: randomFloats(cout, &rng))
                let x = paddedRandom(s, &rng), want = try! FloatBuffer(count: o.count)
                Ops.convForward(x: x.ptr, s, taps: conv.taps, bias: conv.bias, cout: cout, y: want.ptr)
                matchesReference(want, o, scratches(s, cout: cout), "forward \(cin)→\(cout) \(h)×\(w)") { scratch, got in
                    Ops.smallChannelsForward(x: x.ptr, s, taps: conv.taps, bias: conv.bias, cout: cout, y: got, scratch: scratch)
                }
            } } }
        }
    }

    /// Runs the path on each scratch into a buffer pre-filled with 7 (stale contents must not survive) and
    /// holds it to the shifted GEMMs' result: it must run, match within 1e-5 and leave zero borders.
    func matchesReference(_ want: FloatBuffer, _ shape: PaddedShape, _ scratches: [WinogradScratch], _ label: String,
                          run: (WinogradScratch, UnsafeMutablePointer<Float>) -> Bool) {
        for scratch in scratches {
            let got = try! FloatBuffer(count: shape.count)
            for i in 0..<shape.count { got.ptr[i] = 7 }
            let what = "\(label), \(Threads.count) threads, scratch \(scratch.buffer.count)"
            XCTAssertTrue(run(scratch, got.ptr), what)
            let (rel, border) = maxRelativeDiff(got, want, shape)
            XCTAssertLessThanOrEqual(rel, 1e-5, what)
            XCTAssertTrue(border, "\(what): border not zero")
        }
    }

    func testBackwardMatchesShiftedGEMMs() {
        withThreads {
            for (h, w) in sizes { for cin in cins { for cout in couts {
                let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
                let taps = randomFloats(9 * cin * cout, &rng)
                let dy = paddedRandom(o, &rng), want = try! FloatBuffer(count: s.count)
                Ops.convBackward(dy: dy.ptr, s, taps: taps, cout: cout, dx: want.ptr)
                matchesReference(want, s, scratches(s, cout: cout), "backward \(cin)→\(cout) \(h)×\(w)") { scratch, got in
                    Ops.smallChannelsBackward(dy: dy.ptr, s, taps: taps, cout: cout, dx: got, scratch: scratch)
                }
            } } }
        }
    }

    /// `convForward`/`convBackward` take the path only for few input channels, and fall back to the shifted
    /// GEMMs, with the same result, when the scratch is too small for it.
    func testDispatchAndFallback() {
        for (cin, tiny) in [(3, true), (3, false), (9, false)] {
            let cout = 5, s = PaddedShape(c: cin, h: 9, w: 11), o = PaddedShape(c: cout, h: 9, w: 11)
            let taps = randomFloats(9 * cin * cout, &rng), bias = randomFloats(cout, &rng)
            let scratch = try! WinogradScratch(floats: tiny ? 64 : WinogradScratch.defaultFloats)
            XCTAssertEqual(Ops.usesSmallChannels(s), cin <= Ops.smallChannelsLimit)
            let x = paddedRandom(s, &rng), dy = paddedRandom(o, &rng)
            let y0 = try! FloatBuffer(count: o.count), y1 = try! FloatBuffer(count: o.count)
            let dx0 = try! FloatBuffer(count: s.count), dx1 = try! FloatBuffer(count: s.count)
            if tiny {
                XCTAssertFalse(Ops.smallChannelsForward(x: x.ptr, s, taps: taps, bias: bias, cout: cout, y: y1.ptr, scratch: scratch))
                XCTAssertFalse(Ops.smallChannelsBackward(dy: dy.ptr, s, taps: taps, cout: cout, dx: dx1.ptr, scratch: scratch))
            }
            Ops.convForward(x: x.ptr, s, taps: taps, bias: bias, cout: cout, y: y0.ptr)
            Ops.convForward(x: x.ptr, s, taps: taps, bias: bias, cout: cout, y: y1.ptr, scratch: scratch)
            Ops.convBackward(dy: dy.ptr, s, taps: taps, cout: cout, dx: dx0.ptr)
            Ops.convBackward(dy: dy.ptr, s, taps: taps, cout: cout, dx: dx1.ptr, scratch: scratch)
            XCTAssertLessThanOrEqual(maxRelativeDiff(y1, y0, o).0, 1e-5, "forward cin \(cin) tiny \(tiny)")
            XCTAssertLessThanOrEqual(maxRelativeDiff(dx1, dx0, s).0, 1e-5, "backward cin \(cin) tiny \(tiny)")
        }
    }

    /// The network runs conv1_1 through this path (its scratch is there even when every other layer is
    /// direct), and gets what the shifted GEMMs give.
    func testNetworkConv1_1UsesItAndAgrees() throws {
        let weights = VGGWeights(randomSeed: 5)
        let image = Bench.syntheticImage(width: 45, height: 38, seed: 2)
        for policy in [VGGNetwork.ConvPolicy.direct, .auto] {
            let net = try VGGNetwork(weights: weights, height: 38, width: 45, depth: 1, pooling: .max, tappedConvs: [0],
                                     convPolicy: policy)
            XCTAssertNotNil(net.convScratch, "\(policy)")
            _ = image.pixels.withUnsafeBufferPointer { net.forward($0.baseAddress!) }
            let st = net.stages[0], w = weights.convs[0]
            let want = try FloatBuffer(count: st.outShape.count), got = try FloatBuffer(count: st.outShape.count)
            got.copy(from: net.output(0), count: st.outShape.count)
            Ops.convForward(x: net.inputBuffer.ptr, st.inShape, taps: w.taps, bias: w.bias, cout: w.cout, y: want.ptr)
            XCTAssertLessThanOrEqual(maxRelativeDiff(got, want, st.outShape).0, 1e-5, "\(policy)")
        }
    }
}

extension GradientCheckTests {
    /// Finite differences of the blocked path's forward against its own backward, with blocks of the
    /// fewest rows on two threads.
    func testSmallChannelsConv() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        for (cin, cout, h, w) in [(3, 4, 5, 6), (5, 2, 13, 3), (1, 7, 1, 9), (8, 3, 11, 10)] {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let taps = random(9 * cout * cin), bias = random(cout)
            let weights = (cout * (9 * cin + 1) + 15) & ~15
            let scratch = try! WinogradScratch(floats: weights + 2 * ((9 * cin * 3 * s.rowStride + 15) & ~15))
            checkOp("small-channel conv \(cin)→\(cout) \(h)×\(w)", inShape: s, outShape: o, forward: { x, y in
                XCTAssertTrue(Ops.smallChannelsForward(x: x, s, taps: taps, bias: bias, cout: cout, y: y, scratch: scratch))
            }, backward: { dy, _, dx in
                XCTAssertTrue(Ops.smallChannelsBackward(dy: dy, s, taps: taps, cout: cout, dx: dx, scratch: scratch))
            })
        }
    }
}
