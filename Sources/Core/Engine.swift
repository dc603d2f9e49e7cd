import Foundation

/// Runs an `Optimization` on its own serial DispatchQueue. The UI never waits on an iteration: it reads
/// the last published state (progress, images, history), copied out under one lock, and queues requests
/// that the loop takes between iterations. A paused engine blocks on a semaphore, so the CPU idles.
///
/// Threading, in full: the optimisation is touched only on `queue` (`QueueConfined` checks it); all state
/// shared between threads is the one `Shared` value in the `LockedBox` `shared`; `doorbell` wakes the loop. Nothing
/// else is mutable, so the compiler checks that `Engine` is `Sendable`.
public final class Engine: Sendable {
    /// What the engine publishes and what it has been asked to do.
    struct Shared {
        // Requests, taken by the loop between iterations.
        var pending: [@Sendable (inout Settings) -> Void] = []
        var paused = false
        var stopRequested = false
        var restartRequested = false
        var upscaleRequested = false
        var stepsAllowedWhilePaused = 0
        var saves: [SaveRequest] = []
        var running = false
        var finishWaiters: [DispatchSemaphore] = []
        // Published after every iteration.
        var progress: EngineProgress
        var image: RGBImage
        var content: RGBImage
        var styles: [RGBImage]
        var alpha: [Float]?
        var history: [HistoryPoint]
        var marks: [Int]
        /// Whether the loop should stop waiting: finished, failed or stopping.
        var settled: Bool {
            if case .error = progress.state { return true }
            return progress.state == .finished || stopRequested || !running
        }
    }

    final class SaveRequest: Sendable {
        let path: String
        let done = DispatchSemaphore(value: 0)
        let result = LockedBox<RestyleError?>(nil)
        init(path: String) { self.path = path }
        func finish(_ error: (any Error)?) {
            if let error { result.withLock { $0 = error as? RestyleError ?? .internal("\(path): \(error)") } }
            done.signal()
        }
    }

    private let queue = DispatchQueue(label: "restyle.engine", qos: .userInitiated)
    /// Writes session snapshots, in the order they were asked for, off the engine's queue.
    private let writer = DispatchQueue(label: "restyle.engine.save", qos: .userInitiated)
    private let core: QueueConfined<Optimization>
    private let shared: LockedBox<Shared>
    private let doorbell = DispatchSemaphore(value: 0)
    /// The optimisation's own flag: set to abandon the iteration in flight (stop, restart, upscale).
    private let cancel: CancelFlag
    /// Called on the engine queue after each published iteration; keep it cheap.
    private let onProgress: (@Sendable (EngineProgress) -> Void)?

    public init(_ optimization: sending Optimization, message: String? = nil,
                onProgress: (@Sendable (EngineProgress) -> Void)? = nil) {
        let o = optimization
        var p = EngineProgress(settings: o.settings, width: o.width, height: o.height)
        p.iteration = o.iteration; p.terms = o.terms; p.elapsed = o.elapsed
        p.imageGeneration = 1
        p.scaleStage = o.schedule.stage; p.scaleCount = o.schedule.count
        p.message = message
        p.estimatedMemory = o.memoryEstimate
        var initial = Shared(progress: p, image: o.image, content: o.contentImage, styles: o.styleImages, alpha: o.alpha,
                             history: o.history, marks: o.marks)
        if o.savedPaused { initial.paused = true; initial.progress.state = .paused }
        shared = LockedBox(initial)
        self.onProgress = onProgress
        cancel = o.cancelFlag
        core = QueueConfined(o, queue: queue)
    }

    /// - Parameters: content and style at working size; `start` the init image at working size
    ///   (nil: derived from `settings.initKind`, which must then be content or random).
    public convenience init(weights: VGGWeights, content: RGBImage, style: RGBImage, settings: Settings,
                            start: RGBImage? = nil, originalContent: RGBImage? = nil, originalStyle: RGBImage? = nil,
                            onProgress: (@Sendable (EngineProgress) -> Void)? = nil) throws {
        self.init(try Optimization(weights: weights, content: content, style: style, settings: settings, start: start,
                                   originalContent: originalContent, originalStyle: originalStyle),
                  onProgress: onProgress)
    }

    /// Reopens a saved session, at the same iteration with the same state.
    public static func resume(from path: String, weights: VGGWeights, memoryLimit: Int? = nil,
                              changes: [@Sendable (inout Settings) -> Void] = []) throws -> Engine {
        let (o, notes) = try Optimization.resume(from: path, weights: weights, memoryLimit: memoryLimit)
        var said = ["resumed from \(path)" + (o.savedPaused ? " (paused: space continues)" : "")] + notes
        if !changes.isEmpty, let m = o.apply(changes) { said.append(m) }
        return Engine(o, message: said.joined(separator: "; "))
    }

    // MARK: - Control (any thread)

    private func request(_ body: (inout Shared) -> Void) {
        shared.withLock { body(&$0) }
        doorbell.signal()
    }

    public func start() {
        let started = shared.withLock { s -> Bool in
            guard !s.running else { return false }
            s.running = true; s.stopRequested = false
            return true
        }
        guard started else { return }
        cancel.clear()
        queue.async { [self] in
            core.with { loop($0) }
        }
    }

    public func pause() { request { $0.paused = true; $0.progress.state = .paused } }
    public func resume() { request { $0.paused = false } }
    public var isPaused: Bool { shared.withLock { $0.paused } }
    /// One iteration while paused.
    public func stepOnce() { request { $0.stepsAllowedWhilePaused += 1 } }
    /// Queued; applied before the next iteration.
    public func update(_ change: @escaping @Sendable (inout Settings) -> Void) { request { $0.pending.append(change) } }
    /// These three abandon the iteration in flight, so they take effect at once even at sizes where an
    /// iteration takes seconds.
    public func restart() { request { $0.restartRequested = true }; cancel.set() }
    public func upscale() throws { request { $0.upscaleRequested = true }; cancel.set() }
    /// Asks the loop to end now (the iteration in flight is abandoned, the state is as after the last
    /// one), without waiting.
    public func requestStop() { request { $0.stopRequested = true }; cancel.set(); wakeWaiters() }

    /// Ends the loop after the current iteration and waits for it (and for any save it was asked for).
    public func stop() {
        requestStop()
        queue.sync {}
    }

    /// Blocks until the loop has finished (iteration limit reached and nothing pending), failed or stopped.
    public func waitUntilFinished() {
        let sem = DispatchSemaphore(value: 0)
        let done = shared.withLock { s -> Bool in
            if s.settled { return true }
            s.finishWaiters.append(sem)
            return false
        }
        if !done { sem.wait() }
    }

    private func wakeWaiters() {
        let waiters = shared.withLock { s -> [DispatchSemaphore] in
            guard s.settled else { return [] }
            defer { s.finishWaiters.removeAll() }
            return s.finishWaiters
        }
        for w in waiters { w.signal() }
    }

    public func latestProgress() -> EngineProgress { shared.withLock { $0.progress } }
    public func currentImage() -> (image: RGBImage, generation: Int) {
        shared.withLock { ($0.image, $0.progress.imageGeneration) }
    }
    public func lossHistory() -> (points: [HistoryPoint], marks: [Int]) { shared.withLock { ($0.history, $0.marks) } }
    /// The working-size content and styles; they change on upscale and style-scale changes, published
    /// with everything else.
    public var contentImage: RGBImage { shared.withLock { $0.content } }
    public var styleImages: [RGBImage] { shared.withLock { $0.styles } }
    public var resultAlpha: [Float]? { shared.withLock { $0.alpha } }
    public var peakMemoryBytes: Int { MemoryStats.peakRSS() }
    public var memoryBytes: Int { MemoryStats.currentRSS() }

    /// Saves the state between iterations, so it is consistent; saves from any number of callers
    /// (autosave, snapshot, quit, a signal) are written one at a time in order. The run pauses only while
    /// the state is copied (`SessionSnapshot`), not while the file is written. Blocks until written.
    public func saveSession(to path: String) throws {
        let req = SaveRequest(path: path)
        let queued = shared.withLock { s -> Bool in
            guard s.running else { return false }
            s.saves.append(req)
            return true
        }
        if queued {
            doorbell.signal()
            req.done.wait()
            if let e = req.result.withLock({ $0 }) { throw e }
        } else {
            // The loop is not running: the queue is free (or about to be), and runs this after it.
            let paused = shared.withLock { $0.paused }
            try queue.sync { try core.with { try $0.writeSession(to: path, paused: paused) } }
        }
    }

    // MARK: - The loop (engine queue)

    private func serveSaves(_ o: Optimization) {
        while true {
            let batch = shared.withLock { s -> [SaveRequest] in defer { s.saves.removeAll() }; return s.saves }
            if batch.isEmpty { return }
            let paused = shared.withLock { $0.paused }
            for req in batch {
                // The loop stands still only for the snapshot; the file is written on `writer` while
                // iterations go on.
                do {
                    let snapshot = try o.sessionSnapshot(paused: paused)
                    writer.async {
                        do { try snapshot.write(to: req.path); req.finish(nil) } catch { req.finish(error) }
                    }
                } catch { req.finish(error) }
            }
        }
    }

    private enum Work { case stop, iterate([@Sendable (inout Settings) -> Void], restart: Bool, upscale: Bool) }

    private func loop(_ o: Optimization) {
        defer {
            // Saves asked for while the loop was ending are written here, so no caller waits for ever.
            while true {
                serveSaves(o)
                let idle = shared.withLock { s -> Bool in
                    guard s.saves.isEmpty else { return false }
                    s.running = false
                    return true
                }
                if idle { break }
            }
            wakeWaiters()
        }
        while true {
            let work = nextWork(o)
            guard case .iterate(let changes, let restart, let upscale) = work else { return }
            let changed = !changes.isEmpty || restart || upscale
            var messages: [String] = []
            if !changes.isEmpty, let m = o.apply(changes) { messages.append(m) }
            if restart { messages.append(o.restart()) }
            if upscale { messages.append(o.upscale()) }
            if changed { publish(o, message: messages.last, newImage: restart || upscale) }
            // After a change, only its re-evaluation runs now (even while paused, so the new loss shows
            // at once); a step waits for `nextWork` to allow it.
            if o.isFinished || (changed && !o.needsEvaluation) { continue }
            let outcome = o.iterate()
            switch outcome {
            case .cancelled: continue
            case .evaluated, .stepped: publish(o, message: nil, newImage: true)
            case .rejected(let m): publish(o, message: m, newImage: true)
            case .failed(let m):
                // Pause rather than spin on an objective that cannot be evaluated; a change of α/β/γ can
                // make it finite again, and resuming then continues.
                publish(o, message: m, newImage: true)
                request { $0.paused = true; $0.progress.state = .error(m) }
                wakeWaiters()
            }
        }
    }

    /// Waits (without spinning) until there is something to do: a request, or an iteration to run.
    private func nextWork(_ o: Optimization) -> Work {
        while true {
            serveSaves(o)
            let w = shared.withLock { s -> Work? in
                if s.stopRequested { return .stop }
                let changes = s.pending, restart = s.restartRequested, upscale = s.upscaleRequested
                s.pending.removeAll(); s.restartRequested = false; s.upscaleRequested = false
                // A cancel asked for by these is served now; one that raced in stays for the next.
                if restart || upscale { cancel.clear() }
                if !changes.isEmpty || restart || upscale { s.progress.state = .running; return .iterate(changes, restart: restart, upscale: upscale) }
                if case .error = s.progress.state, s.paused { return nil }
                if s.paused && s.stepsAllowedWhilePaused == 0 {
                    s.progress.state = .paused
                    return nil
                }
                if o.isFinished {
                    s.progress.state = .finished
                    return nil
                }
                if s.paused { s.stepsAllowedWhilePaused -= 1 }
                s.progress.state = .running
                return .iterate([], restart: false, upscale: false)
            }
            if let w { return w }
            wakeWaiters()
            doorbell.wait()
        }
    }

    private func publish(_ o: Optimization, message: String?, newImage: Bool) {
        let image = newImage ? o.image : nil
        // A stage change made inside an iteration is news; one made by `u` already came as `message`.
        let message = message ?? o.stageMessage
        o.stageMessage = nil
        let (content, styles, alpha) = (o.contentImage, o.styleImages, o.alpha)
        let p = shared.withLock { s -> EngineProgress in
            s.history = o.history; s.marks = o.marks
            if let image { s.image = image; s.progress.imageGeneration += 1 }
            s.content = content; s.styles = styles; s.alpha = alpha
            s.progress.iteration = o.iteration
            s.progress.terms = o.terms
            s.progress.settings = o.settings
            s.progress.secondsPerIteration = o.secondsPerIteration
            s.progress.elapsed = o.elapsed
            s.progress.width = o.width
            s.progress.height = o.height
            s.progress.rejectedSteps = o.rejectedSteps
            s.progress.estimatedMemory = o.memoryEstimate
            s.progress.scaleStage = o.schedule.stage; s.progress.scaleCount = o.schedule.count
            if let message { s.progress.message = message }
            return s.progress
        }
        onProgress?(p)
    }
}

/// A value reached only on one serial queue. Swift cannot see that a DispatchQueue serialises access, so
/// this is one of the few audited `@unchecked Sendable`s: every access goes through `with`, which checks
/// (in every build) that it runs on the queue, so no two threads can touch the value at once.
final class QueueConfined<Value>: @unchecked Sendable {
    private let value: Value
    private let queue: DispatchQueue
    init(_ value: sending Value, queue: DispatchQueue) { self.value = value; self.queue = queue }
    func with<R>(_ body: (Value) throws -> R) rethrows -> R {
        dispatchPrecondition(condition: .onQueue(queue))
        return try body(value)
    }
}
