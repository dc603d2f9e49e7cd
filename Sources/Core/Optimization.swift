import Foundation

/// One style-transfer optimisation, synchronous: the image, its gradient, the optimiser, the objective,
/// the loss history and the iteration count, and the operations on them. No threads and no locks: `run`,
/// `bench` and the tests drive it as a plain loop, and `Engine` drives it from its own queue.
public final class Optimization {
    public let weights: VGGWeights
    public private(set) var contentImage: RGBImage
    public private(set) var styleImage: RGBImage
    /// Full-resolution inputs when known, so an upscale resamples from them rather than from the working copy.
    var originalContent: RGBImage?
    var originalStyle: RGBImage?
    public private(set) var startImage: RGBImage
    let convPolicy: VGGNetwork.ConvPolicy

    public private(set) var settings: Settings
    var objective: Objective
    var optimizer: Optimizer
    var x: FloatBuffer, g: FloatBuffer, xPrev: FloatBuffer, gPrev: FloatBuffer
    public internal(set) var terms = LossTerms()
    /// Loss-and-gradient evaluations so far; 0 is the start image.
    public internal(set) var iteration = 0
    /// Whether the start image has been evaluated (iteration 0 exists).
    public internal(set) var evaluated = false
    /// The objective changed since the last evaluation: the next iteration re-evaluates the same image.
    var needsEvaluation = false
    public internal(set) var elapsed = 0.0
    var recent: [Double] = []
    public internal(set) var history: [HistoryPoint] = []
    public internal(set) var marks: [Int] = []
    /// Steps undone because they gave a non-finite image, loss or gradient, and steps kept.
    public private(set) var rejectedSteps = 0
    /// Set from any thread to abandon the iteration in flight; `iterate` then returns `.cancelled` with
    /// the state as before the call (so a quit or a signal never waits for a multi-second iteration).
    public let cancelFlag = CancelFlag()
    /// Read from a session that was saved while paused: the engine starts paused.
    public internal(set) var savedPaused = false
    public private(set) var acceptedSteps = 0

    public var width: Int { contentImage.width }
    public var height: Int { contentImage.height }
    /// The current image.
    public var image: RGBImage { RGBImage(width: width, height: height, pixels: x.array) }
    /// The style targets now in use, to share with another run on the same style and size.
    public var styleGrams: StyleGrams { objective.styleGrams }
    /// Nothing left to do until the iteration limit is raised or the objective changes.
    public var isFinished: Bool { evaluated && iteration >= settings.iterations }
    /// Median seconds of the last few iterations.
    public var secondsPerIteration: Double { recent.isEmpty ? 0 : recent.sorted()[recent.count / 2] }

    /// - Parameters: content and style at working size; `start` the init image at working size
    ///   (nil: derived from `settings.initKind`, which must then be content or random).
    public init(weights: VGGWeights, content: RGBImage, style: RGBImage, settings: Settings,
                start: RGBImage? = nil, originalContent: RGBImage? = nil, originalStyle: RGBImage? = nil,
                convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment, styleGrams: StyleGrams? = nil) throws {
        try settings.validate()
        self.weights = weights
        self.contentImage = content; self.styleImage = style
        self.originalContent = originalContent; self.originalStyle = originalStyle
        self.settings = settings
        self.convPolicy = convPolicy
        let s = start ?? Self.startImage(settings.initKind, content: content, seed: settings.seed)
        guard s.width == content.width, s.height == content.height else {
            throw RestyleError.internal("start image size \(s.width)×\(s.height) differs from content \(content.width)×\(content.height)")
        }
        startImage = s
        objective = try Objective(weights: weights, content: content, style: style, settings: settings, convPolicy: convPolicy,
                                  styleGrams: styleGrams)
        let n = s.pixels.count
        optimizer = try Self.makeOptimizer(settings, count: n)
        x = try FloatBuffer(count: n); g = try FloatBuffer(count: n)
        xPrev = try FloatBuffer(count: n); gPrev = try FloatBuffer(count: n)
        s.pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: n) }
    }

    static func makeOptimizer(_ s: Settings, count: Int) throws -> Optimizer {
        switch s.optimizer {
        case .adam: return try Adam(count: count)
        case .lbfgs: return try LBFGS(count: count, history: s.lbfgsHistory)
        }
    }

    /// Content, or uniform noise in 0…255 from `seed`.
    public static func startImage(_ kind: InitKind, content: RGBImage, seed: UInt64) -> RGBImage {
        switch kind {
        case .random:
            var rng = SplitMix64(seed: seed)
            return RGBImage(width: content.width, height: content.height,
                            pixels: (0..<content.pixels.count).map { _ in rng.nextUnit() * 255 })
        case .content, .image:
            return content
        }
    }

    // MARK: - Iterating

    /// What one call of `iterate` did, for whoever reports it.
    public enum Outcome: Equatable, Sendable {
        /// Iteration 0, or a re-evaluation of the same image after a change.
        case evaluated
        case stepped
        /// The step gave a non-finite image, loss or gradient and was undone; the optimiser was reset.
        case rejected(String)
        /// The loss is not finite at the current image: nothing can be done at these settings.
        case failed(String)
        /// `cancelFlag` was set: nothing changed (iteration, image, gradient and history as before).
        case cancelled
    }

    /// One iteration: the start image's evaluation first, a re-evaluation after a change of objective,
    /// else an optimiser step and the evaluation of its result. Call only while `!isFinished`.
    @discardableResult
    public func iterate() -> Outcome {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let outcome: Outcome
        if !evaluated || needsEvaluation {
            // g is overwritten by the evaluation; kept so that a cancel leaves everything as it was.
            memcpy(gPrev.ptr, g.ptr, g.count * 4)
            guard let t = objective.evaluate(x.ptr, grad: g.ptr, cancel: cancelFlag) else {
                memcpy(g.ptr, gPrev.ptr, g.count * 4)
                return .cancelled
            }
            if evaluated { iteration += 1 }
            evaluated = true; needsEvaluation = false
            terms = t
            outcome = terms.isFinite && allFinite(g) ? .evaluated
                : .failed("the loss is not finite at iteration \(iteration) (α \(settings.alpha), β \(settings.beta), γ \(settings.tv))")
        } else {
            outcome = step()
            if outcome == .cancelled { return .cancelled }
        }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        // Saturated at the limit a session may state, so a run resumed at it still saves readably.
        elapsed = min(elapsed + dt, Limits.maxElapsedSeconds)
        recent.append(dt)
        if recent.count > 9 { recent.removeFirst() }
        if terms.isFinite {
            history.append(HistoryPoint(iteration: iteration, terms: terms, alpha: settings.alpha, beta: settings.beta, tv: settings.tv))
        }
        return outcome
    }

    private func allFinite(_ b: FloatBuffer) -> Bool {
        let p = b.ptr
        for i in 0..<b.count where !p[i].isFinite { return false }
        return true
    }

    private func step() -> Outcome {
        let n = x.count
        memcpy(xPrev.ptr, x.ptr, n * 4); memcpy(gPrev.ptr, g.ptr, n * 4)
        let prevTerms = terms
        optimizer.step(x: x.ptr, grad: g.ptr, count: n, learningRate: settings.learningRate)
        let stepFinite = allFinite(x)
        if stepFinite {
            guard let t = objective.evaluate(x.ptr, grad: g.ptr, cancel: cancelFlag) else {
                // Back to before the step. L-BFGS's state stays consistent with it: its next step adds
                // a pair with y = 0, which is refused, and then takes this same step again.
                memcpy(x.ptr, xPrev.ptr, n * 4); memcpy(g.ptr, gPrev.ptr, n * 4)
                return .cancelled
            }
            terms = t
        }
        iteration += 1
        if stepFinite && terms.isFinite && allFinite(g) {
            acceptedSteps += 1
            return .stepped
        }
        memcpy(x.ptr, xPrev.ptr, n * 4); memcpy(g.ptr, gPrev.ptr, n * 4)
        terms = prevTerms
        optimizer.reset()
        rejectedSteps += 1
        return .rejected("non-finite \(stepFinite ? "loss" : "step") at iteration \(iteration): step undone, optimizer reset")
    }

    // MARK: - Changes between iterations

    /// Applies queued setting changes. A change of α, β, γ, layers or pooling re-evaluates the current
    /// image under the new objective (that counts as an iteration and adds a chart mark). Returns what
    /// is worth telling the user, if anything.
    @discardableResult
    public func apply(_ changes: [@Sendable (inout Settings) -> Void]) -> String? {
        var s = settings
        for c in changes { c(&s) }
        do { try s.validate() } catch { return "change refused: \(error)" }
        var message: String?
        if s.contentLayers != settings.contentLayers || s.styleLayers != settings.styleLayers || s.pooling != settings.pooling {
            do {
                objective = try Objective(weights: weights, content: contentImage, style: styleImage, settings: s, convPolicy: convPolicy)
            } catch {
                s.contentLayers = settings.contentLayers; s.styleLayers = settings.styleLayers; s.pooling = settings.pooling
                message = "layer change refused: \(error)"
            }
        }
        objective.setWeights(alpha: s.alpha, beta: s.beta, tv: s.tv)
        if s.optimizer != settings.optimizer || s.lbfgsHistory != settings.lbfgsHistory {
            do {
                optimizer = try Self.makeOptimizer(s, count: x.count)
                message = message ?? "optimizer: \(s.optimizer.rawValue)"
            } catch {
                s.optimizer = settings.optimizer; s.lbfgsHistory = settings.lbfgsHistory
                message = "optimizer change refused: \(error)"
            }
        }
        if s.objectiveDiffers(from: settings) {
            optimizer.reset()
            if evaluated { needsEvaluation = true }
            mark()
            if s.optimizer == .lbfgs { message = message ?? "objective changed: L-BFGS history reset" }
        }
        settings = s
        return message
    }

    func mark() {
        if marks.last != iteration { marks.append(iteration) }
    }

    /// Back to the start image; the history is kept, with a mark.
    @discardableResult
    public func restart() -> String {
        startImage.pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: x.count) }
        optimizer.reset()
        if evaluated { needsEvaluation = true }
        mark()
        return "restarted from the start image"
    }

    /// Continues at twice the working size from the current image; the style is resampled the same way.
    @discardableResult
    public func upscale() -> String {
        let w = width * 2, h = height * 2
        guard w <= Limits.maxSide, h <= Limits.maxSide, w * h <= Limits.maxPixels else {
            return "upscale refused: \(w)×\(h) is over the size limit"
        }
        let current = image
        let newContent = resized(originalContent ?? contentImage, width: w, height: h)
        let sourceStyle = originalStyle ?? styleImage
        let styleSize = fitSize(width: sourceStyle.width, height: sourceStyle.height,
                                longestSide: max(styleImage.width, styleImage.height) * 2)
        let newStyle = resized(sourceStyle, width: styleSize.width, height: styleSize.height)
        do {
            let n = 3 * w * h
            // Everything new is made before anything old is replaced, so a failure leaves the run as it was.
            let obj = try Objective(weights: weights, content: newContent, style: newStyle, settings: settings, convPolicy: convPolicy)
            let opt = try Self.makeOptimizer(settings, count: n)
            let nx = try FloatBuffer(count: n), ng = try FloatBuffer(count: n)
            let nxp = try FloatBuffer(count: n), ngp = try FloatBuffer(count: n)
            let up = resized(current, width: w, height: h)
            up.pixels.withUnsafeBufferPointer { nx.copy(from: $0.baseAddress!, count: n) }
            objective = obj; optimizer = opt
            x = nx; g = ng; xPrev = nxp; gPrev = ngp
            contentImage = newContent; styleImage = newStyle
            startImage = resized(startImage, width: w, height: h)
            if evaluated { needsEvaluation = true }
            mark()
            return "upscaled to \(w)×\(h)"
        } catch {
            return "upscale failed: \(error)"
        }
    }
}
