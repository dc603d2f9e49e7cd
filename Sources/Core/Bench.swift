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
        try SgemmYardstick(n: n).rate(repetitions: repetitions, warmUp: true)
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

extension Bench {
    /// What an autosave costs the run: the pause while the state is copied, the time the file takes to
    /// write in the background, how much longer an iteration takes while it writes, and memory.
    public struct SaveFigures: Sendable {
        public var bytes = 0
        public var historyPairs = 0
        public var snapshotSeconds = 0.0
        public var writeSeconds = 0.0
        public var iterationWhileWritingSeconds = 0.0
        public var rssGrowth = 0
    }

    /// Fills the L-BFGS history to its length (copies of the current direction: the bytes, not their
    /// values, are what a save costs), takes a snapshot as the TUI's autosave does, and writes it on
    /// another thread while an iteration runs.
    public static func measureSave(_ o: Optimization, to path: String) throws -> SaveFigures {
        var f = SaveFigures()
        let wanted = o.iteration + 1
        _ = o.apply([{ $0.iterations = max($0.iterations, wanted) }])
        if let l = o.optimizer as? LBFGS {
            while l.s.count < l.history, let sb = l.take(), let yb = l.take() {
                l.store(l.d.ptr, into: sb); l.store(l.d.ptr, into: yb)
                l.s.append(sb); l.y.append(yb)
                // ρ = 1/yᵀs of these pairs, so the next step's direction stays finite and it runs in full.
                l.rho.append(1 / max(l.dot(sb, l.d.ptr, l.count), 1e-30))
            }
            f.historyPairs = l.s.count
        }
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        let rssBefore = MemoryStats.currentRSS()
        let peakResets = MemoryStats.resetPeak()
        var snapshot: SessionSnapshot?
        f.snapshotSeconds = try seconds { snapshot = try o.sessionSnapshot() }
        let written = LockedBox<(seconds: Double, error: RestyleError?)>((0, nil))
        let done = DispatchSemaphore(value: 0)
        let s = snapshot!
        snapshot = nil
        DispatchQueue.global().async {
            let t0 = DispatchTime.now().uptimeNanoseconds
            var failure: RestyleError?
            do { try s.write(to: path) } catch { failure = error as? RestyleError ?? .internal("\(error)") }
            written.withLock { $0 = (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, failure) }
            done.signal()
        }
        f.iterationWhileWritingSeconds = seconds { o.iterate() }
        done.wait()
        let w = written.withLock { $0 }
        if let e = w.error { throw e }
        f.writeSeconds = w.seconds
        f.rssGrowth = (peakResets ? MemoryStats.peakRSS() : MemoryStats.currentRSS()) - rssBefore
        f.bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return f
    }
}

extension Bench {
    /// The float32 error of both Winograd variants against the direct convolution, on every VGG19
    /// convolution at the activations `image` really produces there.
    public struct ConvError: Sendable {
        public let name: String
        public let cin, cout, width, height: Int
        /// max |winograd − direct| / max |direct| over the layer's output, forward F(2×2), F(4×4); and over
        /// the input gradient (taking the layer's own output as the incoming gradient), F(2×2), F(4×4).
        public let forward2, forward4, backward2, backward4: Double
    }

    public static func convErrors(weights: VGGWeights, image: RGBImage) throws -> [ConvError] {
        let net = try VGGNetwork(weights: weights, height: image.height, width: image.width,
                                 depth: VGG19.layers.count - 1, pooling: .max, convPolicy: .direct)
        _ = image.pixels.withUnsafeBufferPointer { net.forward($0.baseAddress!) }
        let scratch = try WinogradScratch()
        var rows: [ConvError] = []
        for st in net.stages {
            guard case .conv(let k) = st.kind else { continue }
            let w = weights.convs[k], s = st.inShape, o = st.outShape
            let x = st.input < 0 ? net.inputBuffer.ptr : net.activations[st.input].ptr
            let direct = try FloatBuffer(count: o.count), fast = try FloatBuffer(count: o.count)
            let dxDirect = try FloatBuffer(count: s.count), dxFast = try FloatBuffer(count: s.count)
            func error(_ a: FloatBuffer, _ b: FloatBuffer, _ shape: PaddedShape) -> Double {
                var diff: Float = 0, mag: Float = 0
                for c in 0..<shape.c { for y in 0..<shape.h { for xx in 0..<shape.w {
                    let j = c * shape.plane + shape.at(y, xx)
                    diff = max(diff, abs(a.ptr[j] - b.ptr[j])); mag = max(mag, abs(b.ptr[j]))
                } } }
                return Double(diff / max(mag, .leastNormalMagnitude))
            }
            var errors: [Double] = []
            w.taps.withUnsafeBufferPointer { t in
                w.bias.withUnsafeBufferPointer { b in
                    Ops.convForward(x: x, s, taps: t.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: direct.ptr)
                    Ops.convBackward(dy: direct.ptr, s, taps: t.baseAddress!, cout: w.cout, dx: dxDirect.ptr)
                    w.winograd.withUnsafeBufferPointer { u in
                        Ops.winogradForward(x: x, s, u: u.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: fast.ptr, scratch: scratch)
                        errors.append(error(fast, direct, o))
                    }
                    w.winograd4.withUnsafeBufferPointer { u in
                        Ops.winograd4Forward(x: x, s, u: u.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: fast.ptr, scratch: scratch)
                        errors.append(error(fast, direct, o))
                    }
                    w.winograd.withUnsafeBufferPointer { u in
                        Ops.winogradBackward(dy: direct.ptr, s, u: u.baseAddress!, cout: w.cout, dx: dxFast.ptr, scratch: scratch)
                        errors.append(error(dxFast, dxDirect, s))
                    }
                    w.winograd4.withUnsafeBufferPointer { u in
                        Ops.winograd4Backward(dy: direct.ptr, s, u: u.baseAddress!, cout: w.cout, dx: dxFast.ptr, scratch: scratch)
                        errors.append(error(dxFast, dxDirect, s))
                    }
                }
            }
            rows.append(ConvError(name: st.name, cin: s.c, cout: o.c, width: s.w, height: s.h,
                                  forward2: errors[0], forward4: errors[1], backward2: errors[2], backward4: errors[3]))
        }
        return rows
    }
}

extension Bench {
    /// Seconds of one convolution layer, forward and input gradient, by each algorithm (best of a few runs),
    /// so `restyle bench --layers` shows where an iteration's time goes and which path wins where.
    public struct ConvTiming: Sendable {
        public let name: String
        public let cin, cout, width, height: Int
        /// Direct-convolution FLOPs of one pass (forward or input gradient).
        public let flops: Double
        /// [direct, F(2×2), F(4×4) with the steps over all threads, F(4×4) in blocks] seconds; forward,
        /// then input gradient. Direct is as the network runs it: blocked im2col for few input channels,
        /// shifted GEMMs otherwise.
        public let forward, backward: [Double]
        /// The algorithm the network chooses here by default.
        public let chosen: String
    }

    public static func convTimings(weights: VGGWeights, width: Int, height: Int, depth: Int, repetitions: Int = 3) throws -> [ConvTiming] {
        let net = try VGGNetwork(weights: weights, height: height, width: width, depth: depth, pooling: .max, convPolicy: .direct)
        let image = syntheticImage(width: width, height: height, seed: 1)
        _ = image.pixels.withUnsafeBufferPointer { net.forward($0.baseAddress!) }
        let scratch = try WinogradScratch(schedule: .sideBySide), blocks = try WinogradScratch(schedule: .defaultBlocks)
        var rows: [ConvTiming] = []
        func best(_ body: () -> Void) -> Double {
            body()  // warm-up: first touch of the output, weight transforms
            var t = Double.infinity
            for _ in 0..<repetitions {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return t
        }
        for st in net.stages {
            guard case .conv(let k) = st.kind else { continue }
            let w = weights.convs[k], s = st.inShape, o = st.outShape
            let x = st.input < 0 ? net.inputBuffer.ptr : net.activations[st.input].ptr
            let y = try FloatBuffer(count: o.count), dx = try FloatBuffer(count: s.count)
            Ops.zeroBorders(y.ptr, o)
            var fwd: [Double] = [], bwd: [Double] = []
            w.taps.withUnsafeBufferPointer { t in
                w.bias.withUnsafeBufferPointer { b in
                    fwd.append(best { Ops.convForward(x: x, s, taps: t.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: y.ptr, scratch: scratch) })
                    bwd.append(best { Ops.convBackward(dy: y.ptr, s, taps: t.baseAddress!, cout: w.cout, dx: dx.ptr, scratch: scratch) })
                    w.winograd.withUnsafeBufferPointer { u in
                        fwd.append(best { Ops.winogradForward(x: x, s, u: u.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: y.ptr, scratch: scratch) })
                        bwd.append(best { Ops.winogradBackward(dy: y.ptr, s, u: u.baseAddress!, cout: w.cout, dx: dx.ptr, scratch: scratch) })
                    }
                    w.winograd4.withUnsafeBufferPointer { u in
                        for sc in [scratch, blocks] {
                            fwd.append(best { Ops.winograd4Forward(x: x, s, u: u.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: y.ptr, scratch: sc) })
                            bwd.append(best { Ops.winograd4Backward(dy: y.ptr, s, u: u.baseAddress!, cout: w.cout, dx: dx.ptr, scratch: sc) })
                        }
                    }
                }
            }
            rows.append(ConvTiming(name: st.name, cin: s.c, cout: o.c, width: s.w, height: s.h,
                                   flops: 2 * Double(o.c * s.c * 9 * s.h * s.w), forward: fwd, backward: bwd,
                                   chosen: Ops.winogradPays(s, cout: o.c) ? "F(4×4)" : "direct"))
        }
        return rows
    }
}

/// The machine's sgemm rate on n×n×n products (n = 2048 by default, about 17 GFLOP each), with its
/// buffers kept so that it can be measured again between iterations: on a shared machine the rate moves
/// by a third within a minute, so a ratio to one rate measured after the run says more about when it was
/// measured than about the code.
public final class SgemmYardstick {
    let n: Int
    let a: FloatBuffer, b: FloatBuffer, c: FloatBuffer

    public init(n: Int = 2048) throws {
        self.n = n
        a = try FloatBuffer(count: n * n); b = try FloatBuffer(count: n * n); c = try FloatBuffer(count: n * n)
        var rng = SplitMix64(seed: 1)
        for i in 0..<(n * n) { a.ptr[i] = rng.nextSymmetric(); b.ptr[i] = rng.nextSymmetric() }
    }

    /// Best GFLOP/s over `repetitions` products, after one untimed one when `warmUp` (thread start, page
    /// faults). OpenBLAS's own pool, switched on once around them all (switching per call would time its
    /// threads waking up): the yardstick is what the machine's BLAS does with all its cores.
    public func rate(repetitions: Int, warmUp: Bool = false) -> Double {
        var best = 0.0
        Threads.withBLASPool {
            for r in 0..<(repetitions + (warmUp ? 1 : 0)) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a.ptr, Int32(n), b.ptr, Int32(n), 0, c.ptr, Int32(n))
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if r > 0 || !warmUp { best = max(best, 2 * Double(n * n * n) / dt / 1e9) }
            }
        }
        return best
    }
}
