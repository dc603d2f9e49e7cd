import Foundation

/// One style-transfer optimisation, synchronous: the image, its gradient, the optimiser, the objective,
/// the loss history and the iteration count, and the operations on them. No threads and no locks: `run`,
/// `bench` and the tests drive it as a plain loop, and `Engine` drives it from its own queue.
public final class Optimization {
    public let weights: VGGWeights
    public private(set) var contentImage: RGBImage
    /// The style images at working size, as loaded (before any colour matching), one per blend weight.
    public private(set) var styleImages: [RGBImage]
    public var styleImage: RGBImage { styleImages[0] }
    /// Full-resolution inputs when known, so an upscale or a style-scale change resamples from them
    /// rather than from the working copy.
    var originalContent: RGBImage?
    var originalStyles: [RGBImage]?
    public private(set) var startImage: RGBImage
    /// The content's alpha at working size (0…255), written as the result's; nil without one.
    public private(set) var alpha: [Float]?
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
    /// The coarse-to-fine stages and the one running (a single stage without `--scales`).
    public internal(set) var schedule: ScaleSchedule
    /// The final stage's content, styles and alpha, from which each stage is resampled; nil at the last stage.
    var stageSource: StageSource?
    /// What the last stage change said ("scale 2/3 · 512²"), for whoever reports progress.
    public var stageMessage: String?

    public var width: Int { contentImage.width }
    public var height: Int { contentImage.height }
    /// The image being optimised: in luminance mode it starts grey and only its luminance is shown.
    public var variable: RGBImage { RGBImage(width: width, height: height, pixels: x.array) }
    /// The current result: in luminance mode the optimised image's luminance with the content's chroma.
    public var image: RGBImage {
        settings.colors == .luminance ? ColorTransfer.combine(luma: variable, chroma: contentImage) : variable
    }
    /// The style targets now in use, to share with another run on the same styles and sizes.
    public var styleGrams: StyleGrams { objective.styleGrams }
    /// Nothing left to do until the iteration limit is raised or the objective changes.
    public var isFinished: Bool { evaluated && iteration >= settings.iterations }
    /// Median seconds of the last few iterations.
    public var secondsPerIteration: Double { recent.isEmpty ? 0 : recent.sorted()[recent.count / 2] }

    /// - Parameters: content and style at working size; `start` the init image at working size
    ///   (nil: derived from `settings.initKind`, which must then be content or random).
    public convenience init(weights: VGGWeights, content: RGBImage, style: RGBImage, settings: Settings,
                            start: RGBImage? = nil, originalContent: RGBImage? = nil, originalStyle: RGBImage? = nil,
                            convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment, styleGrams: StyleGrams? = nil) throws {
        try self.init(weights: weights, content: content, styles: [style], settings: settings, start: start,
                      originalContent: originalContent, originalStyles: originalStyle.map { [$0] }, convPolicy: convPolicy,
                      styleGrams: styleGrams)
    }

    /// - Parameters: content and styles at working size (one style per `settings.styleBlend` weight);
    ///   `start` the init image at working size (nil: derived from `settings.initKind`, which must then be
    ///   content or random). In luminance mode the optimisation starts from the start image's luminance.
    ///   `styleGrams`: targets shared from another run on the same styles (used only in `style` colour
    ///   mode, where the targets do not depend on the content). With `settings.scales` above 1 the images
    ///   given are the final stage's and the run starts at the first stage's size; `styleSize` is the
    ///   `--style-size` they were loaded with, scaled with the content for earlier stages.
    public convenience init(weights: VGGWeights, content: RGBImage, styles: [RGBImage], settings: Settings,
                            start: RGBImage? = nil, originalContent: RGBImage? = nil, originalStyles: [RGBImage]? = nil,
                            alpha: [Float]? = nil, convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment,
                            styleGrams: StyleGrams? = nil, styleSize: Int? = nil) throws {
        try settings.validate()
        if let alpha, alpha.count != content.width * content.height {
            throw RestyleError.internal("alpha plane of \(alpha.count) values for \(content.width)×\(content.height)")
        }
        let schedule = try ScaleSchedule.make(settings: settings, width: content.width, height: content.height, styleSize: styleSize,
                                              styleSizes: styles.map { ($0.width, $0.height) })
        guard schedule.count > 1 else {
            try self.init(weights: weights, content: content, styles: styles, settings: settings, start: start,
                          originalContent: originalContent, originalStyles: originalStyles, alpha: alpha, convPolicy: convPolicy,
                          styleGrams: styleGrams, schedule: schedule, stageSource: nil)
            return
        }
        let source = StageSource(content: content, styles: styles, alpha: alpha)
        let first = source.images(stage: 0, of: schedule, settings: settings)
        let s0 = start.map { resized($0, width: first.content.width, height: first.content.height) }
        // Shared targets are the final size's: the first stage makes its own.
        try self.init(weights: weights, content: first.content, styles: first.styles, settings: settings, start: s0,
                      originalContent: originalContent, originalStyles: originalStyles, alpha: first.alpha, convPolicy: convPolicy,
                      styleGrams: nil, schedule: schedule, stageSource: source)
    }

    init(weights: VGGWeights, content: RGBImage, styles: [RGBImage], settings: Settings,
         start: RGBImage?, originalContent: RGBImage?, originalStyles: [RGBImage]?,
         alpha: [Float]?, convPolicy: VGGNetwork.ConvPolicy, styleGrams: StyleGrams?,
         schedule: ScaleSchedule, stageSource: StageSource?) throws {
        try settings.validate()
        if let alpha, alpha.count != content.width * content.height {
            throw RestyleError.internal("alpha plane of \(alpha.count) values for \(content.width)×\(content.height)")
        }
        self.alpha = alpha
        self.weights = weights
        self.contentImage = content; self.styleImages = styles
        self.originalContent = originalContent
        self.originalStyles = originalStyles?.count == styles.count ? originalStyles : nil
        self.settings = settings
        self.convPolicy = convPolicy
        self.schedule = schedule
        self.stageSource = stageSource
        let s = start ?? Self.startImage(settings.initKind, content: content, seed: settings.seed)
        guard s.width == content.width, s.height == content.height else {
            throw RestyleError.internal("start image size \(s.width)×\(s.height) differs from content \(content.width)×\(content.height)")
        }
        startImage = s
        objective = try Self.makeObjective(weights: weights, content: content, styles: styles, settings: settings, convPolicy: convPolicy,
                                           styleGrams: styleGrams)
        let n = s.pixels.count
        optimizer = try Self.makeOptimizer(settings, count: n)
        x = try FloatBuffer(count: n); g = try FloatBuffer(count: n)
        xPrev = try FloatBuffer(count: n); gPrev = try FloatBuffer(count: n)
        Self.variable(from: s, colors: settings.colors).pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: n) }
    }

    /// The objective for the colour mode: the loaded images (style), the styles' colours matched to the
    /// content's (match), or everything as luminance with the styles' luminance matched (luminance).
    static func makeObjective(weights: VGGWeights, content: RGBImage, styles: [RGBImage], settings: Settings,
                              convPolicy: VGGNetwork.ConvPolicy, styleGrams: StyleGrams? = nil) throws -> Objective {
        let c: RGBImage, ss: [RGBImage]
        switch settings.colors {
        case .style: (c, ss) = (content, styles)
        case .match: (c, ss) = (content, styles.map { ColorTransfer.matchColors($0, to: content) })
        case .luminance: (c, ss) = (ColorTransfer.grey(content), styles.map { ColorTransfer.matchedLuminance($0, to: content) })
        }
        return try Objective(weights: weights, content: c, styles: ss, settings: settings, convPolicy: convPolicy,
                             styleGrams: settings.colors == .style ? styleGrams : nil)
    }

    /// What the optimiser works on for an image in RGB: its luminance in luminance mode.
    static func variable(from img: RGBImage, colors: ColorPreservation) -> RGBImage {
        colors == .luminance ? ColorTransfer.grey(img) : img
    }

    private func setVariable(_ img: RGBImage) {
        img.pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: x.count) }
    }

    static func makeOptimizer(_ s: Settings, count: Int) throws -> Optimizer {
        switch s.optimizer {
        case .adam: return try Adam(count: count)
        case .lbfgs: return try LBFGS(count: count, history: s.lbfgsHistory, precision: s.lbfgsPrecision)
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
        // The schedule's next stage begins with its evaluation (a stage change, once made, stays even if
        // that evaluation is cancelled). Building its targets is timed with it.
        if evaluated, !needsEvaluation, stageSource != nil, !schedule.isLastStage, iteration >= schedule.ends[schedule.stage] {
            stageMessage = nextStage()
        }
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
        if s.styleBlend.count != styleImages.count {
            s.styleBlend = settings.styleBlend
            message = "style blend refused: \(styleImages.count) style weights needed"
        }
        // Style scale, layers, pooling and colour mode change the targets: a new objective, built (with the
        // styles resized for a new scale) before anything is replaced, so a refusal leaves the run as it was.
        let rescale = s.styleScale != settings.styleScale
        if rescale || s.contentLayers != settings.contentLayers || s.styleLayers != settings.styleLayers
            || s.pooling != settings.pooling || s.colors != settings.colors {
            do {
                let styles = rescale ? rescaledStyles(from: settings.styleScale, to: s.styleScale) : styleImages
                objective = try Self.makeObjective(weights: weights, content: contentImage, styles: styles, settings: s, convPolicy: convPolicy)
                if s.colors != settings.colors {
                    // The picture carries over: luminance keeps the current result's luminance; leaving
                    // luminance continues from the result as shown (its luminance, the content's chroma).
                    let shown = image
                    setVariable(Self.variable(from: shown, colors: s.colors))
                    message = message ?? "colors: \(s.colors.rawValue)"
                }
                if rescale {
                    styleImages = styles
                    message = message ?? "style scale \(String(format: "%.3g", s.styleScale)): style \(styles[0].width)×\(styles[0].height)"
                }
            } catch {
                s.contentLayers = settings.contentLayers; s.styleLayers = settings.styleLayers; s.pooling = settings.pooling
                s.colors = settings.colors; s.styleScale = settings.styleScale
                message = "change refused: \(error)"
            }
        }
        objective.setWeights(alpha: s.alpha, beta: s.beta, tv: s.tv, styleBlend: s.styleBlend)
        if s.optimizer != settings.optimizer || s.lbfgsHistory != settings.lbfgsHistory || s.lbfgsPrecision != settings.lbfgsPrecision {
            do {
                optimizer = try Self.makeOptimizer(s, count: x.count)
                message = message ?? "optimizer: \(s.optimizer.rawValue)"
            } catch {
                s.optimizer = settings.optimizer; s.lbfgsHistory = settings.lbfgsHistory; s.lbfgsPrecision = settings.lbfgsPrecision
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

    /// The styles resized for a new style scale: each to `new/old` times its present longest side,
    /// resampled from the full-size original when known.
    func rescaledStyles(from old: Double, to new: Double) -> [RGBImage] {
        styleImages.enumerated().map { k, img in
            let side = max(Limits.minSide, min(Limits.maxSide, Int((Double(max(img.width, img.height)) * new / old).rounded())))
            let source = originalStyles?[k] ?? img
            let size = fitSize(width: source.width, height: source.height, longestSide: side)
            return resized(source, width: size.width, height: size.height)
        }
    }

    func mark() {
        if marks.last != iteration { marks.append(iteration) }
    }

    /// Back to the start image; the history is kept, with a mark.
    @discardableResult
    public func restart() -> String {
        setVariable(Self.variable(from: startImage, colors: settings.colors))
        optimizer.reset()
        if evaluated { needsEvaluation = true }
        mark()
        return "restarted from the start image"
    }

    /// The coarse-to-fine schedule's next stage now, if there is one; else twice the working size from
    /// the current image, the styles resampled the same way.
    @discardableResult
    public func upscale() -> String {
        if stageSource != nil, !schedule.isLastStage { return nextStage() }
        let w = width * 2, h = height * 2
        guard w <= Limits.maxSide, h <= Limits.maxSide, w * h <= Limits.maxPixels else {
            return "upscale refused: \(w)×\(h) is over the size limit"
        }
        let newContent = resized(originalContent ?? contentImage, width: w, height: h)
        let newStyles = styleImages.enumerated().map { k, img in
            let source = originalStyles?[k] ?? img
            let size = fitSize(width: source.width, height: source.height, longestSide: max(img.width, img.height) * 2)
            return resized(source, width: size.width, height: size.height)
        }
        do {
            try moveTo(content: newContent, styles: newStyles, alpha: alpha.map { Inputs.resizedPlane($0, from: (width, height), to: (w, h)) })
            return "upscaled to \(w)×\(h)"
        } catch {
            return "upscale failed: \(error)"
        }
    }

    /// The schedule's next stage: the image resampled up to its size, the targets rebuilt there, the
    /// optimiser reset. A stage that cannot be built (memory) ends the schedule at the present size.
    func nextStage() -> String {
        guard let source = stageSource, !schedule.isLastStage else { return "no further stage" }
        let k = schedule.stage + 1
        let next = source.images(stage: k, of: schedule, settings: settings)
        do {
            try moveTo(content: next.content, styles: next.styles, alpha: next.alpha)
            schedule.stage = k
            if schedule.isLastStage { stageSource = nil }
            return ScaleSchedule.label(stage: k, of: schedule.count, width: width, height: height)
        } catch {
            let total = schedule.count
            schedule.sides = Array(schedule.sides.prefix(k)); schedule.ends = Array(schedule.ends.prefix(k - 1))
            stageSource = nil
            return "scale \(k + 1)/\(total) failed, staying at \(width)×\(height): \(error)"
        }
    }

    /// Continues from the current image at the size of `content`, the optimiser reset. Everything new is
    /// made before anything old is replaced, so a failure leaves the run as it was.
    private func moveTo(content newContent: RGBImage, styles newStyles: [RGBImage], alpha newAlpha: [Float]?) throws {
        let (w, h) = (newContent.width, newContent.height)
        let n = 3 * w * h
        let obj = try Self.makeObjective(weights: weights, content: newContent, styles: newStyles, settings: settings, convPolicy: convPolicy)
        let opt = try Self.makeOptimizer(settings, count: n)
        let nx = try FloatBuffer(count: n), ng = try FloatBuffer(count: n)
        let nxp = try FloatBuffer(count: n), ngp = try FloatBuffer(count: n)
        let up = resized(variable, width: w, height: h)
        up.pixels.withUnsafeBufferPointer { nx.copy(from: $0.baseAddress!, count: n) }
        objective = obj; optimizer = opt
        x = nx; g = ng; xPrev = nxp; gPrev = ngp
        contentImage = newContent; styleImages = newStyles
        alpha = newAlpha
        startImage = resized(startImage, width: w, height: h)
        if evaluated { needsEvaluation = true }
        mark()
    }
}

/// The final stage's images, kept while earlier stages run: each stage is resampled from them (never from
/// the stage before), so a resumed run makes exactly the images an uninterrupted one does.
struct StageSource {
    var content: RGBImage
    var styles: [RGBImage]
    var alpha: [Float]?

    func images(stage k: Int, of schedule: ScaleSchedule, settings: Settings) -> (content: RGBImage, styles: [RGBImage], alpha: [Float]?) {
        let g = schedule.geometry(stage: k, width: content.width, height: content.height,
                                  styleSizes: styles.map { ($0.width, $0.height) }, settings: settings)
        let c = resized(content, width: g.content.width, height: g.content.height)
        let ss = zip(styles, g.styles).map { resized($0, width: $1.width, height: $1.height) }
        let a = alpha.map { Inputs.resizedPlane($0, from: (content.width, content.height), to: g.content) }
        return (c, ss, a)
    }
}
