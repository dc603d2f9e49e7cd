import CBLAS
import Foundation

/// An optimiser turns the gradient at `x` into a new `x`, in place. One call is one step; the engine
/// evaluates the loss and gradient once per call, so iterations compare fairly across optimisers.
public protocol Optimizer: AnyObject {
    var kind: OptimizerKind { get }
    /// Forget curvature or moments (the objective changed, or a step went non-finite).
    func reset()
    func step(x: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, count: Int, learningRate: Double)
    /// The state needed to continue exactly, written from the live buffers, and its inverse, which
    /// checks every count and value before using it.
    func encode<S: ByteSink>(into w: inout BinaryWriter<S>) throws
    func decode(from r: inout BinaryReader, count: Int) throws
}

/// Adam with bias correction; the step is in pixel units and the image is clamped to 0…255 after it.
public final class Adam: Optimizer {
    public let kind = OptimizerKind.adam
    public var beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
    var m: FloatBuffer, v: FloatBuffer
    public private(set) var t = 0

    public init(count: Int) throws {
        m = try FloatBuffer(count: count); v = try FloatBuffer(count: count)
    }
    public func reset() { m.zero(); v.zero(); t = 0 }

    public func step(x: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>, count: Int, learningRate: Double) {
        // Saturated at the limit the reader enforces, so a session resumed at the limit still saves
        // one it can read; the bias correction is exactly 1 long before.
        t = min(t + 1, Limits.maxIterations)
        let b1 = beta1, b2 = beta2, eps = epsilon
        let c1 = 1 - Float(pow(Double(b1), Double(t))), c2 = 1 - Float(pow(Double(b2), Double(t)))
        let lr = Float(learningRate)
        let mp = m.ptr, vp = v.ptr
        let big = Float.greatestFiniteMagnitude
        for i in 0..<count {
            let gi = g[i]
            // Saturated, never infinite: a finite gradient over 1.8e19 (a session can hold one) squares
            // to infinity, and the moments are saved, so the session could not be read back (found by
            // the session-resume fuzzer). For any gradient below that nothing changes.
            mp[i] = min(big, max(-big, b1 * mp[i] + (1 - b1) * gi))
            vp[i] = min(big, b2 * vp[i] + (1 - b2) * gi * gi)
            let mh = mp[i] / c1, vh = vp[i] / c2
            x[i] = min(255, max(0, x[i] - lr * mh / (vh.squareRoot() + eps)))
        }
    }

    public func encode<S: ByteSink>(into w: inout BinaryWriter<S>) throws {
        try w.int(t); try w.floats(m.ptr, m.count); try w.floats(v.ptr, v.count)
    }
    public func decode(from r: inout BinaryReader, count: Int) throws {
        t = try r.int(in: 0...Limits.maxIterations, "Adam step count")
        try r.floats(into: m.ptr, count: count, "Adam first moment")
        try r.floats(into: v.ptr, count: count, "Adam second moment")
        for i in 0..<count where v.ptr[i] < 0 { throw r.corrupt("Adam second moment is negative") }
    }
}

/// L-BFGS after PyTorch's `LBFGS(lr, max_iter=1, history_size)`: two-loop recursion, a fixed step of `lr`,
/// curvature pairs kept only when yᵀs > 1e-10; the first step is scaled to move pixels by `lr` levels.
/// With `precision` `.half` the pairs are stored as bfloat16 (two to a float of their buffer), with `.byte`
/// as `BlockInt8`; either way ρ and the scale are computed from the stored values, so the recursion uses
/// one consistent set of pairs.
public final class LBFGS: Optimizer {
    public let kind = OptimizerKind.lbfgs
    public let history: Int
    public let precision: LBFGSPrecision
    let count: Int
    /// Floats of one pair vector's buffer.
    let pairFloats: Int
    var s: [FloatBuffer] = []     // oldest first
    var y: [FloatBuffer] = []
    var rho: [Double] = []
    var spare: [FloatBuffer] = [] // recycled pairs, so a full history allocates nothing more
    var hDiag = 1.0
    var steps = 0
    var lastT = 1.0
    let d: FloatBuffer, prevGrad: FloatBuffer, q: FloatBuffer
    var alpha: [Double]

    public init(count: Int, history: Int, precision: LBFGSPrecision = .float) throws {
        self.count = count; self.history = min(max(1, history), Limits.maxHistory); self.precision = precision
        pairFloats = Self.pairBytes(count: count, precision: precision) / 4
        d = try FloatBuffer(count: count); prevGrad = try FloatBuffer(count: count); q = try FloatBuffer(count: count)
        alpha = [Double](repeating: 0, count: self.history)
    }

    public func reset() {
        while !s.isEmpty { recycle(s.removeLast()) }
        while !y.isEmpty { recycle(y.removeLast()) }
        rho.removeAll()
        hDiag = 1; steps = 0
        // The direction is unused until the next step recomputes it, but it is saved, and after a step
        // undone for being non-finite it is what was non-finite: kept, it made a session that could
        // not be read back (found by the session-resume fuzzer).
        d.zero()
    }

    /// A vector for a new curvature pair; nil when memory has run out, and the history then simply stays
    /// shorter (the run goes on rather than dies mid-step).
    func take() -> FloatBuffer? { spare.popLast() ?? (try? FloatBuffer(count: pairFloats)) }

    /// Bytes of one vector of a curvature pair of `count` floats.
    public static func pairBytes(count: Int, precision: LBFGSPrecision) -> Int {
        switch precision {
        case .float: return 4 * count
        case .half: return 4 * ((count + 1) / 2)
        case .byte: return 4 * BlockInt8.floats(count: count)
        }
    }

    @inline(__always) static func halves(_ b: FloatBuffer) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(b.ptr).assumingMemoryBound(to: UInt16.self)
    }

    /// Stores `v` (`count` floats) as a pair vector in this optimiser's precision.
    func store(_ v: UnsafePointer<Float>, into b: FloatBuffer) {
        switch precision {
        case .float: memcpy(b.ptr, v, count * 4)
        case .half:
            let h = Self.halves(b)
            for i in 0..<count { h[i] = BFloat16.pack(v[i]) }
        case .byte: BlockInt8.pack(v, count: count, into: b.ptr)
        }
    }

    /// aᵀb in double, `a` a stored pair vector.
    func dot(_ a: FloatBuffer, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        switch precision {
        case .float: return cblas_dsdot(Int32(n), a.ptr, 1, b, 1)
        case .half: return BFloat16.dot(Self.halves(a), b, count: n)
        case .byte: return BlockInt8.dot(a.ptr, b, count: n)
        }
    }

    /// y += alpha·x, `x` a stored pair vector.
    func axpy(_ alpha: Float, _ x: FloatBuffer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch precision {
        case .float: cblas_saxpy(Int32(n), alpha, x.ptr, 1, y, 1)
        case .half: BFloat16.axpy(alpha, Self.halves(x), y, count: n)
        case .byte: BlockInt8.axpy(alpha, x.ptr, y, count: n)
        }
    }

    /// Keeps a dropped pair for reuse only if nothing else holds it. A session snapshot being written on
    /// another thread may: that pair is left to it (and freed when the write ends), since overwriting it
    /// would corrupt the file. The check races only towards "held" (a snapshot can release a pair
    /// concurrently, never take a new one), so a pair is at worst freed rather than reused.
    func recycle(_ b: consuming FloatBuffer) {
        if isKnownUniquelyReferenced(&b) { spare.append(b) }
    }

    /// New curvature pair from the previous step: y = g − g_prev, s = t·d, kept only when yᵀs > 1e-10.
    /// Once the history is full, the dropped oldest pair is recycled, so nothing more is allocated.
    func addPair(grad g: UnsafePointer<Float>, count n: Int) {
        let N = Int32(n)
        guard let yb = take() else { return }
        guard let sb = take() else { spare.append(yb); return }
        let ys: Double, yy: Double
        switch precision {
        case .float:
            for i in 0..<n { yb.ptr[i] = g[i] - prevGrad.ptr[i]; sb.ptr[i] = Float(lastT) * d.ptr[i] }
            ys = cblas_dsdot(N, yb.ptr, 1, sb.ptr, 1)
            yy = ys > 1e-10 ? cblas_dsdot(N, yb.ptr, 1, yb.ptr, 1) : 0
        case .byte:
            // q and d are free until `step` recomputes them: s and y are made in them, packed, and read
            // back as stored, so yᵀs and yᵀy are those of the stored pair.
            for i in 0..<n { q.ptr[i] = Float(lastT) * d.ptr[i]; d.ptr[i] = g[i] - prevGrad.ptr[i] }
            BlockInt8.pack(q.ptr, count: n, into: sb.ptr); BlockInt8.pack(d.ptr, count: n, into: yb.ptr)
            BlockInt8.unpack(sb.ptr, count: n, into: q.ptr); BlockInt8.unpack(yb.ptr, count: n, into: d.ptr)
            ys = BlockInt8.dot(yb.ptr, q.ptr, count: n)
            yy = ys > 1e-10 ? BlockInt8.dot(yb.ptr, d.ptr, count: n) : 0
        case .half:
            let yh = Self.halves(yb), sh = Self.halves(sb)
            var sumYS = 0.0, sumYY = 0.0
            for i in 0..<n {
                yh[i] = BFloat16.pack(g[i] - prevGrad.ptr[i]); sh[i] = BFloat16.pack(Float(lastT) * d.ptr[i])
                let yv = Double(BFloat16.unpack(yh[i])), sv = Double(BFloat16.unpack(sh[i]))
                sumYS += yv * sv; sumYY += yv * yv
            }
            ys = sumYS; yy = sumYY
        }
        if ys > 1e-10 {
            if s.count == history {
                recycle(s.removeFirst()); recycle(y.removeFirst()); rho.removeFirst()
            }
            s.append(sb); y.append(yb); rho.append(1 / ys)
            hDiag = ys / yy
        } else {
            spare.append(yb); spare.append(sb)
        }
    }

    public func step(x: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>, count n: Int, learningRate: Double) {
        let N = Int32(n)
        if steps == 0 {
            for i in 0..<n { d.ptr[i] = -g[i] }
        } else {
            addPair(grad: g, count: n)
            for i in 0..<n { q.ptr[i] = -g[i] }
            for i in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[i] = dot(s[i], q.ptr, n) * rho[i]
                axpy(Float(-alpha[i]), y[i], q.ptr, n)
            }
            for i in 0..<n { d.ptr[i] = q.ptr[i] * Float(hDiag) }
            for i in 0..<s.count {
                let be = dot(y[i], d.ptr, n) * rho[i]
                axpy(Float(alpha[i] - be), s[i], d.ptr, n)
            }
        }
        memcpy(prevGrad.ptr, g, n * 4)
        var t = learningRate
        if steps == 0 {
            // PyTorch scales the first step by min(1, 1/‖g‖₁). On 0…255 pixels with a relative loss the
            // gradient is ~1e-5 per pixel, so that step (and the following unscaled ones, until a pair
            // passes yᵀs > 1e-10) moves nothing visible for ~20 iterations. Instead the first step moves
            // the most-changed pixel by `lr` levels, and curvature pairs are usable from the second step.
            var gmax: Float = 0
            for i in 0..<n { gmax = max(gmax, abs(g[i])) }
            t = learningRate / Double(max(gmax, 1e-30))
        }
        // Not a descent direction (stale curvature): fall back to steepest descent from scratch.
        if cblas_dsdot(N, g, 1, d.ptr, 1) > -1e-12 && steps > 0 {
            reset()
            step(x: x, grad: g, count: n, learningRate: learningRate)
            return
        }
        cblas_saxpy(N, Float(t), d.ptr, 1, x, 1)
        lastT = t
        // Only zero or not matters; saturated at the reader's limit so that a session resumed at it
        // saves one it can read (found by the session-resume fuzzer: steps 100000000 saved as 100000001).
        steps = min(steps + 1, Limits.maxIterations)
    }

    public func encode<S: ByteSink>(into w: inout BinaryWriter<S>) throws {
        try w.int(steps); try w.double(hDiag); try w.double(lastT); try w.int(s.count)
        try w.floats(d.ptr, count); try w.floats(prevGrad.ptr, count)
        // Pairs are never written once made (`recycle` reuses only a pair nothing else holds), so a
        // snapshot may keep them by reference: saving a full history copies nothing.
        for i in 0..<s.count { try w.double(rho[i]); try w.floats(unchanging: s[i]); try w.floats(unchanging: y[i]) }
    }
    public func decode(from r: inout BinaryReader, count n: Int) throws {
        reset()
        steps = try r.int(in: 0...Limits.maxIterations, "L-BFGS step count")
        hDiag = try r.finiteDouble("L-BFGS scale"); lastT = try r.finiteDouble("L-BFGS step")
        let pairs = try r.int(in: 0...history, "L-BFGS history length")
        try r.floats(into: d.ptr, count: n, "L-BFGS direction"); try r.floats(into: prevGrad.ptr, count: n, "L-BFGS gradient")
        // Each pair is 8 + 2·(8 + pair bytes) bytes: refuse a count the file cannot hold before allocating any.
        guard pairs <= r.remaining / (24 + 2 * 4 * pairFloats) else { throw r.corrupt("L-BFGS history longer than the file") }
        for _ in 0..<pairs {
            guard let sb = take(), let yb = take() else { throw RestyleError.outOfMemory("L-BFGS history of \(pairs) pairs") }
            rho.append(try r.finiteDouble("L-BFGS ρ"))
            try readPair(&r, into: sb, "L-BFGS s"); try readPair(&r, into: yb, "L-BFGS y")
            s.append(sb); y.append(yb)
        }
    }

    /// One stored pair vector, as `encode` wrote it: floats, bfloat16 values two to a float (an odd
    /// count's last one padded with zero), or `BlockInt8` blocks; every value finite.
    func readPair(_ r: inout BinaryReader, into b: FloatBuffer, _ what: String) throws {
        if precision == .float { return try r.floats(into: b.ptr, count: count, what) }
        try r.words(into: b.ptr, count: pairFloats, what)
        if precision == .byte {
            if let problem = BlockInt8.problem(b.ptr, count: count) { throw r.corrupt("\(what) holds \(problem)") }
            return
        }
        let h = Self.halves(b)
        for i in 0..<count where !BFloat16.isFinite(h[i]) { throw r.corrupt("\(what) holds non-finite values") }
        if count % 2 == 1 && h[count] != 0 { throw r.corrupt("\(what) has a non-zero pad") }
    }
}
