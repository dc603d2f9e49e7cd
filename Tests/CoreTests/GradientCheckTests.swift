import Core
import XCTest

/// Finite-difference checks of every op's backward: for a random direction v, the analytic Σ g·v must
/// match (L(x+εv) − L(x−εv)) / 2ε, where L = Σ r ⊙ op(x) for a fixed random r.
/// Not final: WinogradGradientCheckTests reruns every check with the Winograd convolution.
class GradientCheckTests: XCTestCase {
    var rng = SplitMix64(seed: 42)
    /// How the whole-objective checks convolve; the Winograd subclass forces its path.
    var convPolicy: VGGNetwork.ConvPolicy { .direct }

    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.nextSymmetric() * scale } }

    /// A padded buffer with random interior and zero border.
    func padded(_ s: PaddedShape) -> FloatBuffer {
        let b = try! FloatBuffer(count: s.count)
        for c in 0..<s.c { for y in 0..<s.h { for x in 0..<s.w { b.ptr[c * s.plane + s.at(y, x)] = rng.nextSymmetric() } } }
        return b
    }

    func interiorDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ s: PaddedShape) -> Double {
        var d = 0.0
        for c in 0..<s.c { for y in 0..<s.h { for x in 0..<s.w { let i = c * s.plane + s.at(y, x); d += Double(a[i]) * Double(b[i]) } } }
        return d
    }

    /// Half along the gradient, half random: a purely random direction is nearly orthogonal to the
    /// gradient in thousands of dimensions, and its tiny derivative drowns in float32 rounding.
    func direction(_ g: [Float]) -> [Float] {
        let m = g.map { abs($0) }.max() ?? 1
        return g.map { $0 / max(m, 1e-30) + rng.nextSymmetric() * 0.5 }
    }

    func checkDirectional(analytic: Double, plus: Double, minus: Double, eps: Double, _ what: String) {
        let numeric = (plus - minus) / (2 * eps)
        let err = abs(numeric - analytic) / max(abs(analytic), abs(numeric), 1e-6)
        XCTAssertLessThan(err, 2e-2, "\(what): analytic \(analytic), numeric \(numeric)")
    }

    /// Generic check for a padded-in, padded-out op.
    func checkOp(_ name: String, inShape: PaddedShape, outShape: PaddedShape, eps: Float = 1e-2,
                 forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                 backward: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let x = padded(inShape), r = padded(outShape), v = padded(inShape)
        let y = try! FloatBuffer(count: outShape.count), dx = try! FloatBuffer(count: inShape.count)
        forward(x.ptr, y.ptr)
        backward(r.ptr, x.ptr, dx.ptr)
        let analytic = interiorDot(dx.ptr, v.ptr, inShape)
        let xp = try! FloatBuffer(count: inShape.count)
        func loss(_ sign: Float) -> Double {
            for i in 0..<inShape.count { xp.ptr[i] = x.ptr[i] + sign * eps * v.ptr[i] }
            forward(xp.ptr, y.ptr)
            return interiorDot(y.ptr, r.ptr, outShape)
        }
        checkDirectional(analytic: analytic, plus: loss(1), minus: loss(-1), eps: Double(eps), name)
        // The backward must leave the border of dx zero (the next op relies on it).
        for c in 0..<inShape.c { XCTAssertEqual(dx.ptr[c * inShape.plane], 0, "\(name): border not zero") }
    }

    func testConv() {
        for (cin, cout, h, w) in [(3, 4, 5, 6), (5, 2, 7, 3), (4, 4, 1, 9)] {
            let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
            let taps = random(9 * cout * cin), bias = random(cout)
            checkOp("conv \(cin)→\(cout) \(h)×\(w)", inShape: s, outShape: o, forward: { x, y in
                Ops.convForward(x: x, s, taps: taps, bias: bias, cout: cout, y: y)
            }, backward: { dy, _, dx in
                Ops.convBackward(dy: dy, s, taps: taps, cout: cout, dx: dx)
            })
        }
    }

    /// The shifted-GEMM convolution against a naive one, element by element.
    func testConvMatchesNaive() {
        let (cin, cout, h, w) = (3, 5, 6, 7)
        let s = PaddedShape(c: cin, h: h, w: w), o = PaddedShape(c: cout, h: h, w: w)
        let taps = random(9 * cout * cin), bias = random(cout)
        let x = padded(s), y = try! FloatBuffer(count: o.count)
        Ops.convForward(x: x.ptr, s, taps: taps, bias: bias, cout: cout, y: y.ptr)
        for co in 0..<cout { for i in 0..<h { for j in 0..<w {
            var acc = Double(bias[co])
            for ci in 0..<cin { for ky in 0..<3 { for kx in 0..<3 {
                let (yy, xx) = (i + ky - 1, j + kx - 1)
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                acc += Double(taps[((ky * 3 + kx) * cout + co) * cin + ci]) * Double(x.ptr[ci * s.plane + s.at(yy, xx)])
            } } }
            XCTAssertEqual(Double(y.ptr[co * o.plane + o.at(i, j)]), acc, accuracy: 1e-4)
        } } }
    }

    func testRelu() {
        let s = PaddedShape(c: 3, h: 4, w: 5)
        checkOp("relu", inShape: s, outShape: s, eps: 1e-3, forward: { x, y in
            memcpy(y, x, s.count * 4); Ops.reluForward(y, count: s.count)
        }, backward: { dy, x, dx in
            memcpy(dx, dy, s.count * 4)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: s.count); defer { out.deallocate() }
            memcpy(out, x, s.count * 4); Ops.reluForward(out, count: s.count)
            Ops.reluBackward(dx, output: out, count: s.count)
        })
    }

    func testPools() {
        for useMax in [true, false] {
            for (h, w) in [(4, 6), (5, 7)] {
                let s = PaddedShape(c: 2, h: h, w: w), o = Ops.pooledShape(s)
                checkOp("\(useMax ? "max" : "avg") pool \(h)×\(w)", inShape: s, outShape: o, eps: 1e-3, forward: { x, y in
                    Ops.poolForward(x: x, s, y: y, max: useMax)
                }, backward: { dy, x, dx in
                    Ops.poolBackward(dy: dy, x: x, s, dx: dx, max: useMax)
                })
            }
        }
    }

    /// Max pooling sends a tie's gradient to the first maximum in row-major order.
    func testMaxPoolTieGoesToFirst() {
        let s = PaddedShape(c: 1, h: 2, w: 2), o = Ops.pooledShape(s)
        let x = try! FloatBuffer(count: s.count), dy = try! FloatBuffer(count: o.count), dx = try! FloatBuffer(count: s.count)
        for (y, xx) in [(0, 1), (1, 0), (1, 1)] { x.ptr[s.at(y, xx)] = 3 }
        dy.ptr[o.at(0, 0)] = 1
        Ops.poolBackward(dy: dy.ptr, x: x.ptr, s, dx: dx.ptr, max: true)
        XCTAssertEqual(dx.ptr[s.at(0, 1)], 1)
        XCTAssertEqual(dx.ptr[s.at(1, 0)] + dx.ptr[s.at(1, 1)] + dx.ptr[s.at(0, 0)], 0)
    }

    /// The whole objective (network, content, Gram/style, TV) on random weights: directional derivatives.
    func testObjective() throws {
        let w = VGGWeights(randomSeed: 7)
        for pooling in [Pooling.max, .avg] {
            var s = Settings()
            s.alpha = 1; s.beta = 10; s.tv = 5; s.pooling = pooling
            s.contentLayers = ["relu2_2", "conv3_1"]
            s.styleLayers = ["relu1_1", "pool2", "relu3_1"]
            let content = Bench.syntheticImage(width: 20, height: 18, seed: 1)
            let style = Bench.syntheticImage(width: 24, height: 21, seed: 2)
            let x = Bench.syntheticImage(width: 20, height: 18, seed: 3)
            let obj = try Objective(weights: w, content: content, style: style, settings: s, convPolicy: convPolicy)
            checkObjective(obj, at: x, trials: 3, "objective \(pooling)")
        }
    }

    /// Each term alone, so a wrong factor in one cannot hide behind another.
    func testEachTermAlone() throws {
        let w = VGGWeights(randomSeed: 9)
        let content = Bench.syntheticImage(width: 16, height: 16, seed: 4)
        let style = Bench.syntheticImage(width: 16, height: 16, seed: 5)
        let x = Bench.syntheticImage(width: 16, height: 16, seed: 6)
        for (a, b, t) in [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)] {
            var s = Settings()
            s.alpha = a; s.beta = b; s.tv = t
            s.contentLayers = ["relu3_1"]; s.styleLayers = ["relu1_2", "relu3_1"]
            let obj = try Objective(weights: w, content: content, style: style, settings: s, convPolicy: convPolicy)
            checkObjective(obj, at: x, trials: 1, "term α=\(a) β=\(b) γ=\(t)")
        }
    }

    /// Directional derivatives of the whole objective at `x` against central differences.
    func checkObjective(_ obj: Objective, at x: RGBImage, trials: Int, _ what: String) {
        var g = [Float](repeating: 0, count: x.pixels.count)
        x.pixels.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { _ = obj.evaluate(xp.baseAddress!, grad: $0.baseAddress!) } }
        for trial in 0..<trials {
            let v = direction(g)
            let eps: Float = 0.2
            func loss(_ sign: Float) -> Double {
                let xp = zip(x.pixels, v).map { $0 + sign * eps * $1 }
                return xp.withUnsafeBufferPointer { obj.evaluate($0.baseAddress!, grad: nil).total }
            }
            let analytic = zip(g, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            checkDirectional(analytic: analytic, plus: loss(1), minus: loss(-1), eps: Double(eps), "\(what) #\(trial)")
        }
    }
}
