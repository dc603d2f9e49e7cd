@testable import Core
import Foundation
import XCTest

/// Issue 9: several styles with blend weights, original colours, style scale.
final class StyleBlendTests: XCTestCase {
    static let c = Golden.image(56, 40) { i, j, c in 9 * i + 4 * j * j + 31 * c + (i * j) % 17 }

    func terms(_ obj: Objective, _ x: RGBImage) -> (LossTerms, [Float]) {
        var g = [Float](repeating: 0, count: x.pixels.count)
        let t = x.pixels.withUnsafeBufferPointer { xp in
            g.withUnsafeMutableBufferPointer { obj.evaluate(xp.baseAddress!, grad: $0.baseAddress!) }
        }
        return (t, g)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        var d2 = 0.0, n2 = 0.0
        for (x, y) in zip(a, b) { d2 += Double(x - y) * Double(x - y); n2 += Double(y) * Double(y) }
        XCTAssertLessThanOrEqual((d2 / max(n2, 1e-30)).squareRoot(), tol, what, file: file, line: line)
    }

    /// One style with weight 1 is today's objective: the golden figures of the independent reference.
    func testOneStyleGivesTheGoldenNumbers() throws {
        let w = try Golden.requireWeights()
        var s = Golden.settings(.max)
        s.styleBlend = [1]
        let obj = try Objective(weights: w, content: Golden.a, styles: [Golden.b], settings: s)
        let (t, g) = terms(obj, Golden.x)
        assertRelative(t.total, 56.71226501464844, 1e-4, "total")
        assertRelative(t.style, 3.0932650566101074, 1e-4, "style")
        let norm = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        assertRelative(norm, 0.0693967267870903, 1e-3, "‖g‖")
        // A lone weight is normalised to 1 whatever it was given as.
        s.styleBlend = [0.25]
        let (t2, g2) = terms(try Objective(weights: w, content: Golden.a, styles: [Golden.b], settings: s), Golden.x)
        XCTAssertEqual(t2, t)
        XCTAssertEqual(g2, g)
    }

    /// E_s is linear in the weights: (1, 0) is style 1 alone, (0, 1) style 2 alone, and (0.3, 0.7) their
    /// blend, in the loss and in the gradient. The styles differ in size and aspect.
    func testBlendIsLinear() throws {
        let w = try Golden.requireWeights()
        var s = Golden.settings(.max)
        func obj(_ styles: [RGBImage], _ blend: [Double]) throws -> Objective {
            s.styleBlend = blend
            return try Objective(weights: w, content: Golden.a, styles: styles, settings: s)
        }
        let (t1, g1) = terms(try obj([Golden.b], [1]), Golden.x)
        let (t2, g2) = terms(try obj([Self.c], [1]), Golden.x)
        let (t10, g10) = terms(try obj([Golden.b, Self.c], [1, 0]), Golden.x)
        let (t01, g01) = terms(try obj([Golden.b, Self.c], [0, 1]), Golden.x)
        assertRelative(t10.style, t1.style, 1e-12, "(1,0) style term")
        assertRelative(t10.total, t1.total, 1e-12, "(1,0) total")
        assertClose(g10, g1, 1e-6, "(1,0) gradient")
        assertRelative(t01.style, t2.style, 1e-6, "(0,1) style term")
        assertClose(g01, g2, 1e-5, "(0,1) gradient")
        XCTAssertGreaterThan(abs(t1.style - t2.style), 1e-3 * t1.style, "the two styles differ")
        let (tb, gb) = terms(try obj([Golden.b, Self.c], [3, 7]), Golden.x)
        assertRelative(tb.style, 0.3 * t1.style + 0.7 * t2.style, 1e-6, "blend style term")
        // The content and TV parts are the same in all three, so the whole gradient is linear too.
        assertClose(gb, zip(g1, g2).map { 0.3 * $0 + 0.7 * $1 }, 1e-5, "blend gradient")
    }

    func testBlendWeightsMustMatchTheStyles() throws {
        let w = VGGWeights(randomSeed: 1)
        var s = Settings()
        s.styleBlend = [0.5, 0.5]
        XCTAssertThrowsError(try Objective(weights: w, content: Golden.a, styles: [Golden.b], settings: s))
        s.styleBlend = Array(repeating: 1, count: 9)
        XCTAssertThrowsError(try s.validate())
        s.styleBlend = [0, 0]
        XCTAssertThrowsError(try s.validate())
        s.styleBlend = [-1, 2]
        XCTAssertThrowsError(try s.validate())
    }

    /// Two styles through a session: the v2 file round-trips the styles and the run continues exactly.
    func testTwoStyleSessionResumesExactly() throws {
        let w = try Golden.requireWeights()
        var s = Settings()
        s.iterations = 3; s.beta = 100; s.styleBlend = [0.7, 0.3]
        let content = Bench.syntheticImage(width: 40, height: 32, seed: 11)
        let styles = [Bench.syntheticImage(width: 36, height: 36, seed: 12), Bench.syntheticImage(width: 48, height: 30, seed: 13)]
        let whole = try Optimization(weights: w, content: content, styles: styles, settings: s)
        while !whole.isFinished { whole.iterate() }
        s.iterations = 2
        let part = try Optimization(weights: w, content: content, styles: styles, settings: s)
        while !part.isFinished { part.iterate() }
        let path = tempDir() + "/two.session"
        try part.writeSession(to: path)
        let (o, notes) = try Optimization.resume(from: path, weights: w)
        XCTAssertEqual(notes, [])
        XCTAssertTrue(o.styleImages == styles, "the styles round-trip")
        XCTAssertEqual(o.settings.styleBlend, [0.7, 0.3])
        o.apply([{ $0.iterations = 3 }])
        while !o.isFinished { o.iterate() }
        assertRelative(o.terms.total, whole.terms.total, 1e-5, "iteration 3")
    }

    /// A blend change is a change of objective: marked, re-evaluated; a wrong count is refused.
    func testBlendChangeAppliesLive() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings()
        s.styleLayers = ["relu1_1"]; s.contentLayers = ["relu1_1"]; s.styleBlend = [0.5, 0.5]
        let img = Bench.syntheticImage(width: 20, height: 20, seed: 1)
        let o = try Optimization(weights: w, content: img, styles: [Bench.syntheticImage(width: 20, height: 20, seed: 2), img], settings: s)
        o.iterate(); o.iterate()
        let before = o.terms.style
        o.apply([{ $0.styleBlend = [0, 1] }])
        XCTAssertEqual(o.marks, [1])
        o.iterate()
        XCTAssertEqual(o.iteration, 2)
        XCTAssertLessThan(o.terms.style, before, "all weight on the style that is the content itself")
        let m = o.apply([{ $0.styleBlend = [1, 1, 1] }])
        XCTAssertTrue(m?.contains("refused") ?? false, m ?? "nil")
        XCTAssertEqual(o.settings.styleBlend, [0, 1])
    }
}

final class ColorControlTests: XCTestCase {
    static func yiq(_ img: RGBImage) -> [[Double]] {
        let n = img.width * img.height
        return (0..<n).map { i in
            let (r, g, b) = (Double(img.pixels[i]), Double(img.pixels[n + i]), Double(img.pixels[2 * n + i]))
            return [0.299 * r + 0.587 * g + 0.114 * b, 0.595716 * r - 0.274453 * g - 0.321263 * b,
                    0.211456 * r - 0.522591 * g + 0.311135 * b]
        }
    }

    /// Luminance mode: the result, after real iterations, has exactly the content's I and Q, and a
    /// luminance of its own.
    func testLuminanceOutputHasTheContentsChroma() throws {
        let w = try Golden.requireWeights()
        var s = Settings()
        s.colors = .luminance; s.iterations = 3; s.beta = 100
        let o = try Optimization(weights: w, content: Golden.a, style: Golden.b, settings: s)
        while !o.isFinished { o.iterate() }
        let out = Self.yiq(o.image), content = Self.yiq(Golden.a)
        var maxChroma = 0.0, maxLuma = 0.0
        for (p, q) in zip(out, content) {
            maxChroma = max(maxChroma, abs(p[1] - q[1]), abs(p[2] - q[2]))
            maxLuma = max(maxLuma, abs(p[0] - q[0]))
        }
        XCTAssertLessThan(maxChroma, 1e-3, "I and Q are the content's")
        XCTAssertGreaterThan(maxLuma, 1, "the luminance was optimised")
    }

    /// Match: the style's mean and covariance become the content's (symmetric square roots).
    func testMatchGivesTheContentsMeanAndCovariance() {
        for (style, content) in [(Golden.b, Golden.a), (StyleBlendTests.c, Golden.x), (Golden.a, Golden.b)] {
            let m = ColorTransfer.matchColors(style, to: content)
            let (ms, cs) = ColorTransfer.meanCovariance(m), (mc, cc) = ColorTransfer.meanCovariance(content)
            let scale = cc.map(abs).max()!
            for i in 0..<3 { XCTAssertEqual(ms[i], mc[i], accuracy: 1e-3) }
            for i in 0..<9 { XCTAssertEqual(cs[i] / scale, cc[i] / scale, accuracy: 1e-3, "cov[\(i)]") }
        }
    }

    func testSymmetricSquareRoot() {
        let m: [Double] = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]
        let r = ColorTransfer.symmetricPower(m, 0.5)
        let rr = ColorTransfer.multiply(r, r)
        for i in 0..<9 { XCTAssertEqual(rr[i], m[i], accuracy: 1e-9) }
        let inv = ColorTransfer.multiply(ColorTransfer.symmetricPower(m, -0.5), r)
        for i in 0..<9 { XCTAssertEqual(inv[i], i % 4 == 0 ? 1 : 0, accuracy: 1e-9) }
        // A flat image has no covariance: the map stays finite.
        let flat = RGBImage(width: 8, height: 8, fill: 90)
        XCTAssertTrue(ColorTransfer.matchColors(flat, to: Golden.a).pixels.allSatisfy(\.isFinite))
    }

    /// Switching the mode between iterations: a mark, a re-evaluation, the picture carried over.
    func testSwitchingModeCarriesThePictureOver() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings()
        s.styleLayers = ["relu1_1"]; s.contentLayers = ["relu1_1"]; s.optimizer = .adam; s.learningRate = 5
        let o = try Optimization(weights: w, content: Golden.a, style: Golden.b, settings: s)
        o.iterate(); o.iterate()
        let shown = o.image
        o.apply([{ $0.colors = .luminance }])
        XCTAssertEqual(o.marks, [1])
        XCTAssertTrue(o.variable == ColorTransfer.grey(shown), "luminance continues from the picture's luminance")
        o.iterate()
        XCTAssertEqual(o.iteration, 2, "a re-evaluation")
        let grey = o.image
        o.apply([{ $0.colors = .match }])
        XCTAssertTrue(o.variable == grey, "leaving luminance continues from the picture as shown")
        o.iterate(); o.iterate()
        XCTAssertTrue(o.terms.isFinite)
    }
}

final class StyleScaleTests: XCTestCase {
    func testStyleSideIsTheScaleTimesTheContentSide() {
        XCTAssertEqual(Inputs.styleSide(contentSide: 512, styleSize: nil, scale: 1), 512)
        XCTAssertEqual(Inputs.styleSide(contentSide: 512, styleSize: nil, scale: 0.5), 256)
        XCTAssertEqual(Inputs.styleSide(contentSide: 512, styleSize: nil, scale: 2), 1024)
        XCTAssertEqual(Inputs.styleSide(contentSide: 512, styleSize: 300, scale: 0.5), 150)
    }

    /// Loaded from files: the style's longest side is S × the content's working longest side.
    func testLoadedStyleSizes() throws {
        let dir = tempDir()
        try ImageIO.writePNG(Golden.a, to: dir + "/c.png")
        try ImageIO.writePNG(Golden.b, to: dir + "/s.png")
        try ImageIO.writePNG(StyleBlendTests.c, to: dir + "/t.png")
        for (scale, want) in [(0.5, 32), (1.0, 64), (2.0, 128)] {
            var s = Settings()
            s.styleScale = scale; s.styleBlend = [0.5, 0.5]
            let i = try Inputs.load(content: dir + "/c.png", styles: [dir + "/s.png", dir + "/t.png"], size: 64, styleSize: nil, settings: s)
            XCTAssertEqual(i.content.width, 64)
            XCTAssertEqual(i.styles.map { max($0.width, $0.height) }, [want, want], "scale \(scale)")
            XCTAssertEqual(i.styles[1].height, Int((40.0 / 56 * Double(want)).rounded()), "aspect kept")
        }
        var s = Settings()
        s.styleScale = 5
        XCTAssertThrowsError(try s.validate())
    }

    /// A scale change between iterations resizes the styles from the originals and re-evaluates.
    func testScaleChangeAppliesLive() throws {
        let w = VGGWeights(randomSeed: 3)
        var s = Settings()
        s.styleLayers = ["relu1_1"]; s.contentLayers = ["relu1_1"]
        let big = Bench.syntheticImage(width: 200, height: 100, seed: 4)
        let o = try Optimization(weights: w, content: Golden.a, styles: [resized(big, width: 80, height: 40)], settings: s,
                                 originalStyles: [big])
        o.iterate(); o.iterate()
        o.apply([{ $0.styleScale = 2 }])
        XCTAssertEqual(o.styleImages[0].width, 160)
        XCTAssertEqual(o.styleImages[0].height, 80)
        XCTAssertEqual(o.marks, [1])
        o.apply([{ $0.styleScale = 0.5 }])
        XCTAssertEqual(o.styleImages[0].width, 40)
        o.iterate()
        XCTAssertTrue(o.terms.isFinite)
    }
}

extension GradientCheckTests {
    /// The blended objective's gradient against central differences, on random weights.
    func testBlendGradient() throws {
        let w = VGGWeights(randomSeed: 7)
        var s = Settings()
        s.alpha = 1; s.beta = 10; s.tv = 5
        s.contentLayers = ["relu2_2"]; s.styleLayers = ["relu1_1", "pool2", "relu3_1"]
        s.styleBlend = [0.6, 0.4]
        let content = Bench.syntheticImage(width: 20, height: 18, seed: 1)
        let styles = [Bench.syntheticImage(width: 24, height: 21, seed: 2), Bench.syntheticImage(width: 18, height: 30, seed: 8)]
        let obj = try Objective(weights: w, content: content, styles: styles, settings: s, convPolicy: convPolicy)
        checkObjective(obj, at: Bench.syntheticImage(width: 20, height: 18, seed: 3), trials: 3, "blend")
    }

}
