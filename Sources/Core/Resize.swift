import Foundation

/// Resamples with a separable Lanczos-3 filter. When shrinking, the kernel is widened
/// by the shrink factor so every input pixel contributes (area-like averaging): a
/// plain 6-tap kernel would skip pixels and alias fine texture, which the style
/// statistics would then learn as noise. Results are clamped to 0...255 because the
/// kernel's negative lobes overshoot at hard edges.
public func resized(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    precondition(width >= 1 && height >= 1, "resized to \(width)x\(height)")
    if width == image.width && height == image.height { return image }
    var current = image
    if width != image.width {
        current = resampleRows(current, to: width)
    }
    if height != image.height {
        current = resampleColumns(current, to: height)
    }
    current.pixels.withUnsafeMutableBufferPointer { p in
        for i in p.indices { p[i] = min(max(p[i], 0), 255) }
    }
    return current
}

/// The size that makes the longest side `longestSide` and keeps the aspect ratio,
/// the other side rounded and at least 1. Scales up as well as down.
public func fitSize(width: Int, height: Int, longestSide: Int) -> (width: Int, height: Int) {
    precondition(width >= 1 && height >= 1 && longestSide >= 1,
                 "fitSize(\(width), \(height), \(longestSide))")
    func shorter(_ short: Int, _ long: Int) -> Int {
        max(1, Int((Double(short) * Double(longestSide) / Double(long)).rounded()))
    }
    if width >= height { return (longestSide, shorter(height, width)) }
    return (shorter(width, height), longestSide)
}

/// For each output sample, the contiguous run of input samples it reads and their
/// normalised weights (stored with a fixed stride, unused tail weights zero).
struct LanczosTaps {
    let first: [Int]
    let count: [Int]
    let weights: [Float]
    let stride: Int

    init(from inSize: Int, to outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let widen = max(scale, 1)
        let support = 3 * widen
        let stride = Int((2 * support).rounded(.up)) + 2
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Float](repeating: 0, count: outSize * stride)
        var scratch = [Double](repeating: 0, count: stride)
        for o in 0..<outSize {
            // Pixel centres sit at i + 0.5, so both edges of the image line up.
            let centre = (Double(o) + 0.5) * scale
            let lo = max(0, Int((centre - support).rounded(.down)))
            let hi = min(inSize, Int((centre + support).rounded(.up)))
            var sum = 0.0
            for i in lo..<hi {
                let w = lanczos3((Double(i) + 0.5 - centre) / widen)
                scratch[i - lo] = w
                sum += w
            }
            // Near the edges part of the kernel falls outside the image; renormalising
            // keeps a constant image constant there too.
            let n = hi - lo
            for k in 0..<n { weights[o * stride + k] = Float(scratch[k] / sum) }
            first[o] = lo
            count[o] = n
        }
        self.first = first
        self.count = count
        self.weights = weights
        self.stride = stride
    }
}

@inline(__always) private func lanczos3(_ x: Double) -> Double {
    if x == 0 { return 1 }
    if abs(x) >= 3 { return 0 }
    let px = Double.pi * x
    return 3 * sin(px) * sin(px / 3) / (px * px)
}

private func resampleRows(_ image: RGBImage, to outWidth: Int) -> RGBImage {
    let taps = LanczosTaps(from: image.width, to: outWidth)
    let inW = image.width, rows = 3 * image.height
    var out = RGBImage(width: outWidth, height: image.height)
    image.pixels.withUnsafeBufferPointer { src in
        out.pixels.withUnsafeMutableBufferPointer { dst in
            taps.weights.withUnsafeBufferPointer { w in
                for r in 0..<rows {
                    let row = src.baseAddress! + r * inW
                    for o in 0..<outWidth {
                        let base = row + taps.first[o]
                        let wb = w.baseAddress! + o * taps.stride
                        var acc: Float = 0
                        for k in 0..<taps.count[o] { acc += wb[k] * base[k] }
                        dst[r * outWidth + o] = acc
                    }
                }
            }
        }
    }
    return out
}

private func resampleColumns(_ image: RGBImage, to outHeight: Int) -> RGBImage {
    let taps = LanczosTaps(from: image.height, to: outHeight)
    let width = image.width, inH = image.height
    var out = RGBImage(width: width, height: outHeight)
    image.pixels.withUnsafeBufferPointer { src in
        out.pixels.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 {
                for o in 0..<outHeight {
                    // Whole rows at a time, so memory is read in order.
                    let target = dst.baseAddress! + (c * outHeight + o) * width
                    for k in 0..<taps.count[o] {
                        let weight = taps.weights[o * taps.stride + k]
                        let row = src.baseAddress! + (c * inH + taps.first[o] + k) * width
                        for x in 0..<width { target[x] += weight * row[x] }
                    }
                }
            }
        }
    }
    return out
}
