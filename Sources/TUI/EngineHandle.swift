import Core

/// What the terminal UI needs from an optimisation engine. The UI thread calls these from its
/// input loop, so everything that reads state must return at once even while an iteration runs.
/// Core.Engine conforms in the real program; tests use a fake.
protocol EngineHandle: AnyObject, Sendable {
    /// Begin iterating on the engine's own DispatchQueue.
    func start()
    func pause()
    func resume()
    var isPaused: Bool { get }
    /// Applied before the next iteration; weight/layer changes reset L-BFGS history and add a chart mark.
    func update(_ change: @escaping @Sendable (inout Settings) -> Void)
    /// Back to the init image (history kept, with a mark).
    func restart()
    /// Ends the loop; the iteration in flight is abandoned. Returns when the loop has ended.
    func stop()
    /// Asks the loop to end, without waiting.
    func requestStop()
    /// Never blocks on an iteration.
    func latestProgress() -> EngineProgress
    /// Copy of the last published image; never blocks.
    func currentImage() -> (image: RGBImage, generation: Int)
    /// Everything since the start; never blocks.
    func lossHistory() -> (points: [HistoryPoint], marks: [Int])
    /// Continue at twice the working size from the current image.
    func upscale() throws
    /// Atomic write of the full session.
    func saveSession(to path: String) throws
    /// Working-size content and styles (as loaded, before colour matching).
    var contentImage: RGBImage { get }
    var styleImages: [RGBImage] { get }
    /// The content's alpha at working size, which the result carries; nil without one.
    var resultAlpha: [Float]? { get }
    /// The process's resident memory now, and the most it has been.
    var memoryBytes: Int { get }
    var peakMemoryBytes: Int { get }
}

/// Core.Engine already has every member with these exact signatures.
extension Engine: EngineHandle {}
