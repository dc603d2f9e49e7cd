import CBLAS
import Foundation

/// Figures for `restyle bench`: the engine's speed against this machine's own sgemm, measured in the same
/// process (these machines are noisy, so a bare seconds-per-iteration says little on its own).
public enum Bench {
    /// Direct-convolution FLOPs of one iteration: forward through the deepest layer the loss reads, plus the
    /// input-gradient backward (the same work again; no weight gradients are needed).
    public static func convFlops(width: Int, height: Int, settings: Settings) -> Double {
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? 0
        var h = height, w = width, flops = 0.0
        for layer in VGG19.layers.prefix(depth + 1) {
            switch layer.kind {
            case .conv(_, let cin, let cout): flops += 2 * Double(cout * cin * 9 * h * w)
            case .pool: h /= 2; w /= 2
            case .relu: break
            }
        }
        return 2 * flops
    }

    /// Best GFLOP/s of an n×n×n sgemm over a few repetitions: what this machine can do right now
    /// (best rather than median, so a neighbour's burst lowers the ratio rather than flattering it).
    public static func sgemmRate(n: Int = 2048, repetitions: Int = 7) throws -> Double {
        let a = try FloatBuffer(count: n * n), b = try FloatBuffer(count: n * n), c = try FloatBuffer(count: n * n)
        var rng = SplitMix64(seed: 1)
        for i in 0..<(n * n) { a.ptr[i] = rng.nextSymmetric(); b.ptr[i] = rng.nextSymmetric() }
        var rates: [Double] = []
        for _ in 0..<(repetitions + 1) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a.ptr, Int32(n), b.ptr, Int32(n), 0, c.ptr, Int32(n))
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            rates.append(2 * Double(n * n * n) / dt / 1e9)
        }
        rates.removeFirst() // warm-up: thread start, page faults
        return rates.max()!
    }

    /// A smooth synthetic picture (no files needed) with structure at several scales.
    public static func syntheticImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var rng = SplitMix64(seed: seed)
        let f = (0..<9).map { _ in Double(rng.nextUnit()) * 0.2 + 0.02 }
        var img = RGBImage(width: width, height: height)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    let v = sin(Double(x) * f[c * 3]) * cos(Double(y) * f[c * 3 + 1]) + sin(Double(x + y) * f[c * 3 + 2])
                    img[c, y, x] = Float(127.5 + 60 * v) + rng.nextSymmetric() * 10
                }
            }
        }
        return img
    }
}
