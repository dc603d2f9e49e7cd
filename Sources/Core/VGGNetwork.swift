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
    /// the forced ones let tests run the whole objective through one path.
    public enum ConvPolicy: Sendable {
        case auto, direct, winograd
        /// `RESTYLE_CONV=direct|winograd`, so `restyle bench` can compare the paths in one binary on the
        /// same (noisy) machine; read once per plan, never stored in a global.
        public static var fromEnvironment: ConvPolicy {
            switch ProcessInfo.processInfo.environment["RESTYLE_CONV"] {
            case "direct": return .direct
            case "winograd": return .winograd
            default: return .auto
            }
        }
    }

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
    /// Per stage: does that convolution run by Winograd.
    let useWinograd: [Bool]
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
        useWinograd = stages.map { st in
            guard case .conv = st.kind else { return false }
            switch policy {
            case .auto: return Ops.winogradPays(st.inShape, cout: st.outShape.c)
            case .direct: return false
            case .winograd: return true
            }
        }
        winogradScratch = useWinograd.contains(true) ? try WinogradScratch() : nil
        // Transform the weights now, not in the first iteration.
        for (st, wino) in zip(stages, useWinograd) where wino {
            if case .conv(let k) = st.kind { _ = weights.convs[k].winograd }
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
                    if useWinograd[i], let scratch = winogradScratch {
                        w.winograd.withUnsafeBufferPointer { u in
                            Ops.winogradForward(x: inPtr, st.inShape, u: u.baseAddress!, bias: b.baseAddress!,
                                                cout: w.cout, y: outPtr, scratch: scratch)
                        }
                    } else {
                        w.taps.withUnsafeBufferPointer { t in
                            Ops.convForward(x: inPtr, st.inShape, taps: t.baseAddress!, bias: b.baseAddress!, cout: w.cout, y: outPtr)
                        }
                    }
                }
                if let tap = convTaps[i] { tap.copy(from: outPtr, count: st.outShape.count) }
            case .relu:
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
                Ops.reluBackward(g.ptr, output: activations[st.output].ptr, count: st.outShape.count)
            case .conv(let k):
                if cancel?.isSet == true { return false }
                let w = weights.convs[k]
                if useWinograd[i], let scratch = winogradScratch {
                    w.winograd.withUnsafeBufferPointer { u in
                        Ops.winogradBackward(dy: g.ptr, st.inShape, u: u.baseAddress!, cout: w.cout, dx: other.ptr, scratch: scratch)
                    }
                } else {
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
