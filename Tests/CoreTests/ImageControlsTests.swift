@testable import Core
import Foundation
import XCTest

/// Issue 9 §5: transparency kept, 16-bit output.
final class ImageControlsTests: XCTestCase {
    /// A picture whose left half is opaque colour and right half fully transparent (with a colour that
    /// must not leak into the result), and a soft column of half-transparency between.
    static func rgba() -> (RGBImage, [Float]) {
        var img = RGBImage(width: 40, height: 20)
        var a = [Float](repeating: 0, count: 40 * 20)
        for y in 0..<20 { for x in 0..<40 {
            let left = x < 20
            img[0, y, x] = left ? Float(100 + 3 * y) : 255
            img[1, y, x] = left ? 60 : 0
            img[2, y, x] = left ? Float(20 + 2 * x) : 255
            a[y * 40 + x] = x < 20 ? 255 : (x == 20 ? 128 : 0)
        } }
        return (img, a)
    }

    func png(_ bytes: [UInt8]) -> (depth: UInt8, colorType: UInt8) { (bytes[24], bytes[25]) }

    func testAlphaRoundTripsAndTheContentIsCompositedOverItsMean() throws {
        let (img, a) = Self.rgba(), dir = tempDir()
        let bytes = try ImageIO.encode(img, text: [], alpha: a)
        XCTAssertEqual(png(bytes).colorType, 6, "RGBA")
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/c.png"))
        let (back, alpha) = try ImageIO.readWithAlpha(dir + "/c.png")
        XCTAssertEqual(alpha, a)
        XCTAssertTrue(back == img, "the colour as stored")
        // What restyle optimises: over the mean colour of the visible pixels, not white.
        let over = Inputs.overMean(img, alpha: a)
        var mean = [0.0, 0.0, 0.0], total = 0.0
        for i in 0..<800 { total += Double(a[i]); for c in 0..<3 { mean[c] += Double(a[i]) * Double(img.pixels[c * 800 + i]) } }
        for c in 0..<3 {
            XCTAssertEqual(Double(over[c, 5, 30]), mean[c] / total, accuracy: 1e-3, "a transparent pixel is the mean colour")
            XCTAssertEqual(over[c, 5, 3], img[c, 5, 3], "an opaque pixel is itself")
        }
        try ImageIO.writePNG(Golden.b, to: dir + "/s.png")
        var s = Settings()
        s.styleLayers = ["relu1_1"]; s.contentLayers = ["relu1_1"]
        let keep = try Inputs.load(content: dir + "/c.png", style: dir + "/s.png", size: 20, styleSize: nil, settings: s)
        XCTAssertEqual(keep.alpha?.count, 20 * 10)
        XCTAssertEqual(Double(keep.alpha![5 * 20 + 2]), 255, accuracy: 0.5)
        XCTAssertEqual(Double(keep.alpha![5 * 20 + 17]), 0, accuracy: 0.5)
        XCTAssertEqual(Double(keep.content[0, 5, 17]), mean[0] / total, accuracy: 1, "over the mean colour")
        s.alphaMode = .drop
        let drop = try Inputs.load(content: dir + "/c.png", style: dir + "/s.png", size: 20, styleSize: nil, settings: s)
        XCTAssertNil(drop.alpha)
        XCTAssertEqual(drop.content[1, 5, 17], 255, accuracy: 0.5, "over white, as a picture without alpha")
    }

    /// The result carries the content's alpha: in the optimisation, its session and after an upscale.
    func testTheResultKeepsTheContentsAlphaThroughSessionAndUpscale() throws {
        let (img, a) = Self.rgba()
        var s = Settings()
        s.styleLayers = ["relu1_1"]; s.contentLayers = ["relu1_1"]; s.iterations = 2
        let w = VGGWeights(randomSeed: 4)
        let o = try Optimization(weights: w, content: Inputs.overMean(img, alpha: a), styles: [Golden.b], settings: s, alpha: a)
        while !o.isFinished { o.iterate() }
        let path = tempDir() + "/a.session"
        try o.writeSession(to: path)
        let (r, _) = try Optimization.resume(from: path, weights: w)
        XCTAssertEqual(r.alpha, a)
        XCTAssertEqual(png(try ImageIO.encode(r.image, alpha: r.alpha)).colorType, 6)
        r.upscale()
        XCTAssertEqual(r.alpha?.count, 80 * 40)
        XCTAssertEqual(Double(r.alpha![10 * 80 + 70]), 0, accuracy: 0.5)
        XCTAssertEqual(Double(r.alpha![10 * 80 + 5]), 255, accuracy: 0.5)
        // Without alpha the session says so, and the result is RGB.
        let plain = try Optimization(weights: w, content: Golden.a, style: Golden.b, settings: s)
        try plain.writeSession(to: path)
        XCTAssertNil(try Optimization.resume(from: path, weights: w).0.alpha)
    }

    /// 16-bit PNG: the float image's samples, not 8-bit ones.
    func testSixteenBitOutput() throws {
        let (img, a) = Self.rgba()
        var f = img
        f.pixels = f.pixels.enumerated().map { Float($0.offset % 97) * 2.6 + 0.37 }
        let b16 = try ImageIO.encode(f, bitDepth: 16)
        XCTAssertEqual(png(b16).depth, 16); XCTAssertEqual(png(b16).colorType, 2)
        XCTAssertEqual(png(try ImageIO.encode(f, alpha: a, bitDepth: 16)).colorType, 6)
        XCTAssertEqual(ImageIO.word(100.3), UInt16((100.3 * 65535.0 / 255).rounded()))
        XCTAssertEqual(ImageIO.word(255), 65535); XCTAssertEqual(ImageIO.word(-3), 0); XCTAssertEqual(ImageIO.word(.nan), 0)
        // Read back (our reader rounds to 8 bits): the nearest level of each float.
        let path = tempDir() + "/16.png"
        try Data(b16).write(to: URL(fileURLWithPath: path))
        let back = try ImageIO.read(path)
        for (x, y) in zip(back.pixels, f.pixels) { XCTAssertEqual(x, y.rounded(), accuracy: 1) }
        XCTAssertThrowsError(try ImageIO.encode(f, bitDepth: 12))
    }
}
