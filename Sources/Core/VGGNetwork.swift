import Foundation

/// VGG19's convolutional part for one image size, with every buffer planned up front. Only the stages up
/// to the deepest layer a loss needs are built. Activations are stored in the padded layout of `Ops`;
/// a ReLU works in place on its convolution's buffer.
///
/// The `compact` memory plan keeps only what the caller reads and what the input gradient needs: the
/// outputs of the stages a loss reads get buffers of their own; every other activation lives in one of
/// two work buffers of the largest size, which the backward pass then uses for its gradients. A
/// convolution's input gradient needs only its weights; a ReLU whose output is not kept leaves a 1-bit
/// mask, a max pool a byte per output saying which input won (see `BackwardRecords.swift`).
public final class VGGNetwork {
    public enum Kind: Equatable { case conv(Int), relu, pool }
    public struct Stage {
        public let name: String
        public let kind: Kind
        public let inShape: PaddedShape
        public let outShape: PaddedShape
        /// Index into `activations`; -1 means the network input.
        let input: Int
        let output: Int
    }

    /// Which 3×3 convolution algorithm the network uses. `auto` picks per layer by `Ops.winogradPays`;
    /// the forced ones let tests run the whole objective through one path (`winograd` is F(2×2, 3×3),
    /// `winograd4` F(4×4, 3×3)).
    public enum ConvPolicy: Sendable {
        case auto, direct, winograd, winograd4
        /// `RESTYLE_CONV=direct|winograd2|winograd4` (`winograd` is accepted for `winograd2`), so
        /// `restyle bench` can compare the paths in one binary on the same (noisy) machine; read once per
        /// plan, never stored in a global.
        public static var fromEnvironment: ConvPolicy {
            switch ProcessInfo.processInfo.environment["RESTYLE_CONV"] {
            case "direct": return .direct
            case "winograd", "winograd2": return .winograd
            case "winograd4": return .winograd4
            default: return .auto
            }
        }
    }

    /// What one convolution stage runs.
    public enum ConvAlgorithm: Sendable { case direct, winograd2, winograd4 }

    /// `keepAll`: every activation in a buffer of its own, all readable after `forward` (the bench's
    /// per-layer error, tests). `compact`: only the stages given as read are readable, and the backward
    /// pass runs from compact records. `forwardOnly`: as `compact`, with no records (no `backward`).
    public enum MemoryPlan: Sendable { case keepAll, compact, forwardOnly }

    /// Where each stage's output goes and what each keeps for the backward pass, computed from the shapes
    /// alone so that `MemoryEstimate` counts exactly what `init` allocates.
    struct Plan {
        var stages: [Stage] = []
        /// Floats of each activation buffer.
        var buffers: [Int] = []
        /// The two gradient buffers: indices into `buffers` (the compact plans' work buffers), or nil
        /// for buffers of their own (`keepAll`).
        var gradientBuffers: (Int, Int)?
        var gradientFloats = 0
        /// Convolutions whose pre-ReLU output a loss reads, copied aside.
        var convTaps: Set<Int> = []
        /// ReLU stages that record a bit mask; max-pool stages that record their choices.
        var reluBits: Set<Int> = []
        var poolArgmax: Set<Int> = []
        /// Read stages that live in a work buffer and are computed again in the backward pass, right
        /// before their gradient is added: the first ReLU (conv1_1 is 3 → 64 channels, 5% of conv1_2's
        /// work), whose output is the largest activation a loss reads. Readable only while `forward`
        /// reports it and while `backward` adds its gradient.
        var recomputed: Set<Int> = []

        init(height: Int, width: Int, depth: Int, pooling: Pooling, read: Set<Int>, tappedConvs: Set<Int>,
             memoryPlan: MemoryPlan) throws {
            var shape = PaddedShape(c: 3, h: height, w: width)
            let layers = Array(VGG19.layers.prefix(depth + 1))
            var shapes: [PaddedShape] = []
            for layer in layers {
                switch layer.kind {
                case .conv(_, _, let cout): shape = PaddedShape(c: cout, h: shape.h, w: shape.w)
                case .relu: break
                case .pool:
                    shape = Ops.pooledShape(shape)
                    guard shape.h >= 1, shape.w >= 1 else {
                        let side = VGG19.minimumSide(depth: shapes.count)
                        throw RestyleError.badInput("image of \(width)×\(height) is too small for layer \(layer.name); it needs at least \(side)×\(side) pixels")
                    }
                }
                shapes.append(shape)
            }
            let inputShape = PaddedShape(c: 3, h: height, w: width)
            let largest = ([inputShape] + shapes).map(\.count).max()!
            let compact = memoryPlan != .keepAll
            if compact { buffers = [largest, largest]; gradientBuffers = (0, 1) } else { gradientFloats = largest }
            // A convolution's buffer is also its ReLU's (in place): it is kept if either output is read
            // through it (a read convolution itself is copied aside, as the ReLU overwrites it).
            var current = -1, inShape = inputShape
            for (i, layer) in layers.enumerated() {
                let out = shapes[i]
                switch layer.kind {
                case .conv(let k, _, _):
                    let relu = i + 1 < layers.count && layers[i + 1].kind == .relu
                    let again = memoryPlan == .compact && current == -1 && relu && read.contains(i + 1)
                    if again { recomputed.insert(i + 1) }
                    let keep = !compact || (relu && read.contains(i + 1) && !again)
                    let output: Int
                    if keep { output = buffers.count; buffers.append(out.count) } else { output = current == 0 ? 1 : 0 }
                    stages.append(Stage(name: layer.name, kind: .conv(k), inShape: inShape, outShape: out, input: current, output: output))
                    if tappedConvs.contains(i) || (compact && read.contains(i)) { convTaps.insert(i) }
                    current = output
                case .relu:
                    stages.append(Stage(name: layer.name, kind: .relu, inShape: inShape, outShape: out, input: current, output: current))
                    if memoryPlan == .compact && current < 2 { reluBits.insert(i) }
                case .pool:
                    let output: Int
                    if !compact || read.contains(i) { output = buffers.count; buffers.append(out.count) } else { output = current == 0 ? 1 : 0 }
                    stages.append(Stage(name: layer.name, kind: .pool, inShape: inShape, outShape: out, input: current, output: output))
                    if memoryPlan == .compact && pooling == .max { poolArgmax.insert(i) }
                    current = output
                }
                inShape = out
            }
        }

        /// Every byte `init` allocates for this plan (without the weights and the Winograd scratch).
        var bytes: Int {
            var floats = buffers.reduce(0, +) + 2 * gradientFloats + stages[0].inShape.count
            for t in convTaps { floats += stages[t].outShape.count }
            var records = 0
            for r in reluBits { records += Ops.maskBytes(stages[r].outShape.count) }
            for p in poolArgmax { records += Ops.argmaxBytes(stages[p].inShape) }
            return 4 * floats + records
        }
    }

    public let weights: VGGWeights
    public let pooling: Pooling
    public let height: Int
    public let width: Int
    public let stages: [Stage]
    public let memoryPlan: MemoryPlan
    let inputBuffer: FloatBuffer
    var activations: [FloatBuffer] = []
    /// Pre-activation copies of convolutions that a loss reads (a ReLU overwrites them in place).
    var convTaps: [Int: FloatBuffer] = [:]
    /// Per ReLU stage whose output is not kept (compact plan): its mask, one bit per element.
    var reluBits: [Int: ByteBuffer] = [:]
    /// Per max-pool stage (compact plan): which input each output took.
    var poolArgmax: [Int: ByteBuffer] = [:]
    /// Stages whose output `output(_:)` may return.
    let readable: Set<Int>
    let gradA: FloatBuffer
    let gradB: FloatBuffer
    /// See `Plan.recomputed`.
    let recomputed: Set<Int>
    /// Per stage: the convolution's algorithm (`.direct` for stages that are not convolutions).
    public let algorithms: [ConvAlgorithm]
    /// Per stage: a F(4×4) convolution whose ReLU (the next stage) is applied in its output transform, and
    /// whose ReLU backward is applied in its gradient's input transform. Only where no loss reads the
    /// convolution's own (pre-ReLU) output, since that output is then never stored.
    let fusedRelu: [Bool]
    /// Shared by every Winograd convolution of this plan and by the direct ones with few input channels
    /// (they run one after another); nil if none needs it.
    let convScratch: WinogradScratch?
    /// F(4×4) weight transforms this plan keeps, by stage; the other F(4×4) stages make theirs in
    /// `transientTransform4` on every use (see `transientTiles`).
    let keptTransforms4: [Int: VGGWeights.Transform4]
    let transientTransform4: FloatBuffer?

    /// Caffe VGG's BGR channel means, in 0…255 units.
    static let meanBGR: [Float] = [103.939, 116.779, 123.68]

    /// - Parameters:
    ///   - depth: the deepest layer index (in `VGG19.layers`) that will be read.
    ///   - tappedConvs: stage indices of convolutions whose pre-ReLU output is read.
    ///   - read: with a compact plan, the stages whose output the caller reads (after `forward`, and in
    ///     `backward`'s `addGradient`); only those can be read.
    ///   - transientTiles: see `VGGNetwork.transientTiles` (tests lower it to run every path).
    public init(weights: VGGWeights, height: Int, width: Int, depth: Int, pooling: Pooling,
                tappedConvs: Set<Int> = [], read: Set<Int> = [], memoryPlan: MemoryPlan = .keepAll,
                convPolicy policy: ConvPolicy = .fromEnvironment, transientTiles: Int = VGGNetwork.transientTiles) throws {
        self.weights = weights; self.pooling = pooling; self.height = height; self.width = width
        self.memoryPlan = memoryPlan
        let plan = try Plan(height: height, width: width, depth: depth, pooling: pooling, read: read,
                            tappedConvs: tappedConvs, memoryPlan: memoryPlan)
        let stages = plan.stages
        self.stages = stages
        inputBuffer = try FloatBuffer(count: PaddedShape(c: 3, h: height, w: width).count)
        activations = try plan.buffers.map { try FloatBuffer(count: $0) }
        for t in plan.convTaps { convTaps[t] = try FloatBuffer(count: stages[t].outShape.count) }
        for r in plan.reluBits { reluBits[r] = try ByteBuffer(count: Ops.maskBytes(stages[r].outShape.count)) }
        for p in plan.poolArgmax { poolArgmax[p] = try ByteBuffer(count: Ops.argmaxBytes(stages[p].inShape)) }
        if let (a, b) = plan.gradientBuffers {
            gradA = activations[a]; gradB = activations[b]
        } else {
            gradA = try FloatBuffer(count: plan.gradientFloats)
            gradB = try FloatBuffer(count: plan.gradientFloats)
        }
        readable = memoryPlan == .keepAll ? Set(stages.indices) : read.union(plan.convTaps).subtracting(plan.recomputed)
        recomputed = plan.recomputed
        let algorithms = stages.map { st -> ConvAlgorithm in
            guard case .conv = st.kind else { return .direct }
            switch policy {
            case .auto: return Ops.winogradPays(st.inShape, cout: st.outShape.c) ? .winograd4 : .direct
            case .direct: return .direct
            case .winograd: return .winograd2
            case .winograd4: return .winograd4
            }
        }
        self.algorithms = algorithms
        fusedRelu = stages.indices.map { i in
            algorithms[i] == .winograd4 && tappedConvs.contains(i) == false && i + 1 < stages.count && stages[i + 1].kind == .relu
        }
        let smallChannels = zip(stages, algorithms).contains { st, a in
            if case .conv = st.kind { return a == .direct && Ops.usesSmallChannels(st.inShape) }
            return false
        }
        convScratch = smallChannels || algorithms.contains(where: { $0 != .direct }) ? try WinogradScratch() : nil
        // Transform the weights now, not in the first iteration; the transient ones get one buffer.
        let transforms = Self.transforms4(stages, transientTiles: transientTiles, winograd4: { algorithms[$0] == .winograd4 })
        var kept: [Int: VGGWeights.Transform4] = [:]
        for (i, (st, algorithm)) in zip(stages, algorithms).enumerated() {
            guard case .conv(let k) = st.kind else { continue }
            switch algorithm {
            case .winograd2: _ = weights.convs[k].winograd
            case .winograd4 where transforms.kept.contains(i): kept[i] = weights.convs[k].winograd4Transform()
            case .winograd4, .direct: break
            }
        }
        keptTransforms4 = kept
        transientTransform4 = transforms.transientFloats > 0 ? try FloatBuffer(count: transforms.transientFloats) : nil
    }

    /// A layer with at least this many 4×4 tiles makes its F(4×4) weight transform again for every pass
    /// instead of keeping it: there the two transforms an iteration takes cost about 1% of the layer's
    /// own work (≈ 200 flops per kernel against 2.25 multiply-adds per kernel and output pixel), and at
    /// 1024² the layers at 128² and more (conv2…conv4) would keep 160 MB of transforms.
    public static let transientTiles = 1024

    /// Which F(4×4) stages keep their weight transform, and the floats of the one buffer the others
    /// share: computed from the shapes, so that `MemoryEstimate` counts what `init` holds.
    static func transforms4(_ stages: [Stage], transientTiles: Int = transientTiles,
                            winograd4: (Int) -> Bool) -> (kept: Set<Int>, transientFloats: Int) {
        var kept = Set<Int>(), transient = 0
        for (i, st) in stages.enumerated() where winograd4(i) {
            let (tx, ty) = Ops.tiles4(st.inShape)
            if tx * ty < transientTiles {
                kept.insert(i)
            } else {
                transient = max(transient, Kernels.current.floats(cout: st.outShape.c, cin: st.inShape.c))
            }
        }
        return (kept, transient)
    }

    /// Runs `body` with stage i's F(4×4) weight transform: the kept one, or made now in the shared buffer.
    private func withTransform4(_ i: Int, _ w: VGGWeights.Conv, _ body: (UnsafePointer<Float>) -> Void) {
        if let t = keptTransforms4[i] { return t.u.withUnsafeBufferPointer { body($0.baseAddress!) } }
        let buffer = transientTransform4!
        w.taps.withUnsafeBufferPointer { Winograd.transformWeights4(taps: $0.baseAddress!, cout: w.cout, cin: w.cin, into: buffer.ptr) }
        body(buffer.ptr)
    }

    /// The stage's output in padded layout; with a compact plan, only for a stage given as read.
    public func output(_ stage: Int) -> UnsafeMutablePointer<Float> {
        if let p = live[stage] { return p }
        precondition(readable.contains(stage), "stage \(stage) is not kept by this memory plan")
        if let t = convTaps[stage] { return t.ptr }
        return activations[stages[stage].output].ptr
    }

    /// Stages readable now though not kept: a recomputed stage while it is reported or its gradient added.
    private var live: [Int: UnsafeMutablePointer<Float>] = [:]

    /// Runs convolution stage `i` from `inPtr` into `outPtr` (with its ReLU when fused).
    private func convolve(_ i: Int, _ inPtr: UnsafePointer<Float>, _ outPtr: UnsafeMutablePointer<Float>) {
        let st = stages[i]
        guard case .conv(let k) = st.kind else { return }
        let w = weights.convs[k]
        w.bias.withUnsafeBufferPointer { b in
            switch (algorithms[i], convScratch) {
            case (.winograd2, let scratch?):
                w.winograd.withUnsafeBufferPointer { u in
                    Ops.winogradForward(x: inPtr, st.inShape, u: u.baseAddress!, bias: b.baseAddress!,
                                        cout: w.cout, y: outPtr, scratch: scratch)
                }
            case (.winograd4, let scratch?):
                withTransform4(i, w) { u in
                    Ops.winograd4Forward(x: inPtr, st.inShape, u: u, bias: b.baseAddress!,
                                         cout: w.cout, y: outPtr, scratch: scratch, relu: fusedRelu[i])
                }
            default:
                w.taps.withUnsafeBufferPointer { t in
                    Ops.convForward(x: inPtr, st.inShape, taps: t.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: outPtr,
                                    scratch: convScratch)
                }
            }
        }
    }

    /// Runs the network on an RGB planar 0…255 image of this plan's size. Returns false, with the
    /// activations incomplete, if `cancel` was set (checked before each convolution). `onOutput(stage)` is
    /// called as each stage finishes; a recomputed stage can be read only then (and in `backward`).
    @discardableResult
    public func forward(_ rgb: UnsafePointer<Float>, cancel: CancelFlag? = nil, onOutput: ((Int) -> Void)? = nil) -> Bool {
        let s0 = PaddedShape(c: 3, h: height, w: width)
        let plane = width * height
        for c in 0..<3 {
            let src = rgb + (2 - c) * plane, dst = inputBuffer.ptr + c * s0.plane, m = Self.meanBGR[c]
            for y in 0..<height {
                let row = dst + s0.at(y, 0), srow = src + y * width
                for x in 0..<width { row[x] = srow[x] - m }
            }
        }
        for (i, st) in stages.enumerated() {
            let inPtr = st.input < 0 ? inputBuffer.ptr : activations[st.input].ptr
            let outPtr = activations[st.output].ptr
            switch st.kind {
            case .conv:
                if cancel?.isSet == true { return false }
                convolve(i, inPtr, outPtr)
                if let tap = convTaps[i] { tap.copy(from: outPtr, count: st.outShape.count) }
            case .relu:
                if !(i > 0 && fusedRelu[i - 1]) { Ops.reluForward(outPtr, count: st.outShape.count) }
                if let bits = reluBits[i] { Ops.reluMask(outPtr, count: st.outShape.count, bits: bits.ptr) }
            case .pool:
                Ops.poolForward(x: inPtr, st.inShape, y: outPtr, max: pooling == .max, argmax: poolArgmax[i]?.ptr)
            }
            if recomputed.contains(i) { live[i] = outPtr }
            onOutput?(i)
            live[i] = nil
        }
        return true
    }

    /// Backpropagates from the deepest stage to the input image. `addGradient(stage, grad)` adds the
    /// loss's gradient with respect to that stage's (padded) output; it is called for every stage, deepest
    /// first. Writes the gradient with respect to the RGB 0…255 image into `rgbGrad` (planar, overwritten).
    /// Returns false, with `rgbGrad` unwritten, if `cancel` was set (checked before each convolution).
    @discardableResult
    public func backward(addGradient: (Int, UnsafeMutablePointer<Float>) -> Void, rgbGrad: UnsafeMutablePointer<Float>,
                         cancel: CancelFlag? = nil) -> Bool {
        precondition(memoryPlan != .forwardOnly, "a forward-only plan keeps nothing for the backward pass")
        var g = gradA, other = gradB
        // Only the deepest stage's gradient starts from zero; every step back writes the next one whole.
        Ops.zero(g.ptr, stages[stages.count - 1].outShape)
        for i in stages.indices.reversed() {
            let st = stages[i]
            if recomputed.contains(i) {
                // The stage's input is the network input, and `other` is free until the next convolution.
                if cancel?.isSet == true { return false }
                convolve(i - 1, inputBuffer.ptr, other.ptr)
                if !fusedRelu[i - 1] { Ops.reluForward(other.ptr, count: st.outShape.count) }
                live[i] = other.ptr
            }
            addGradient(i, g.ptr)
            live[i] = nil
            switch st.kind {
            case .relu:
                if let bits = reluBits[i] {
                    Ops.reluBackward(g.ptr, bits: bits.ptr, count: st.outShape.count)
                } else if !(i > 0 && fusedRelu[i - 1]) {
                    Ops.reluBackward(g.ptr, output: activations[st.output].ptr, count: st.outShape.count)
                }
            case .conv(let k):
                if cancel?.isSet == true { return false }
                let w = weights.convs[k]
                switch (algorithms[i], convScratch) {
                case (.winograd2, let scratch?):
                    w.winograd.withUnsafeBufferPointer { u in
                        Ops.winogradBackward(dy: g.ptr, st.inShape, u: u.baseAddress!, cout: w.cout, dx: other.ptr, scratch: scratch)
                    }
                case (.winograd4, let scratch?):
                    // A fused ReLU's mask is its output, which shares this convolution's buffer (unless the
                    // ReLU's bits were applied already).
                    let mask: UnsafePointer<Float>? = fusedRelu[i] && reluBits[i + 1] == nil ? UnsafePointer(activations[st.output].ptr) : nil
                    withTransform4(i, w) { u in
                        Ops.winograd4Backward(dy: g.ptr, st.inShape, u: u, cout: w.cout, dx: other.ptr,
                                              scratch: scratch, reluOutput: mask)
                    }
                default:
                    w.taps.withUnsafeBufferPointer { t in
                        Ops.convBackward(dy: g.ptr, st.inShape, taps: t.baseAddress!, cout: w.cout, dx: other.ptr, scratch: convScratch)
                    }
                }
                swap(&g, &other)
            case .pool:
                if let argmax = poolArgmax[i] {
                    Ops.poolBackward(dy: g.ptr, argmax: argmax.ptr, st.inShape, dx: other.ptr)
                } else {
                    precondition(memoryPlan == .keepAll || pooling == .avg, "no record for max pooling's backward")
                    // Average pooling reads no input.
                    let inPtr = memoryPlan == .keepAll ? activations[st.input].ptr : g.ptr
                    Ops.poolBackward(dy: g.ptr, x: inPtr, st.inShape, dx: other.ptr, max: pooling == .max)
                }
                swap(&g, &other)
            }
        }
        let s0 = PaddedShape(c: 3, h: height, w: width)
        let plane = width * height
        for c in 0..<3 {
            let src = g.ptr + (2 - c) * s0.plane, dst = rgbGrad + c * plane
            for y in 0..<height {
                let row = src + s0.at(y, 0), drow = dst + y * width
                for x in 0..<width { drow[x] = row[x] }
            }
        }
        return true
    }
}

/// Set from any thread to abandon the iteration in flight (a quit, a signal): the network checks it
/// before each convolution, so a multi-second iteration at a large size stops within a fraction of one.
public final class CancelFlag: Sendable {
    private let flag = LockedBox(false)
    public init() {}
    public var isSet: Bool { flag.withLock { $0 } }
    public func set() { flag.withLock { $0 = true } }
    public func clear() { flag.withLock { $0 = false } }
}
