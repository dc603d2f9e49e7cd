import CImageIO
import CImageIOTestSupport
import Core
import Foundation
import XCTest

/// Every fixture is made on the spot in a temporary directory: PNG variants with
/// libpng and JPEGs with libjpeg through the test writers in CImageIO.
final class ImageIOTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "restyle-imageio-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    }

    override func tearDownWithError() throws {
        chmod(dir, 0o755)
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: - PNG round trips

    func testPNGRoundTripIsExactFor8BitValues() throws {
        var image = RGBImage(width: 37, height: 23)
        var rng = SplitMix(seed: 1)
        for i in image.pixels.indices { image.pixels[i] = Float(rng.next() % 256) }
        let path = dir + "/round.png"
        try ImageIO.writePNG(image, to: path)
        XCTAssertEqual(try ImageIO.read(path), image)
    }

    func testWriteClampsRoundsAndZeroesNaN() throws {
        let inputs: [Float] = [-5, 300, .nan, 127.5, 127.49, .infinity, -.infinity, 0.5, 254.6]
        let expected: [Float] = [0, 255, 0, 128, 127, 255, 0, 1, 255]
        var image = RGBImage(width: inputs.count, height: 1)
        for (x, v) in inputs.enumerated() {
            image[0, 0, x] = v
            image[1, 0, x] = v
            image[2, 0, x] = v
        }
        let path = dir + "/clamp.png"
        try ImageIO.writePNG(image, to: path)
        let back = try ImageIO.read(path)
        for c in 0..<3 {
            XCTAssertEqual((0..<inputs.count).map { back[c, 0, $0] }, expected)
        }
    }

    func testTextChunksRoundTripInOrder() throws {
        // Noisy and large enough that libpng splits the data over several IDAT chunks,
        // which reading the text must skip without decoding.
        var image = RGBImage(width: 300, height: 200)
        var rng = SplitMix(seed: 2)
        for i in image.pixels.indices { image.pixels[i] = Float(rng.next() % 256) }
        let text = [
            ("Software", "restyle 0.1"),
            ("restyle:settings", #"{"alpha":1,"beta":10,"content":"/home/me/photo.png"}"#),
            ("Comment", "naïve café → ✓"),
            ("Empty", ""),
        ]
        let path = dir + "/text.png"
        try ImageIO.writePNG(image, to: path, text: text)
        let back = try ImageIO.readPNGText(path)
        XCTAssertEqual(back.map { $0.0 }, text.map { $0.0 })
        XCTAssertEqual(back.map { $0.1 }, text.map { $0.1 })
        XCTAssertEqual(try ImageIO.read(path), image)
    }

    func testPNGWithoutTextHasNoText() throws {
        let path = dir + "/plain.png"
        try ImageIO.writePNG(RGBImage(width: 2, height: 2, fill: 9), to: path)
        XCTAssertTrue(try ImageIO.readPNGText(path).isEmpty)
    }

    func testInvalidTextKeyIsRefusedAndNothingWritten() throws {
        let path = dir + "/badkey.png"
        XCTAssertThrowsError(try ImageIO.writePNG(RGBImage(width: 1, height: 1), to: path,
                                                  text: [(String(repeating: "k", count: 80), "v")]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    // MARK: - PNG variants decode to the right RGB

    func testGrey8Grey1AndGrey16() throws {
        let g8 = dir + "/g8.png"
        try writePNG(g8, width: 3, height: 1, colorType: 0, bitDepth: 8, rows: [0, 77, 255])
        try assertPixels(g8, [(0, 0, 0), (77, 77, 77), (255, 255, 255)])

        // 1-bit: 0b1010_0000 for a 3-pixel row is white, black, white.
        let g1 = dir + "/g1.png"
        try writePNG(g1, width: 3, height: 1, colorType: 0, bitDepth: 1, rows: [0b1010_0000])
        try assertPixels(g1, [(255, 255, 255), (0, 0, 0), (255, 255, 255)])

        // 0x12FF is 18.9 in 8 bits: rounding gives 19 where dropping the low byte gives 18.
        let g16 = dir + "/g16.png"
        try writePNG(g16, width: 3, height: 1, colorType: 0, bitDepth: 16,
                     rows: [0x12, 0xFF, 0x80, 0x80, 0xFF, 0xFF])
        try assertPixels(g16, [(19, 19, 19), (128, 128, 128), (255, 255, 255)])
    }

    func testGreyAlphaIsCompositedOverWhite() throws {
        let path = dir + "/ga.png"
        try writePNG(path, width: 3, height: 1, colorType: 4, bitDepth: 8,
                     rows: [100, 0, 100, 255, 100, 128])
        // 100 at alpha 128/255 over 255: (100*128 + 255*127) / 255 = 177.2.
        try assertPixels(path, [(255, 255, 255), (100, 100, 100), (177, 177, 177)])
    }

    func testPaletteWithTransparency() throws {
        let path = dir + "/pal.png"
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
        // 2-bit indices 0,1,2,3 packed in one byte; entry 3 is fully transparent.
        try writePNG(path, width: 4, height: 1, colorType: 3, bitDepth: 2, rows: [0b00_01_10_11],
                     palette: palette, trnsAlpha: [255, 255, 255, 0])
        try assertPixels(path, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)])
    }

    func testRGB16RoundsTo8Bit() throws {
        let path = dir + "/rgb16.png"
        try writePNG(path, width: 1, height: 1, colorType: 2, bitDepth: 16,
                     rows: [0x12, 0xFF, 0x00, 0x00, 0xFF, 0xFF])
        try assertPixels(path, [(19, 0, 255)])
    }

    func testRGBAIsCompositedOverWhite() throws {
        let path = dir + "/rgba.png"
        try writePNG(path, width: 3, height: 1, colorType: 6, bitDepth: 8,
                     rows: [200, 50, 0, 0, 200, 50, 0, 255, 0, 0, 0, 51])
        try assertPixels(path, [(255, 255, 255), (200, 50, 0), (204, 204, 204)])
    }

    func testRGBA16AndGreyTRNS() throws {
        let rgba16 = dir + "/rgba16.png"
        try writePNG(rgba16, width: 1, height: 1, colorType: 6, bitDepth: 16,
                     rows: [0x12, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        try assertPixels(rgba16, [(19, 0, 255)])

        let trns = dir + "/trns.png"
        try writePNG(trns, width: 2, height: 1, colorType: 0, bitDepth: 8, rows: [50, 60], trnsColor: [50])
        try assertPixels(trns, [(255, 255, 255), (60, 60, 60)])
    }

    func testInterlacedPNGs() throws {
        var rng = SplitMix(seed: 3)
        let w = 13, h = 11
        let rgb = (0..<w * h * 3).map { _ in UInt8(rng.next() % 256) }
        let path = dir + "/adam7.png"
        try writePNG(path, width: w, height: h, colorType: 2, bitDepth: 8, interlaced: true, rows: rgb)
        let out = try ImageIO.read(path)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 { XCTAssertEqual(out[c, y, x], Float(rgb[(y * w + x) * 3 + c])) }
            }
        }
        let rgba = dir + "/adam7a.png"
        try writePNG(rgba, width: 9, height: 9, colorType: 6, bitDepth: 8, interlaced: true,
                     rows: [UInt8](repeating: 0, count: 9 * 9 * 4))
        XCTAssertEqual(try ImageIO.read(rgba), RGBImage(width: 9, height: 9, fill: 255))
    }

    // MARK: - JPEG

    func testJPEGDecodesCloseToOriginal() throws {
        let w = 64, h = 48
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                rgb[(y * w + x) * 3] = UInt8(x * 4)
                rgb[(y * w + x) * 3 + 1] = UInt8(y * 5)
                rgb[(y * w + x) * 3 + 2] = 128
            }
        }
        for progressive in [false, true] {
            let path = dir + "/rgb\(progressive).jpg"
            try writeJPEG(path, width: w, height: h, components: 3, progressive: progressive, pixels: rgb)
            let out = try ImageIO.read(path)
            XCTAssertEqual(out.width, w)
            XCTAssertEqual(out.height, h)
            var total: Float = 0, worst: Float = 0
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 {
                        let d = abs(out[c, y, x] - Float(rgb[(y * w + x) * 3 + c]))
                        total += d
                        worst = max(worst, d)
                    }
                }
            }
            XCTAssertLessThan(total / Float(w * h * 3), 2, "mean error, progressive \(progressive)")
            XCTAssertLessThan(worst, 16, "worst error, progressive \(progressive)")
        }
    }

    func testGreyJPEGBecomesRGB() throws {
        let path = dir + "/grey.jpg"
        try writeJPEG(path, width: 16, height: 16, components: 1, pixels: [UInt8](repeating: 90, count: 256))
        let out = try ImageIO.read(path)
        for c in 0..<3 { XCTAssertEqual(out[c, 8, 8], 90, accuracy: 2) }
    }

    func testAdobeCMYKJPEG() throws {
        // Four 16x16 blocks (whole JPEG blocks, so little ringing) in Adobe's inverted
        // CMYK: red, green, blue, and 50% black ink.
        let inverted: [[UInt8]] = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255], [255, 255, 255, 128]]
        let expected: [(Float, Float, Float)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)]
        let w = 64, h = 16
        var px = [UInt8](repeating: 0, count: w * h * 4)
        for y in 0..<h { for x in 0..<w { for k in 0..<4 { px[(y * w + x) * 4 + k] = inverted[x / 16][k] } } }
        let path = dir + "/cmyk.jpg"
        try writeJPEG(path, width: w, height: h, components: 4, pixels: px)
        let out = try ImageIO.read(path)
        for (i, e) in expected.enumerated() {
            XCTAssertEqual(out[0, 8, i * 16 + 8], e.0, accuracy: 8, "block \(i) red")
            XCTAssertEqual(out[1, 8, i * 16 + 8], e.1, accuracy: 8, "block \(i) green")
            XCTAssertEqual(out[2, 8, i * 16 + 8], e.2, accuracy: 8, "block \(i) blue")
        }
    }

    func testFormatIsFoundByContentNotExtension() throws {
        let path = dir + "/actually-a-jpeg.png"
        try writeJPEG(path, width: 8, height: 8, components: 3, pixels: [UInt8](repeating: 200, count: 192))
        XCTAssertEqual(try ImageIO.read(path).width, 8)
        let png = dir + "/actually-a-png.jpg"
        try ImageIO.writePNG(RGBImage(width: 3, height: 2, fill: 7), to: png)
        XCTAssertEqual(try ImageIO.read(png), RGBImage(width: 3, height: 2, fill: 7))
    }

    // MARK: - read errors

    func testMissingFile() {
        assertBadInput(try ImageIO.read(dir + "/nope.png"), path: dir + "/nope.png", says: "no such file")
    }

    func testDirectory() {
        assertBadInput(try ImageIO.read(dir), path: dir, says: "is a directory")
    }

    func testEmptyFile() throws {
        let path = dir + "/empty.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertBadInput(try ImageIO.read(path), path: path, says: "empty file")
    }

    func testTruncatedPNG() throws {
        var image = RGBImage(width: 64, height: 64)
        var rng = SplitMix(seed: 4)
        for i in image.pixels.indices { image.pixels[i] = Float(rng.next() % 256) }
        let path = dir + "/cut.png"
        try ImageIO.writePNG(image, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for keep in [bytes.count / 2, bytes.count - 8, 40] {
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: path))
            assertBadInput(try ImageIO.read(path), path: path, says: "truncated PNG")
        }
    }

    func testTruncatedJPEG() throws {
        var px = [UInt8](repeating: 0, count: 64 * 64 * 3)
        var rng = SplitMix(seed: 5)
        for i in px.indices { px[i] = UInt8(rng.next() % 256) }
        let path = dir + "/cut.jpg"
        try writeJPEG(path, width: 64, height: 64, components: 3, pixels: px)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for keep in [bytes.count * 6 / 10, bytes.count - 2] {
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: path))
            assertBadInput(try ImageIO.read(path), path: path, says: "truncated JPEG")
        }
        // Cut inside the header: still reported, never a crash.
        try bytes.prefix(30).write(to: URL(fileURLWithPath: path))
        assertBadInput(try ImageIO.read(path), path: path, says: "JPEG")
    }

    func testCorruptPNGChecksum() throws {
        let path = dir + "/crc.png"
        try ImageIO.writePNG(RGBImage(width: 4, height: 4, fill: 1), to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[20] ^= 0xFF // inside IHDR's width field, so the chunk CRC no longer matches
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertBadInput(try ImageIO.read(path), path: path, says: "corrupt PNG")
    }

    func testRandomBytesAndOtherFormats() throws {
        let path = dir + "/noise.png"
        var rng = SplitMix(seed: 6)
        try Data((0..<1000).map { _ in UInt8(rng.next() % 256) }).write(to: URL(fileURLWithPath: path))
        assertBadInput(try ImageIO.read(path), path: path, says: "not a PNG or JPEG image")

        let text = dir + "/notes.txt"
        try "hello\n".write(toFile: text, atomically: false, encoding: .utf8)
        assertBadInput(try ImageIO.read(text), path: text, says: "not a PNG or JPEG image")

        let gif = dir + "/anim.gif"
        try Data("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8).write(to: URL(fileURLWithPath: gif))
        assertBadInput(try ImageIO.read(gif), path: gif, says: "GIF images are not supported")
    }

    func testDamagedFilesFailCleanlyOrDecode() throws {
        // Bytes flipped at random: every outcome must be an image of the stated size or a
        // one-line bad-input error, never a crash (which a stray longjmp would cause).
        var rng = SplitMix(seed: 8)
        var image = RGBImage(width: 40, height: 30)
        for i in image.pixels.indices { image.pixels[i] = Float(rng.next() % 256) }
        let png = dir + "/fuzz.png", jpg = dir + "/fuzz.jpg", damaged = dir + "/damaged"
        try ImageIO.writePNG(image, to: png, text: [("Comment", "fuzz")])
        let rgb = (0..<40 * 30 * 3).map { _ in UInt8(rng.next() % 256) }
        try writeJPEG(jpg, width: 40, height: 30, components: 3, progressive: true, pixels: rgb)
        for source in [png, jpg] {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
            for _ in 0..<300 {
                var bytes = original
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[2 + Int(rng.next() % UInt64(bytes.count - 2))] = UInt8(rng.next() % 256)
                }
                try Data(bytes).write(to: URL(fileURLWithPath: damaged))
                do {
                    let out = try ImageIO.read(damaged)
                    XCTAssertEqual(out.pixels.count, 3 * out.width * out.height)
                } catch RestyleError.badInput(let message) {
                    XCTAssertTrue(message.hasPrefix(damaged + ": ") && !message.contains("\n"), message)
                }
                _ = try? ImageIO.readPNGText(damaged)
            }
        }
    }

    func testAbsurdDimensionsAreRefusedFromTheHeader() throws {
        // A valid PNG header claiming 100000x100000 (30 GB of RGB) and one tiny IDAT:
        // decoding would have to allocate first, so this only passes if the probe refuses.
        let path = dir + "/huge.png"
        try Data(craftedPNG(width: 100_000, height: 100_000)).write(to: URL(fileURLWithPath: path))
        assertBadInput(try ImageIO.read(path), path: path, says: "the limit is 16384 pixels per side and 50 megapixels")

        // Each side within the limit, the area not: 10000x10000 is 100 megapixels.
        try Data(craftedPNG(width: 10_000, height: 10_000)).write(to: URL(fileURLWithPath: path))
        assertBadInput(try ImageIO.read(path), path: path, says: "10000x10000")
    }

    func testUnreadableFile() throws {
        guard geteuid() != 0 else { throw XCTSkip("root reads files whatever their mode") }
        let path = dir + "/secret.png"
        try ImageIO.writePNG(RGBImage(width: 1, height: 1), to: path)
        chmod(path, 0)
        assertBadInput(try ImageIO.read(path), path: path, says: "cannot read: Permission denied")
    }

    func testReadPNGTextErrors() throws {
        assertBadInput(try ImageIO.readPNGText(dir + "/none.png"), path: dir + "/none.png", says: "no such file")
        let jpg = dir + "/t.jpg"
        try writeJPEG(jpg, width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 0, count: 64))
        assertBadInput(try ImageIO.readPNGText(jpg), path: jpg, says: "not a PNG image")
    }

    // MARK: - write errors

    func testWriteIntoMissingDirectory() {
        let path = dir + "/no/such/dir/x.png"
        assertBadInput(try ImageIO.writePNG(RGBImage(width: 1, height: 1), to: path),
                       path: path, says: "cannot write: No such file or directory")
    }

    func testWriteOverADirectoryLeavesNoTempFile() throws {
        // The temp file is written and synced, then rename fails: it must be cleaned up.
        let path = dir + "/taken"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        assertBadInput(try ImageIO.writePNG(RGBImage(width: 4, height: 4), to: path),
                       path: path, says: "cannot write: ")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["taken"])
    }

    func testFailedWriteLeavesDestinationUntouched() throws {
        // A file-size limit makes write(2) fail part-way, even for root.
        let path = dir + "/keep.png"
        let original = Data("previous contents".utf8)
        try original.write(to: URL(fileURLWithPath: path))
        var image = RGBImage(width: 200, height: 200)
        var rng = SplitMix(seed: 7)
        for i in image.pixels.indices { image.pixels[i] = Float(rng.next() % 256) }

        var saved = rlimit()
        XCTAssertEqual(getrlimit(RLIMIT_FSIZE_ID, &saved), 0)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var small = saved
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(RLIMIT_FSIZE_ID, &small), 0)
        let thrown = Result { try ImageIO.writePNG(image, to: path) }
        XCTAssertEqual(setrlimit(RLIMIT_FSIZE_ID, &saved), 0)
        signal(SIGXFSZ, oldHandler)

        assertBadInput(try thrown.get(), path: path, says: "cannot write: File too large")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["keep.png"])
    }

    func testUnwritableDirectory() throws {
        guard geteuid() != 0 else { throw XCTSkip("root writes into read-only directories") }
        let sub = dir + "/ro"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        let path = sub + "/x.png"
        let original = Data("old".utf8)
        try original.write(to: URL(fileURLWithPath: path))
        chmod(sub, 0o555)
        defer { chmod(sub, 0o755) }
        assertBadInput(try ImageIO.writePNG(RGBImage(width: 1, height: 1), to: path),
                       path: path, says: "cannot write: Permission denied")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sub), ["x.png"])
    }

    func testOverwriteReplacesAndLeavesNoTempFile() throws {
        let path = dir + "/over.png"
        try ImageIO.writePNG(RGBImage(width: 2, height: 2, fill: 1), to: path)
        try ImageIO.writePNG(RGBImage(width: 3, height: 1, fill: 2), to: path)
        XCTAssertEqual(try ImageIO.read(path), RGBImage(width: 3, height: 1, fill: 2))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["over.png"])
    }

    // MARK: - resize

    func testResizeKeepsAConstantImageConstant() {
        let image = RGBImage(width: 37, height: 29, fill: 123.4)
        for (w, h) in [(10, 7), (80, 60), (37, 10), (5, 29), (1, 1), (111, 3)] {
            let out = resized(image, width: w, height: h)
            XCTAssertEqual(out.width, w)
            XCTAssertEqual(out.height, h)
            XCTAssertEqual(out.pixels.count, 3 * w * h)
            for v in out.pixels { XCTAssertEqual(v, 123.4, accuracy: 1e-3, "\(w)x\(h)") }
        }
    }

    func testResizeToSameSizeIsIdentity() {
        var image = RGBImage(width: 5, height: 4)
        for i in image.pixels.indices { image.pixels[i] = Float(i % 256) }
        XCTAssertEqual(resized(image, width: 5, height: 4), image)
    }

    func testDownscaledCheckerboardAveragesInsteadOfAliasing() {
        // Single-pixel checkerboard: a point-sampling resize returns all 0 or all 255.
        var board = RGBImage(width: 64, height: 64)
        for c in 0..<3 { for y in 0..<64 { for x in 0..<64 { board[c, y, x] = (x + y) % 2 == 0 ? 0 : 255 } } }
        for (w, h) in [(16, 16), (21, 13), (32, 32), (7, 7)] {
            let out = resized(board, width: w, height: h)
            for v in out.pixels { XCTAssertEqual(v, 127.5, accuracy: 4, "\(w)x\(h)") }
        }
    }

    func testResizeClampsOvershoot() {
        // A hard black-white edge makes Lanczos ring past 0 and 255.
        var edge = RGBImage(width: 20, height: 4)
        for c in 0..<3 { for y in 0..<4 { for x in 10..<20 { edge[c, y, x] = 255 } } }
        let out = resized(edge, width: 57, height: 4)
        XCTAssertGreaterThanOrEqual(out.pixels.min()!, 0)
        XCTAssertLessThanOrEqual(out.pixels.max()!, 255)
        XCTAssertEqual(out[0, 0, 0], 0)
        XCTAssertEqual(out[0, 0, 56], 255)
    }

    func testFitSize() {
        XCTAssertTrue(fitSize(width: 4000, height: 3000, longestSide: 512) == (512, 384))
        XCTAssertTrue(fitSize(width: 3000, height: 4000, longestSide: 512) == (384, 512))
        XCTAssertTrue(fitSize(width: 640, height: 480, longestSide: 640) == (640, 480))
        XCTAssertTrue(fitSize(width: 3, height: 2, longestSide: 1000) == (1000, 667))
        XCTAssertTrue(fitSize(width: 10, height: 10, longestSide: 7) == (7, 7))
        XCTAssertTrue(fitSize(width: 3000, height: 1, longestSide: 512) == (512, 1))
        XCTAssertTrue(fitSize(width: 1, height: 3000, longestSide: 512) == (1, 512))
        XCTAssertTrue(fitSize(width: 1001, height: 1000, longestSide: 500) == (500, 500))
    }

    // MARK: - helpers

    private func assertBadInput<T>(_ expression: @autoclosure () throws -> T, path: String, says problem: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try expression()
            XCTFail("no error; expected \"\(problem)\"", file: file, line: line)
        } catch RestyleError.badInput(let message) {
            XCTAssertTrue(message.hasPrefix(path + ": "), "\(message) does not start with the path", file: file, line: line)
            XCTAssertTrue(message.contains(problem), "\(message) does not say \"\(problem)\"", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "\(message) is not one line", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    private func assertPixels(_ path: String, _ expected: [(Float, Float, Float)],
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try ImageIO.read(path)
        XCTAssertEqual(image.width * image.height, expected.count, file: file, line: line)
        for (i, e) in expected.enumerated() {
            let got = (image[0, 0, i], image[1, 0, i], image[2, 0, i])
            XCTAssertTrue(got == e, "pixel \(i): \(got) != \(e)", file: file, line: line)
        }
    }

    private func writePNG(_ path: String, width: Int, height: Int, colorType: Int32, bitDepth: Int32,
                          interlaced: Bool = false, rows: [UInt8], palette: [UInt8] = [],
                          trnsAlpha: [UInt8] = [], trnsColor: [UInt16]? = nil) throws {
        var err = [CChar](repeating: 0, count: Int(IMAGEIO_TEST_ERR_LEN))
        let failed: Bool = err.withUnsafeMutableBufferPointer { e in
            (trnsColor ?? []).withUnsafeBufferPointer { tc in
                imageio_test_write_png(path, Int32(width), Int32(height), colorType, bitDepth,
                                       interlaced ? 1 : 0, rows, palette, Int32(palette.count / 3),
                                       trnsAlpha, Int32(trnsAlpha.count),
                                       trnsColor == nil ? nil : tc.baseAddress, e.baseAddress) != nil
            }
        }
        if failed { throw RestyleError.internal(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    private func writeJPEG(_ path: String, width: Int, height: Int, components: Int32, quality: Int32 = 95,
                           progressive: Bool = false, pixels: [UInt8]) throws {
        var err = [CChar](repeating: 0, count: Int(IMAGEIO_TEST_ERR_LEN))
        let failed = imageio_test_write_jpeg(path, Int32(width), Int32(height), components, quality,
                                             progressive ? 1 : 0, pixels, &err) != nil
        if failed { throw RestyleError.internal(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    /// Signature, IHDR (8-bit RGB) and a minimal IDAT and IEND, all with correct CRCs.
    private func craftedPNG(width: UInt32, height: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be(UInt32(data.count)) + body + be(crc32(body))
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
            + chunk("IEND", [])
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Deterministic noise, so a failure reproduces.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

#if canImport(Glibc)
private let RLIMIT_FSIZE_ID = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
#else
private let RLIMIT_FSIZE_ID = RLIMIT_FSIZE
#endif
