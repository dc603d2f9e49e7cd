import CImageIO
import Foundation

/// Reading PNG and JPEG files into `RGBImage`, and writing PNG with text chunks.
/// Every failure of a file is a `RestyleError.badInput` whose one-line message starts
/// with the path; only a caller's own mistake (an invalid text key) is `.internal`.
public enum ImageIO {
    /// Larger pictures are refused before any pixel memory is allocated: beyond this
    /// the optimiser could not run anyway, and a hostile header must not exhaust memory.
    public static let maxSide = 16384
    public static let maxPixels = 50_000_000
    /// Far above any PNG or JPEG within the pixel limit; guards against reading a huge
    /// unrelated file into memory just to find it is not an image.
    public static let maxFileBytes = 1 << 30

    /// The image, transparency composited over white.
    public static func read(_ path: String) throws -> RGBImage {
        try decode(bytes: try readFile(path), path: path)
    }

    /// The image's colour as stored and its alpha (0…255, one value a pixel), nil when it has none.
    public static func readWithAlpha(_ path: String) throws -> (image: RGBImage, alpha: [Float]?) {
        try decode(bytes: try readFile(path), path: path, keepAlpha: true)
    }

    /// A PNG or JPEG file's bytes as an upright image; `path` names it in errors.
    public static func decode(bytes: [UInt8], path: String) throws -> RGBImage {
        try decode(bytes: bytes, path: path, keepAlpha: false).image
    }

    static func decode(bytes: [UInt8], path: String, keepAlpha: Bool) throws -> (image: RGBImage, alpha: [Float]?) {
        let format = bytes.withUnsafeBufferPointer { imageio_sniff($0.baseAddress, $0.count) }
        guard format != IMAGEIO_FORMAT_UNKNOWN else {
            throw RestyleError.badInput("\(path): \(unsupportedFormat(bytes))")
        }
        var w: Int32 = 0, h: Int32 = 0
        try check(path) { err in
            bytes.withUnsafeBufferPointer { imageio_probe($0.baseAddress, $0.count, &w, &h, err) }
        }
        let width = Int(w), height = Int(h)
        guard width >= 1, height >= 1 else {
            throw RestyleError.badInput("\(path): image has no pixels (\(width)x\(height))")
        }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw RestyleError.badInput(
                "\(path): image is \(width)x\(height); the limit is \(maxSide) pixels per side"
                    + " and \(maxPixels / 1_000_000) megapixels")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var alpha = [UInt8](repeating: 0, count: keepAlpha ? width * height : 0)
        var hasAlpha: Int32 = 0
        try check(path) { err in
            bytes.withUnsafeBufferPointer { src in
                rgb.withUnsafeMutableBufferPointer { dst in
                    alpha.withUnsafeMutableBufferPointer { a in
                        keepAlpha ? imageio_decode_alpha(src.baseAddress, src.count, w, h, dst.baseAddress, a.baseAddress, &hasAlpha, err)
                            : imageio_decode(src.baseAddress, src.count, w, h, dst.baseAddress, err)
                    }
                }
            }
        }
        let image = planar(rgb, width: width, height: height)
        // Phones store JPEGs as the sensor saw them and say in EXIF how to turn them (JPEG has no alpha).
        if format == IMAGEIO_FORMAT_JPEG { return (ExifOrientation.apply(ExifOrientation.read(jpeg: bytes), to: image), nil) }
        return (image, hasAlpha != 0 ? alpha.map(Float.init) : nil)
    }

    /// What `-o` writes, chosen by the file's extension (never PNG bytes in a .jpg).
    public enum Format: Equatable, Sendable {
        case png
        case jpeg(quality: Int)

        /// `.png` or no extension: PNG; `.jpg`/`.jpeg`: JPEG; anything else is refused.
        public static func forPath(_ path: String, quality: Int = 92) throws -> Format {
            let ext = (path as NSString).pathExtension.lowercased()
            switch ext {
            case "png", "": return .png
            case "jpg", "jpeg": return .jpeg(quality: quality)
            default:
                throw RestyleError.badInput("\(path): cannot write .\(ext) files; use .png or .jpg")
            }
        }
    }

    /// Pixels are clamped to 0...255 and rounded, NaN becomes 0. For PNG each pair becomes a text chunk
    /// (tEXt, or iTXt when the value is not ASCII); JPEG carries no text.
    /// With `alpha` (one value a pixel, 0…255) a PNG is RGBA; `bitDepth` 16 writes 16-bit PNG samples
    /// from the floats (v/255 · 65535, rounded), with no 8-bit rounding on the way.
    public static func encode(_ image: RGBImage, format: Format = .png, text: [(String, String)] = [],
                              alpha: [Float]? = nil, bitDepth: Int = 8) throws -> [UInt8] {
        guard bitDepth == 8 || bitDepth == 16 else { throw RestyleError.internal("bit depth \(bitDepth)") }
        if let alpha, alpha.count != image.width * image.height { throw RestyleError.internal("alpha plane size") }
        let channels = format == .png && alpha != nil ? 4 : 3
        let depth = format == .png ? bitDepth : 8
        let rgb = interleaved(image, alpha: format == .png ? alpha : nil, bitDepth: depth)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var err = [CChar](repeating: 0, count: Int(IMAGEIO_ERR_LEN))
        let keys = text.map { strdup($0.0) }
        let values = text.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        let failure: UnsafePointer<CChar>? = rgb.withUnsafeBufferPointer { px in
            err.withUnsafeMutableBufferPointer { e in
                switch format {
                case .png:
                    return keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
                        values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                            imageio_png_encode_ex(px.baseAddress, Int32(image.width), Int32(image.height),
                                                  Int32(channels), Int32(depth),
                                                  k.baseAddress, v.baseAddress, Int32(text.count),
                                                  &out, &size, e.baseAddress)
                        }
                    }
                case .jpeg(let quality):
                    return imageio_jpeg_encode(px.baseAddress, Int32(image.width), Int32(image.height), Int32(quality),
                                               &out, &size, e.baseAddress)
                }
            }
        }
        defer { imageio_free(out) }
        if let failure {
            // Only a caller's mistake (bad key, empty image) or exhausted memory gets here.
            throw RestyleError.internal(String(cString: failure))
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Encodes, then writes atomically: readers see the old file or the complete new one, never a part.
    public static func write(_ image: RGBImage, to path: String, format: Format = .png, text: [(String, String)] = [],
                             alpha: [Float]? = nil, bitDepth: Int = 8) throws {
        let bytes: [UInt8]
        do { bytes = try encode(image, format: format, text: text, alpha: alpha, bitDepth: bitDepth) } catch let e as RestyleError {
            throw RestyleError.internal("\(path): \(e)")
        }
        try bytes.withUnsafeBytes { try AtomicFile.write($0, to: path) }
    }

    public static func writePNG(_ image: RGBImage, to path: String, text: [(String, String)] = []) throws {
        try write(image, to: path, format: .png, text: text)
    }

    /// The text chunks of a PNG in file order, keys and values decoded (tEXt and zTXt
    /// as Latin-1, iTXt as UTF-8).
    public static func readPNGText(_ path: String) throws -> [(String, String)] {
        let bytes = try readFile(path)
        final class Collected { var pairs: [(String, String)] = [] }
        let collected = Collected()
        let callback: imageio_text_fn = { ctx, key, text, length, utf8 in
            let box = Unmanaged<Collected>.fromOpaque(ctx!).takeUnretainedValue()
            let keyBytes = UnsafeRawBufferPointer(start: key, count: strlen(key!))
            let textBytes = UnsafeRawBufferPointer(start: text, count: length)
            let value = utf8 != 0 ? String(decoding: textBytes, as: UTF8.self) : latin1(textBytes)
            box.pairs.append((latin1(keyBytes), value))
        }
        try withExtendedLifetime(collected) {
            let ctx = Unmanaged.passUnretained(collected).toOpaque()
            try check(path) { err in
                bytes.withUnsafeBufferPointer { imageio_png_read_text($0.baseAddress, $0.count, callback, ctx, err) }
            }
        }
        return collected.pairs
    }

    // MARK: - helpers

    /// Runs a C call that returns NULL or an error line, turning the line into a throw.
    private static func check(_ path: String, _ call: (UnsafeMutablePointer<CChar>) -> UnsafePointer<CChar>?) throws {
        var err = [CChar](repeating: 0, count: Int(IMAGEIO_ERR_LEN))
        let message: String? = err.withUnsafeMutableBufferPointer { e in
            call(e.baseAddress!).map { String(cString: $0) }
        }
        if let message { throw RestyleError.badInput("\(path): \(message)") }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        try FileRead.regularFile(path, limit: maxFileBytes, what: "image")
    }

    /// For files that are not PNG or JPEG, name the format when it is a common one,
    /// since "not an image" would be wrong for a GIF.
    private static func unsupportedFormat(_ b: [UInt8]) -> String {
        func starts(_ s: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + s.count && Array(b[offset..<offset + s.count]) == s
        }
        let named: String?
        if starts(Array("GIF8".utf8)) { named = "GIF" }
        else if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { named = "WebP" }
        else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { named = "TIFF" }
        else if starts(Array("ftypavif".utf8), at: 4) { named = "AVIF" }
        else if starts(Array("ftyphei".utf8), at: 4) || starts(Array("ftypmif1".utf8), at: 4) { named = "HEIF" }
        else { named = nil }
        if let named { return "\(named) images are not supported (convert it to PNG or JPEG)" }
        return "not a PNG or JPEG image"
    }

    private static func planar(_ rgb: [UInt8], width: Int, height: Int) -> RGBImage {
        let n = width * height
        var pixels = [Float](repeating: 0, count: 3 * n)
        rgb.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    dst[i] = Float(src[3 * i])
                    dst[n + i] = Float(src[3 * i + 1])
                    dst[2 * n + i] = Float(src[3 * i + 2])
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Interleaved samples, RGB or RGBA, one byte each or two (big-endian, PNG's order) for 16 bits.
    private static func interleaved(_ image: RGBImage, alpha: [Float]? = nil, bitDepth: Int = 8) -> [UInt8] {
        let n = image.width * image.height
        let ch = alpha == nil ? 3 : 4, bytes = bitDepth / 8
        var out = [UInt8](repeating: 0, count: ch * n * bytes)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                func put(_ i: Int, _ c: Int, _ v: Float) {
                    if bytes == 1 { dst[ch * i + c] = byte(v); return }
                    let w = word(v)
                    dst[2 * (ch * i + c)] = UInt8(w >> 8); dst[2 * (ch * i + c) + 1] = UInt8(w & 255)
                }
                for c in 0..<3 {
                    for i in 0..<n { put(i, c, src[c * n + i]) }
                }
                if let alpha { for i in 0..<n { put(i, 3, alpha[i]) } }
            }
        }
        return out
    }

    /// 0…255 to 0…65535, rounded; NaN becomes 0.
    @inline(__always) static func word(_ v: Float) -> UInt16 {
        if !(v > 0) { return 0 }
        if v >= 255 { return 65535 }
        return UInt16((Double(v) * 65535 / 255).rounded())
    }

    @inline(__always) private static func byte(_ v: Float) -> UInt8 {
        if !(v > 0) { return 0 } // also NaN
        if v >= 255 { return 255 }
        return UInt8(v + 0.5)
    }
}

private func latin1(_ bytes: UnsafeRawBufferPointer) -> String {
    var s = String.UnicodeScalarView()
    for b in bytes { s.append(Unicode.Scalar(b)) }
    return String(s)
}

func describe(errno e: Int32) -> String { String(cString: strerror(e)) }

// Inside `ImageIO` and `AtomicFile` the bare names would mean their own members.
func posixRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buf, n)
    #else
    return Darwin.read(fd, buf, n)
    #endif
}

func posixWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buf, n)
    #else
    return Darwin.write(fd, buf, n)
    #endif
}
