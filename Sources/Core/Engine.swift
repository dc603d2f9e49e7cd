import Foundation

/// Runs the optimisation on its own serial DispatchQueue. Callers never wait on an iteration: they read
/// the last published progress, image and history (copied under a lock), and queue changes that the
/// loop applies between iterations. Pausing parks the loop on a condition variable, so the CPU idles.
public final class Engine {
    public let weights: VGGWeights
    public private(set) var contentImage: RGBImage
    public private(set) var styleImage: RGBImage
    /// Full-resolution inputs when known, so an upscale resamples from them rather than from the working copy.
    var originalContent: RGBImage?
    var originalStyle: RGBImage?
    var startImage: RGBImage

    // Owned by the engine queue while the loop runs.
    var settings: Settings
    var objective: Objective
    var optimizer: Optimizer
    var x: FloatBuffer, g: FloatBuffer, xPrev: FloatBuffer, gPrev: FloatBuffer
    var terms = LossTerms()
    var iteration = 0
    var evaluated = false
    var needsEvaluation = false
    var elapsed = 0.0
    var recent: [Double] = []

    // Shared; guarded by `cond`.
    let cond = NSCondition()
    var pending: [(inout Settings) -> Void] = []
    var paused = false
    var stopRequested = false
    var restartRequested = false
    var upscaleRequested = false
    var stepsAllowedWhilePaused = 0
    var saveRequests: [(String, (Error?) -> Void)] = []
    var running = false
    var published = EngineProgress()
    var publishedImage: RGBImage
    var historyPoints: [HistoryPoint] = []
    var historyMarks: [Int] = []
    var lastMessage: String?

    let queue = DispatchQueue(label: "restyle.engine", qos: .userInitiated)
    let group = DispatchGroup()
    /// Called on the engine queue after each published iteration; keep it cheap.
    public var onProgress: ((EngineProgress) -> Void)?

    /// - Parameters: content and style at working size; `start` the init image at working size
    ///   (nil: derived from `settings.initKind`, which must then be content or random).
    public init(weights: VGGWeights, content: RGBImage, style: RGBImage, settings: Settings,
                start: RGBImage? = nil, originalContent: RGBImage? = nil, originalStyle: RGBImage? = nil) throws {
        self.weights = weights
        self.contentImage = content; self.styleImage = style
        self.originalContent = originalContent; self.originalStyle = originalStyle
        self.settings = settings
        let s = start ?? Engine.startImage(settings.initKind, content: content, seed: settings.seed)
        guard s.width == content.width, s.height == content.height else {
            throw RestyleError.internal("start image size \(s.width)×\(s.height) differs from content \(content.width)×\(content.height)")
        }
        startImage = s
        objective = try Objective(weights: weights, content: content, style: style, settings: settings)
        let n = s.pixels.count
        optimizer = Engine.makeOptimizer(settings, count: n)
        let xb = FloatBuffer(count: n)
        s.pixels.withUnsafeBufferPointer { xb.copy(from: $0.baseAddress!, count: n) }
        x = xb; g = FloatBuffer(count: n); xPrev = FloatBuffer(count: n); gPrev = FloatBuffer(count: n)
        publishedImage = s
        published = EngineProgress(settings: settings, width: content.width, height: content.height)
    }

    static func makeOptimizer(_ s: Settings, count: Int) -> Optimizer {
        switch s.optimizer {
        case .adam: return Adam(count: count)
        case .lbfgs: return LBFGS(count: count, history: s.lbfgsHistory)
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

    // MARK: - Control (any thread)

    public func start() {
        cond.lock()
        guard !running else { cond.unlock(); return }
        running = true; stopRequested = false
        cond.unlock()
        group.enter()
        queue.async { [self] in
            loop()
            // Saves asked for while the loop was ending are written here, so no caller waits forever.
            cond.lock()
            drainSaveRequests()
            running = false
            cond.broadcast()
            cond.unlock()
            group.leave()
        }
    }

    public func pause() { cond.lock(); paused = true; published.state = .paused; cond.broadcast(); cond.unlock() }
    public func resume() { cond.lock(); paused = false; cond.broadcast(); cond.unlock() }
    public var isPaused: Bool { cond.lock(); defer { cond.unlock() }; return paused }
    /// One iteration while paused.
    public func stepOnce() { cond.lock(); stepsAllowedWhilePaused += 1; cond.broadcast(); cond.unlock() }

    /// Queued; applied before the next iteration.
    public func update(_ change: @escaping (inout Settings) -> Void) {
        cond.lock(); pending.append(change); cond.broadcast(); cond.unlock()
    }
    public func restart() { cond.lock(); restartRequested = true; cond.broadcast(); cond.unlock() }
    public func upscale() throws { cond.lock(); upscaleRequested = true; cond.broadcast(); cond.unlock() }

    /// Asks the loop to end after the current iteration, without waiting.
    public func requestStop() { cond.lock(); stopRequested = true; cond.broadcast(); cond.unlock() }

    /// Ends the loop after the current iteration and waits for it.
    public func stop() {
        cond.lock(); stopRequested = true; cond.broadcast(); cond.unlock()
        group.wait()
    }

    /// Blocks until the loop has finished (iteration limit reached and nothing pending) or stopped.
    public func waitUntilFinished() {
        cond.lock()
        while running && !(published.state == .finished || isErrorState(published.state)) && !stopRequested { cond.wait() }
        cond.unlock()
    }
    func isErrorState(_ s: EngineState) -> Bool { if case .error = s { return true }; return false }

    public func latestProgress() -> EngineProgress { cond.lock(); defer { cond.unlock() }; return published }
    public func currentImage() -> (image: RGBImage, generation: Int) {
        cond.lock(); defer { cond.unlock() }; return (publishedImage, published.imageGeneration)
    }
    public func lossHistory() -> (points: [HistoryPoint], marks: [Int]) {
        cond.lock(); defer { cond.unlock() }; return (historyPoints, historyMarks)
    }
    public var peakMemoryBytes: Int { MemoryStats.peakRSS() }

    /// Saves between iterations (the engine thread writes it, so the state is consistent); blocks until
    /// written. If the loop is not running it saves at once on this thread.
    public func saveSession(to path: String) throws {
        cond.lock()
        if !running {
            cond.unlock()
            try writeSession(to: path)
            return
        }
        var result: Error?? = .none
        saveRequests.append((path, { e in result = .some(e) }))
        cond.broadcast()
        while result == nil { cond.wait() }
        cond.unlock()
        if let e = result!, let err = e as Error? { throw err }
    }

    // MARK: - The loop (engine queue)

    /// Writes every queued save; called with `cond` held, released around each write (writeSession
    /// takes it to copy the history). Requests that arrive meanwhile are served in the same call.
    func drainSaveRequests() {
        while !saveRequests.isEmpty {
            let (p, done) = saveRequests.removeFirst()
            cond.unlock()
            var err: Error?
            do { try writeSession(to: p) } catch { err = error }
            cond.lock()
            done(err)
            cond.broadcast()
        }
    }

    func loop() {
        if !evaluated {
            evaluateAndPublish()
            evaluated = true
        }
        while true {
            cond.lock()
            var changes: [(inout Settings) -> Void] = []
            var restart = false, upscale = false
            while true {
                drainSaveRequests()
                if stopRequested { break }
                changes = pending; pending.removeAll()
                restart = restartRequested; restartRequested = false
                upscale = upscaleRequested; upscaleRequested = false
                if !changes.isEmpty || restart || upscale { break }
                let atLimit = iteration >= settings.iterations
                if paused && stepsAllowedWhilePaused == 0 {
                    published.state = .paused
                } else if atLimit {
                    published.state = .finished
                } else {
                    if paused { stepsAllowedWhilePaused -= 1 }
                    break
                }
                cond.broadcast()
                cond.wait()
            }
            if stopRequested { cond.unlock(); return }
            published.state = .running
            cond.unlock()

            if !changes.isEmpty { apply(changes) }
            if restart { doRestart() }
            if upscale { doUpscale() }
            if iteration >= settings.iterations { continue }
            if needsEvaluation {
                needsEvaluation = false
                iteration += 1
                evaluateAndPublish()
                continue
            }
            stepAndEvaluate()
        }
    }

    func apply(_ changes: [(inout Settings) -> Void]) {
        var s = settings
        for c in changes { c(&s) }
        var message: String?
        if s.contentLayers != settings.contentLayers || s.styleLayers != settings.styleLayers || s.pooling != settings.pooling {
            do {
                objective = try Objective(weights: weights, content: contentImage, style: styleImage, settings: s)
            } catch {
                s.contentLayers = settings.contentLayers; s.styleLayers = settings.styleLayers; s.pooling = settings.pooling
                message = "layer change refused: \(error)"
            }
        }
        objective.setWeights(alpha: s.alpha, beta: s.beta, tv: s.tv)
        if s.optimizer != settings.optimizer || s.lbfgsHistory != settings.lbfgsHistory {
            optimizer = Engine.makeOptimizer(s, count: x.count)
            message = message ?? "optimizer: \(s.optimizer.rawValue)"
        }
        if s.objectiveDiffers(from: settings) {
            optimizer.reset()
            needsEvaluation = true
            mark()
            if s.optimizer == .lbfgs { message = message ?? "objective changed: L-BFGS history reset" }
        }
        settings = s
        cond.lock()
        published.settings = s
        if let message { published.message = message }
        cond.unlock()
    }

    func mark() {
        cond.lock()
        if historyMarks.last != iteration { historyMarks.append(iteration) }
        cond.unlock()
    }

    func doRestart() {
        startImage.pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: x.count) }
        optimizer.reset()
        needsEvaluation = true
        mark()
        cond.lock(); published.message = "restarted from the start image"; cond.unlock()
    }

    func doUpscale() {
        let w = contentImage.width * 2, h = contentImage.height * 2
        let current = RGBImage(width: contentImage.width, height: contentImage.height, pixels: x.array)
        let newContent = resized(originalContent ?? contentImage, width: w, height: h)
        let styleSize = fitSize(width: (originalStyle ?? styleImage).width, height: (originalStyle ?? styleImage).height,
                                longestSide: max(styleImage.width, styleImage.height) * 2)
        let newStyle = resized(originalStyle ?? styleImage, width: styleSize.width, height: styleSize.height)
        do {
            let obj = try Objective(weights: weights, content: newContent, style: newStyle, settings: settings)
            objective = obj
            contentImage = newContent; styleImage = newStyle
            startImage = resized(startImage, width: w, height: h)
            let up = resized(current, width: w, height: h)
            let n = up.pixels.count
            x = FloatBuffer(count: n); g = FloatBuffer(count: n); xPrev = FloatBuffer(count: n); gPrev = FloatBuffer(count: n)
            up.pixels.withUnsafeBufferPointer { x.copy(from: $0.baseAddress!, count: n) }
            optimizer = Engine.makeOptimizer(settings, count: n)
            needsEvaluation = true
            mark()
            cond.lock(); published.message = "upscaled to \(w)×\(h)"; published.width = w; published.height = h; cond.unlock()
        } catch {
            cond.lock(); published.message = "upscale failed: \(error)"; cond.unlock()
        }
    }

    func evaluateAndPublish() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        terms = objective.evaluate(x.ptr, grad: g.ptr)
        if !terms.isFinite {
            cond.lock(); published.state = .error("non-finite loss at the start image"); cond.unlock()
        }
        finishIteration(t0, message: nil)
    }

    func stepAndEvaluate() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let n = x.count
        memcpy(xPrev.ptr, x.ptr, n * 4); memcpy(gPrev.ptr, g.ptr, n * 4)
        let prevTerms = terms
        optimizer.step(x: x.ptr, grad: g.ptr, count: n, learningRate: settings.learningRate)
        iteration += 1
        var message: String?
        let stepFinite = (0..<n).allSatisfy { x.ptr[$0].isFinite }
        if stepFinite { terms = objective.evaluate(x.ptr, grad: g.ptr) }
        if !stepFinite || !terms.isFinite || !(0..<n).allSatisfy({ g.ptr[$0].isFinite }) {
            memcpy(x.ptr, xPrev.ptr, n * 4); memcpy(g.ptr, gPrev.ptr, n * 4)
            terms = prevTerms
            optimizer.reset()
            message = "non-finite \(stepFinite ? "loss" : "step") at iteration \(iteration): step undone, optimizer reset"
        }
        finishIteration(t0, message: message)
    }

    func finishIteration(_ t0: UInt64, message: String?) {
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        elapsed += dt
        recent.append(dt)
        if recent.count > 9 { recent.removeFirst() }
        let median = recent.sorted()[recent.count / 2]
        cond.lock()
        historyPoints.append(HistoryPoint(iteration: iteration, terms: terms, alpha: settings.alpha, beta: settings.beta, tv: settings.tv))
        publishedImage = RGBImage(width: contentImage.width, height: contentImage.height, pixels: x.array)
        published.iteration = iteration
        published.terms = terms
        published.settings = settings
        published.secondsPerIteration = median
        published.elapsed = elapsed
        published.width = contentImage.width
        published.height = contentImage.height
        published.imageGeneration += 1
        if let message { published.message = message }
        if published.state != .paused && !isErrorState(published.state) { published.state = .running }
        let p = published
        cond.broadcast()
        cond.unlock()
        onProgress?(p)
    }
}
