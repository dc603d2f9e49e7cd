import Foundation

/// VGG19's convolutional part for one image size, with every buffer planned up front. Only the stages up
/// to the deepest layer a loss needs are built. Activations are stored in the padded layout of `Ops`;
/// a ReLU works in place on its convolution's buffer (its output is all the backward pass needs).
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

    public let weights: VGGWeights
    public let pooling: Pooling
    public let height: Int
    public let width: Int
    public let stages: [Stage]
    let inputBuffer: FloatBuffer
    var activations: [FloatBuffer] = []
    /// Pre-activation copies of convolutions that a loss reads (a ReLU overwrites them in place).
    var convTaps: [Int: FloatBuffer] = [:]
    let gradA: FloatBuffer
    let gradB: FloatBuffer
    /// Per stage: the convolution's algorithm (`.direct` for stages that are not convolutions).
    public let algorithms: [ConvAlgorithm]
    /// Per stage: a F(4×4) convolution whose ReLU (the next stage) is applied in its output transform, and
    /// whose ReLU backward is applied in its gradient's input transform. Only where no loss reads the
    /// convolution's own (pre-ReLU) output, since that output is then never stored.
    let fusedRelu: [Bool]
    /// Shared by every Winograd convolution of this plan (they run one after another); nil if none does.
    let winogradScratch: WinogradScratch?

    /// Caffe VGG's BGR channel means, in 0…255 units.
    static let meanBGR: [Float] = [103.939, 116.779, 123.68]

    /// - Parameters:
    ///   - depth: the deepest layer index (in `VGG19.layers`) that will be read.
    ///   - tappedConvs: stage indices of convolutions whose pre-ReLU output is read.
    public init(weights: VGGWeights, height: Int, width: Int, depth: Int, pooling: Pooling,
                tappedConvs: Set<Int> = [], convPolicy policy: ConvPolicy = .fromEnvironment) throws {
        self.weights = weights; self.pooling = pooling; self.height = height; self.width = width
        var stages: [Stage] = []
        var shape = PaddedShape(c: 3, h: height, w: width)
        var current = -1, nextBuffer = 0
        var shapes: [PaddedShape] = []
        for layer in VGG19.layers.prefix(depth + 1) {
            switch layer.kind {
            case .conv(let k, _, let cout):
                let out = PaddedShape(c: cout, h: shape.h, w: shape.w)
                stages.append(Stage(name: layer.name, kind: .conv(k), inShape: shape, outShape: out, input: current, output: nextBuffer))
                shapes.append(out); current = nextBuffer; nextBuffer += 1; shape = out
            case .relu:
                stages.append(Stage(name: layer.name, kind: .relu, inShape: shape, outShape: shape, input: current, output: current))
            case .pool:
                let out = Ops.pooledShape(shape)
                guard out.h >= 1, out.w >= 1 else {
                    let side = VGG19.minimumSide(depth: stages.count)
                    throw RestyleError.badInput("image of \(width)×\(height) is too small for layer \(layer.name); it needs at least \(side)×\(side) pixels")
                }
                stages.append(Stage(name: layer.name, kind: .pool, inShape: shape, outShape: out, input: current, output: nextBuffer))
                shapes.append(out); current = nextBuffer; nextBuffer += 1; shape = out
            }
        }
        self.stages = stages
        inputBuffer = try FloatBuffer(count: PaddedShape(c: 3, h: height, w: width).count)
        activations = try shapes.map { try FloatBuffer(count: $0.count) }
        for t in tappedConvs where t < stages.count { convTaps[t] = try FloatBuffer(count: stages[t].outShape.count) }
        let maxCount = ([PaddedShape(c: 3, h: height, w: width)] + shapes).map(\.count).max()!
        gradA = try FloatBuffer(count: maxCount)
        gradB = try FloatBuffer(count: maxCount)
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
        winogradScratch = algorithms.contains(where: { $0 != .direct }) ? try WinogradScratch() : nil
        // Transform the weights now, not in the first iteration.
        for (st, algorithm) in zip(stages, algorithms) {
            guard case .conv(let k) = st.kind else { continue }
            switch algorithm {
            case .winograd2: _ = weights.convs[k].winograd
            case .winograd4: _ = weights.convs[k].winograd4
            case .direct: break
            }
        }
    }

    /// The stage's output in padded layout.
    public func output(_ stage: Int) -> UnsafeMutablePointer<Float> {
        if let t = convTaps[stage] { return t.ptr }
        return activations[stages[stage].output].ptr
    }

    /// Runs the network on an RGB planar 0…255 image of this plan's size. Returns false, with the
    /// activations incomplete, if `cancel` was set (checked before each convolution).
    @discardableResult
    public func forward(_ rgb: UnsafePointer<Float>, cancel: CancelFlag? = nil) -> Bool {
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
            case .conv(let k):
                if cancel?.isSet == true { return false }
                let w = weights.convs[k]
                w.bias.withUnsafeBufferPointer { b in
                    switch (algorithms[i], winogradScratch) {
                    case (.winograd2, let scratch?):
                        w.winograd.withUnsafeBufferPointer { u in
                            Ops.winogradForward(x: inPtr, st.inShape, u: u.baseAddress!, bias: b.baseAddress!,
                                                cout: w.cout, y: outPtr, scratch: scratch)
                        }
                    case (.winograd4, let scratch?):
                        w.winograd4.withUnsafeBufferPointer { u in
                            Ops.winograd4Forward(x: inPtr, st.inShape, u: u.baseAddress!, bias: b.baseAddress!,
                                                 cout: w.cout, y: outPtr, scratch: scratch, relu: fusedRelu[i])
                        }
                    default:
                        w.taps.withUnsafeBufferPointer { t in
                            Ops.convForward(x: inPtr, st.inShape, taps: t.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: outPtr)
                        }
                    }
                }
                if let tap = convTaps[i] { tap.copy(from: outPtr, count: st.outShape.count) }
            case .relu:
                if i > 0 && fusedRelu[i - 1] { continue }
                Ops.reluForward(outPtr, count: st.outShape.count)
            case .pool:
                Ops.poolForward(x: inPtr, st.inShape, y: outPtr, max: pooling == .max)
            }
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
        var g = gradA, other = gradB
        g.zero()
        for i in stages.indices.reversed() {
            let st = stages[i]
            addGradient(i, g.ptr)
            switch st.kind {
            case .relu:
                if i > 0 && fusedRelu[i - 1] { continue }
                Ops.reluBackward(g.ptr, output: activations[st.output].ptr, count: st.outShape.count)
            case .conv(let k):
                if cancel?.isSet == true { return false }
                let w = weights.convs[k]
                switch (algorithms[i], winogradScratch) {
                case (.winograd2, let scratch?):
                    w.winograd.withUnsafeBufferPointer { u in
                        Ops.winogradBackward(dy: g.ptr, st.inShape, u: u.baseAddress!, cout: w.cout, dx: other.ptr, scratch: scratch)
                    }
                case (.winograd4, let scratch?):
                    // A fused ReLU's mask is its output, which shares this convolution's buffer.
                    let mask: UnsafePointer<Float>? = fusedRelu[i] ? UnsafePointer(activations[st.output].ptr) : nil
                    w.winograd4.withUnsafeBufferPointer { u in
                        Ops.winograd4Backward(dy: g.ptr, st.inShape, u: u.baseAddress!, cout: w.cout, dx: other.ptr,
                                              scratch: scratch, reluOutput: mask)
                    }
                default:
                    w.taps.withUnsafeBufferPointer { t in
                        Ops.convBackward(dy: g.ptr, st.inShape, taps: t.baseAddress!, cout: w.cout, dx: other.ptr)
                    }
                }
                swap(&g, &other)
            case .pool:
                let inPtr = activations[st.input].ptr
                Ops.poolBackward(dy: g.ptr, x: inPtr, st.inShape, dx: other.ptr, max: pooling == .max)
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
