import Foundation

/// JPEG EXIF orientation (tag 0x0112, values 1–8): phones store the sensor's pixels and say in this tag
/// how to turn them. Read from hostile bytes: every offset and count is checked against what is there,
/// and anything malformed means "no orientation" (the pixels as stored), never a failure to load.
public enum ExifOrientation {
    /// The orientation in a JPEG's APP1 Exif segment, or 1 when there is none or it is malformed.
    public static func read(jpeg b: [UInt8]) -> Int {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return 1 }
        var i = 2
        // Markers until the start of scan; each segment states its length, checked before it is used.
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return 1 }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return 1 }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, length <= b.count - i - 2 else { return 1 }
            if marker == 0xE1, length >= 8 {
                let body = Array(b[(i + 4)..<(i + 2 + length)])
                if body.count >= 6, Array(body[0..<6]) == [0x45, 0x78, 0x69, 0x66, 0, 0],
                   let o = fromTIFF(Array(body[6...])) {
                    return o
                }
            }
            i += 2 + length
        }
        return 1
    }

    /// The orientation in IFD0 of a TIFF structure (the Exif payload), or nil.
    static func fromTIFF(_ t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o <= t.count - 2 else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        // 12 bytes per entry; the entries must all be there (a count past the end is malformed).
        guard count <= (t.count - ifd - 2) / 12 else { return nil }
        for k in 0..<count {
            let e = ifd + 2 + 12 * k
            guard let tag = u16(e), tag == 0x0112 else { continue }
            // SHORT, one value, stored in the first two bytes of the value field.
            guard u16(e + 2) == 3, u32(e + 4) == 1, let v = u16(e + 8), (1...8).contains(v) else { return nil }
            return v
        }
        return nil
    }

    /// The image as it should be seen: `img` (as stored) turned by `orientation`.
    public static func apply(_ orientation: Int, to img: RGBImage) -> RGBImage {
        guard (2...8).contains(orientation) else { return img }
        let w = img.width, h = img.height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = RGBImage(width: ow, height: oh)
        img.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        // The stored pixel shown at (ox, oy).
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - ox, oy)
                        case 3: (sx, sy) = (w - 1 - ox, h - 1 - oy)
                        case 4: (sx, sy) = (ox, h - 1 - oy)
                        case 5: (sx, sy) = (oy, ox)
                        case 6: (sx, sy) = (oy, h - 1 - ox)
                        case 7: (sx, sy) = (w - 1 - oy, h - 1 - ox)
                        default: (sx, sy) = (w - 1 - oy, ox)
                        }
                        for c in 0..<3 { dst[(c * oh + oy) * ow + ox] = src[(c * h + sy) * w + sx] }
                    }
                }
            }
        }
        return out
    }
}
