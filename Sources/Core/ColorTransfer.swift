import Foundation

/// The colour controls of Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic
/// Style Transfer" (2016): luminance-only transfer, and matching the style's colours to the content's.
public enum ColorTransfer {
    /// YIQ's luma row (the same as BT.601 YCbCr's). Both chroma pairs are zero on greys, so their
    /// inverses map (Y, 0, 0) to (Y, Y, Y): a change of luma is the same change in R, G and B.
    static let luma: (Float, Float, Float) = (0.299, 0.587, 0.114)

    /// The luma plane, 0…255.
    public static func luminance(_ img: RGBImage) -> [Float] {
        let n = img.width * img.height
        var y = [Float](repeating: 0, count: n)
        img.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n { y[i] = luma.0 * p[i] + luma.1 * p[n + i] + luma.2 * p[2 * n + i] }
        }
        return y
    }

    /// A grey image whose three channels are `y`.
    public static func grey(_ y: [Float], width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: y + y + y)
    }

    public static func grey(_ img: RGBImage) -> RGBImage { grey(luminance(img), width: img.width, height: img.height) }

    /// `luma`'s luminance with `chroma`'s I and Q (YIQ): chroma + (Y(luma) − Y(chroma)) in every channel.
    public static func combine(luma img: RGBImage, chroma: RGBImage) -> RGBImage {
        precondition(img.width == chroma.width && img.height == chroma.height)
        let yx = luminance(img), yc = luminance(chroma)
        let n = yx.count
        var out = chroma
        out.pixels.withUnsafeMutableBufferPointer { p in
            for c in 0..<3 { for i in 0..<n { p[c * n + i] += yx[i] - yc[i] } }
        }
        return out
    }

    /// `style`'s luminance as a grey image, shifted and scaled to the mean and standard deviation of
    /// `content`'s luminance (the paper's luminance matching).
    public static func matchedLuminance(_ style: RGBImage, to content: RGBImage) -> RGBImage {
        let ys = luminance(style), yc = luminance(content)
        let (ms, ss) = meanStd(ys), (mc, sc) = meanStd(yc)
        let k = ss > 1e-6 ? sc / ss : 1
        return grey(ys.map { Float((Double($0) - ms) * k + mc) }, width: style.width, height: style.height)
    }

    static func meanStd(_ v: [Float]) -> (Double, Double) {
        let m = v.reduce(0.0) { $0 + Double($1) } / Double(max(1, v.count))
        let s2 = v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(max(1, v.count))
        return (m, s2.squareRoot())
    }

    /// Mean colour and 3×3 covariance (row-major) of the pixels.
    public static func meanCovariance(_ img: RGBImage) -> (mean: [Double], cov: [Double]) {
        let n = img.width * img.height
        var mean = [0.0, 0.0, 0.0], cov = [Double](repeating: 0, count: 9)
        img.pixels.withUnsafeBufferPointer { p in
            for c in 0..<3 {
                var s = 0.0
                for i in 0..<n { s += Double(p[c * n + i]) }
                mean[c] = s / Double(n)
            }
            for a in 0..<3 {
                for b in a..<3 {
                    var s = 0.0
                    for i in 0..<n { s += (Double(p[a * n + i]) - mean[a]) * (Double(p[b * n + i]) - mean[b]) }
                    cov[a * 3 + b] = s / Double(n); cov[b * 3 + a] = cov[a * 3 + b]
                }
            }
        }
        return (mean, cov)
    }

    /// The style's colours mapped onto the content's: x ↦ A(x − μ_s) + μ_c with A = Σ_c^½ Σ_s^−½, the
    /// symmetric square roots (the paper's "image analogies" variant, which, unlike the Cholesky one,
    /// does not depend on the order of the channels). Afterwards the style's mean and covariance are the
    /// content's. A covariance is floored at a tiny variance so a flat image stays finite. Not clamped
    /// to 0…255: that would undo the match; the network takes any values.
    public static func matchColors(_ style: RGBImage, to content: RGBImage) -> RGBImage {
        let (ms, cs) = meanCovariance(style), (mc, cc) = meanCovariance(content)
        let a = multiply(symmetricPower(cc, 0.5), symmetricPower(cs, -0.5))
        let n = style.width * style.height
        var out = style
        style.pixels.withUnsafeBufferPointer { p in
            out.pixels.withUnsafeMutableBufferPointer { q in
                for i in 0..<n {
                    let d = (0..<3).map { Double(p[$0 * n + i]) - ms[$0] }
                    for r in 0..<3 { q[r * n + i] = Float(a[r * 3] * d[0] + a[r * 3 + 1] * d[1] + a[r * 3 + 2] * d[2] + mc[r]) }
                }
            }
        }
        return out
    }

    static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { c[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j] } } }
        return c
    }

    /// M^p of a symmetric 3×3 matrix through its eigen-decomposition (cyclic Jacobi), eigenvalues
    /// floored at 1e-6 of the largest (and at 1e-6 absolutely).
    static func symmetricPower(_ m: [Double], _ power: Double) -> [Double] {
        var a = m, v: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<50 {
            var off = 0.0
            for (p, q) in [(0, 1), (0, 2), (1, 2)] { off += a[p * 3 + q] * a[p * 3 + q] }
            if off < 1e-30 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where abs(a[p * 3 + q]) > 1e-300 {
                let theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * a[p * 3 + q])
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                // A ← JᵀAJ, V ← VJ with the rotation J in the (p, q) plane.
                for k in 0..<3 {
                    let akp = a[k * 3 + p], akq = a[k * 3 + q]
                    a[k * 3 + p] = c * akp - s * akq; a[k * 3 + q] = s * akp + c * akq
                }
                for k in 0..<3 {
                    let apk = a[p * 3 + k], aqk = a[q * 3 + k]
                    a[p * 3 + k] = c * apk - s * aqk; a[q * 3 + k] = s * apk + c * aqk
                }
                for k in 0..<3 {
                    let vkp = v[k * 3 + p], vkq = v[k * 3 + q]
                    v[k * 3 + p] = c * vkp - s * vkq; v[k * 3 + q] = s * vkp + c * vkq
                }
            }
        }
        let largest = max(a[0], a[4], a[8], 0)
        let floor = max(1e-6, largest * 1e-6)
        let e = [a[0], a[4], a[8]].map { pow(max($0, floor), power) }
        var out = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { out[i * 3 + j] += v[i * 3 + k] * e[k] * v[j * 3 + k] } } }
        return out
    }
}
