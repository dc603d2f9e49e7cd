import Core
import XCTest

/// The synthetic images of the golden table, and the figures an independent PyTorch
/// implementation computed on them (scripts/golden_reference.py regenerates and checks them, by hand).
/// These need the real weights: a missing file fails, never skips.
enum Golden {
    static func image(_ w: Int, _ h: Int, _ f: (Int, Int, Int) -> Int) -> RGBImage {
        var img = RGBImage(width: w, height: h)
        for c in 0..<3 { for i in 0..<h { for j in 0..<w { img[c, i, j] = Float(((f(i, j, c) % 256) + 256) % 256) } } }
        return img
    }
    static let a = image(80, 48) { i, j, c in 3 * i * i + 5 * j * j + 7 * i * j + 61 * c }
    static let b = image(64, 64) { i, j, c in (i ^ j) * (c + 1) * 3 + 17 * c }
    static let x = image(80, 48) { i, j, c in 11 * i + 7 * j + 13 * c + 5 * ((i * j) % 23) }

    static let weights: VGGWeights? = try? VGGWeights.loadDefault()
    static func requireWeights() throws -> VGGWeights {
        do { return try VGGWeights.loadDefault() } catch {
            XCTFail("real VGG19 weights are required: \(error) (run `make setup`)")
            throw error
        }
    }
    static func settings(_ pooling: Pooling = .max, seedLayers: Bool = false) -> Settings {
        var s = Settings()
        s.alpha = 1; s.beta = 10; s.tv = 100; s.pooling = pooling
        if seedLayers { s.contentLayers = Settings.seedLayers; s.styleLayers = Settings.seedLayers }
        return s
    }
}

func assertRelative(_ got: Double, _ want: Double, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let rel = abs(got - want) / max(abs(want), 1e-30)
    XCTAssertLessThanOrEqual(rel, tol, "\(what): got \(got), want \(want) (relative error \(rel))", file: file, line: line)
}

final class GoldenLossTests: XCTestCase {
    func check(_ s: Settings, total: Double, content: Double, style: Double, tv: Double) throws {
        let w = try Golden.requireWeights()
        let obj = try Objective(weights: w, content: Golden.a, style: Golden.b, settings: s)
        let t = Golden.x.pixels.withUnsafeBufferPointer { obj.evaluate($0.baseAddress!, grad: nil) }
        assertRelative(t.total, total, 1e-4, "total")
        assertRelative(t.content, content, 1e-4, "content")
        assertRelative(t.style, style, 1e-4, "style")
        assertRelative(t.tv, tv, 1e-4, "tv")
    }

    func testMaxPooling() throws {
        try check(Golden.settings(.max), total: 56.71226501464844, content: 2.0046634674072266,
                  style: 3.0932650566101074, tv: 0.23774945735931396)
    }
    func testAvgPooling() throws {
        try check(Golden.settings(.avg), total: 39.49825668334961, content: 2.15380597114563,
                  style: 1.3569505214691162, tv: 0.23774945735931396)
    }
    func testSeedLayerPreset() throws {
        try check(Golden.settings(.max, seedLayers: true), total: 34.729522705078125, content: 1.753411054611206,
                  style: 0.9201164245605469, tv: 0.23774945735931396)
    }

    func checkGradient(_ pooling: Pooling, norm: Double, dotD: Double, sum: Double, r00: Double, b4779: Double) throws {
        let w = try Golden.requireWeights()
        let obj = try Objective(weights: w, content: Golden.a, style: Golden.b, settings: Golden.settings(pooling))
        var g = [Float](repeating: 0, count: Golden.x.pixels.count)
        Golden.x.pixels.withUnsafeBufferPointer { xp in
            g.withUnsafeMutableBufferPointer { _ = obj.evaluate(xp.baseAddress!, grad: $0.baseAddress!) }
        }
        let (h, wd) = (48, 80)
        var n2 = 0.0, dot = 0.0, s = 0.0
        for c in 0..<3 { for i in 0..<h { for j in 0..<wd {
            let v = Double(g[(c * h + i) * wd + j])
            n2 += v * v; s += v; dot += v * Double(((i + 2 * j + 3 * c) % 7) - 3)
        } } }
        assertRelative(n2.squareRoot(), norm, 1e-3, "‖g‖")
        assertRelative(dot, dotD, 1e-3, "Σ g·D")
        assertRelative(s, sum, 1e-3, "Σ g")
        assertRelative(Double(g[0]), r00, 1e-3, "g[R,0,0]")
        assertRelative(Double(g[(2 * h + 47) * wd + 79]), b4779, 1e-3, "g[B,47,79]")
    }

    func testGradientMax() throws {
        try checkGradient(.max, norm: 0.0693967267870903, dotD: 0.04226578772068024, sum: -0.16282369196414948,
                          r00: -0.00032868573907762766, b4779: 0.00026222836459055543)
    }
    func testGradientAvg() throws {
        try checkGradient(.avg, norm: 0.020992107689380646, dotD: 0.013640819117426872, sum: -0.04563823342323303,
                          r00: -4.9049143854063004e-05, b4779: 6.350988405756652e-05)
    }
}
