import Core

/// What the Winograd tests of both tile sizes share: random inputs and the comparison with direct.

func randomFloats(_ n: Int, _ rng: inout SplitMix64) -> [Float] { (0..<n).map { _ in rng.nextSymmetric() } }

/// A padded buffer with random values inside and zeros on the border.
func paddedRandom(_ s: PaddedShape, _ rng: inout SplitMix64) -> FloatBuffer {
    let b = try! FloatBuffer(count: s.count)
    for c in 0..<s.c { for y in 0..<s.h { for x in 0..<s.w { b.ptr[c * s.plane + s.at(y, x)] = rng.nextSymmetric() } } }
    return b
}

/// max |a − b| over the interior relative to max |b|, and whether a's border is zero.
func maxRelativeDiff(_ a: FloatBuffer, _ b: FloatBuffer, _ s: PaddedShape) -> (Float, Bool) {
    var diff: Float = 0, mag: Float = 0, borderZero = true
    for c in 0..<s.c {
        for y in -1...s.h {
            for x in -1...s.w {
                let i = c * s.plane + (y + 1) * s.rowStride + x + 1
                if y < 0 || y == s.h || x < 0 || x == s.w {
                    if a.ptr[i] != 0 { borderZero = false }
                } else {
                    diff = max(diff, abs(a.ptr[i] - b.ptr[i])); mag = max(mag, abs(b.ptr[i]))
                }
            }
        }
    }
    return (diff / max(mag, 1e-30), borderZero)
}
