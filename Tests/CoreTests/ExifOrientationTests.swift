@testable import Core
import Foundation
import XCTest

/// JPEG EXIF orientation 1–8, applied on load, on small JPEGs crafted here: our own JPEG writer plus an
/// APP1 Exif segment inserted after SOI, as a phone would write it.
final class ExifOrientationTests: XCTestCase {
    /// The upright picture: four flat quadrants, 32 wide and 16 tall, so every turn and mirror differs.
    static let colours: [[Float]] = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [230, 230, 230]]
    static func upright() -> RGBImage {
        var img = RGBImage(width: 32, height: 16)
        for y in 0..<16 { for x in 0..<32 {
            let q = (y < 8 ? 0 : 2) + (x < 16 ? 0 : 1)
            for c in 0..<3 { img[c, y, x] = colours[q][c] }
        } }
        return img
    }

    // Plain transforms, written independently of the loader's index arithmetic.
    static func map(_ img: RGBImage, w: Int, h: Int, _ f: (Int, Int) -> (Int, Int)) -> RGBImage {
        var out = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w { let (sx, sy) = f(x, y); for c in 0..<3 { out[c, y, x] = img[c, sy, sx] } } }
        return out
    }
    static func mirror(_ i: RGBImage) -> RGBImage { map(i, w: i.width, h: i.height) { (i.width - 1 - $0, $1) } }
    static func flip(_ i: RGBImage) -> RGBImage { map(i, w: i.width, h: i.height) { ($0, i.height - 1 - $1) } }
    /// Turned a quarter clockwise.
    static func clockwise(_ i: RGBImage) -> RGBImage { map(i, w: i.height, h: i.width) { ($1, i.height - 1 - $0) } }
    static func anticlockwise(_ i: RGBImage) -> RGBImage { clockwise(clockwise(clockwise(i))) }

    /// What a camera stores for each orientation when the scene is `u`: the tag says how to turn the
    /// stored pixels to see `u` (EXIF 2.3, tag 0x0112).
    static func stored(_ u: RGBImage, orientation: Int) -> RGBImage {
        switch orientation {
        case 1: return u
        case 2: return mirror(u)                       // shown mirrored left–right
        case 3: return clockwise(clockwise(u))         // shown turned 180°
        case 4: return flip(u)                         // shown mirrored top–bottom
        case 5: return mirror(clockwise(u))            // shown mirrored, then turned 90° anticlockwise
        case 6: return anticlockwise(u)                // shown turned 90° clockwise
        case 7: return mirror(anticlockwise(u))        // shown mirrored, then turned 90° clockwise
        default: return clockwise(u)                   // 8: shown turned 90° anticlockwise
        }
    }

    static func app1(orientation: Int, little: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { little ? [UInt8(v & 255), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 255)] }
        func u32(_ v: Int) -> [UInt8] { little ? u16(v & 0xFFFF) + u16(v >> 16) : u16(v >> 16) + u16(v & 0xFFFF) }
        // A first entry of another tag, so the reader has to walk the IFD.
        let tiff = (little ? [0x49, 0x49] : [0x4D, 0x4D]) + u16(42) + u32(8) + u16(2)
            + u16(0x010F) + u16(2) + u32(4) + [0x41, 0x42, 0x43, 0]
            + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0] + u32(0)
        let body: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        return [0xFF, 0xE1] + [UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 255)] + body
    }

    static func jpeg(_ img: RGBImage, segment: [UInt8]) throws -> [UInt8] {
        let plain = try ImageIO.encode(img, format: .jpeg(quality: 95))
        return Array(plain[0..<2]) + segment + Array(plain[2...])
    }

    func testEachOrientationIsTurnedUpright() throws {
        let u = Self.upright(), dir = tempDir()
        for o in 1...8 {
            for little in [true, false] {
                let path = dir + "/o\(o)\(little).jpg"
                try Data(try Self.jpeg(Self.stored(u, orientation: o), segment: Self.app1(orientation: o, little: little))).write(to: URL(fileURLWithPath: path))
                let img = try ImageIO.read(path)
                XCTAssertEqual(img.width, 32, "orientation \(o)"); XCTAssertEqual(img.height, 16, "orientation \(o)")
                // The centre of each quadrant has its colour (JPEG is lossy: within a few levels).
                for (q, (x, y)) in [(8, 4), (24, 4), (8, 12), (24, 12)].enumerated() {
                    for c in 0..<3 {
                        XCTAssertEqual(img[c, y, x], Self.colours[q][c], accuracy: 12, "orientation \(o) \(little ? "II" : "MM") quadrant \(q)")
                    }
                }
            }
        }
    }

    /// Hostile Exif: lengths, counts and offsets past the end, wrong types, out-of-range values —
    /// the picture loads as stored.
    func testMalformedExifIsIgnored() throws {
        let u = Self.upright()
        let good = Self.app1(orientation: 6, little: true)
        var cases: [[UInt8]] = []
        for cut in stride(from: 4, to: good.count, by: 3) {
            // The segment says its full length but is cut short: the JPEG's own bytes follow.
            cases.append(Array(good[0..<cut]))
        }
        var badValue = good; badValue[good.count - 8] = 9                  // orientation 9
        var badType = good; badType[good.count - 14] = 4                   // LONG instead of SHORT
        var hugeCount = good; hugeCount[18] = 0xFF; hugeCount[19] = 0xFF   // 65535 IFD entries
        var farIFD = good; farIFD[14] = 0xFF; farIFD[15] = 0xFF; farIFD[16] = 0xFF; farIFD[17] = 0x7F
        var longSegment = good; longSegment[2] = 0xFF; longSegment[3] = 0xFF
        var shortSegment = good; shortSegment[2] = 0; shortSegment[3] = 1
        cases += [badValue, badType, hugeCount, farIFD, longSegment, shortSegment]
        for (k, seg) in cases.enumerated() {
            let bytes = try Self.jpeg(u, segment: seg)
            XCTAssertTrue((1...8).contains(ExifOrientation.read(jpeg: bytes)), "case \(k)")
            // A segment whose length is wrong makes the JPEG itself corrupt: refused in one line, never a crash;
            // bad Exif inside a well-formed segment loads the picture as stored.
            do {
                let img = try ImageIO.decode(bytes: bytes, path: "case \(k)")
                XCTAssertEqual(img.width, ExifOrientation.read(jpeg: bytes) >= 5 ? 16 : 32)
            } catch let e as RestyleError {
                XCTAssertTrue("\(e)".hasPrefix("case \(k): "), "\(e)")
                XCTAssertFalse((cases.count - 6..<cases.count - 2).contains(k), "case \(k) is a well-formed JPEG: \(e)")
            }
            if k >= cases.count - 6 { XCTAssertEqual(ExifOrientation.read(jpeg: bytes), 1, "case \(k)") }
        }
        for n in 0..<40 { XCTAssertEqual(ExifOrientation.read(jpeg: Array(Self.app1(orientation: 3, little: false).prefix(n))), 1) }
        XCTAssertEqual(ExifOrientation.read(jpeg: [0xFF, 0xD8] + Self.app1(orientation: 3, little: false)), 3)
    }
}
