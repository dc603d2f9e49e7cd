import Core
import Foundation

/// A stand-in engine that makes up a picture and falling losses, for trying the screen (and
/// scripting it in tmux) without weights or images: `restyle --demo`. Honours the same threading
/// promises as the real engine: its loop runs on its own queue and every getter returns at once.
final class DemoEngine: EngineHandle {
    private let lock = NSLock()
    private let queue = DispatchQueue(label: "restyle.demo")
    private var progress: EngineProgress
    private var image: RGBImage
    private var generation = 0
    private var points: [HistoryPoint] = []
    private var marks: [Int] = []
    private var paused = false, stopping = false, running = false
    private let secondsPerStep: Double
    let contentImage: RGBImage
    let styleImage: RGBImage

    init(settings: Settings, size: Int, secondsPerStep: Double = 0.15) {
        let w = size, h = size * 3 / 4
        self.secondsPerStep = secondsPerStep
        var c = RGBImage(width: w, height: h)
        var s = RGBImage(width: w, height: w)
        for y in 0..<h { for x in 0..<w {
            c[0, y, x] = Float(255 * x / w); c[1, y, x] = Float(255 * y / h); c[2, y, x] = 120
        } }
        for y in 0..<w { for x in 0..<w {
            let v = Float(127 + 127 * sin(Double(x + y) / 6))
            s[0, y, x] = v; s[1, y, x] = 40; s[2, y, x] = 255 - v
        } }
        contentImage = c; styleImage = s; image = c
        progress = EngineProgress(settings: settings, state: .idle, width: w, height: h)
    }

    func start() {
        lock.lock(); defer { lock.unlock() }
        guard !running else { return }
        running = true; progress.state = .running
        queue.async { [self] in loop() }
    }

    private func loop() {
        var t = 0.0
        while true {
            Thread.sleep(forTimeInterval: secondsPerStep)
            lock.lock()
            if stopping { lock.unlock(); return }
            if paused || progress.iteration >= progress.settings.iterations { lock.unlock(); continue }
            t += 1
            let i = progress.iteration + 1
            let s = progress.settings
            let k = min(1, Double(i) / 150)
            var img = contentImage
            for idx in 0..<img.pixels.count { img.pixels[idx] = Float((1 - k) * Double(contentImage.pixels[idx])) + Float(k) * styleImage.pixels[idx % styleImage.pixels.count] }
            let terms = LossTerms(total: 0, content: 50 * k + 1, style: 1e4 / (1 + Double(i)) + 5 * sin(t / 3) + 10, tv: 1e3 / (1 + Double(i) / 10))
            var tt = terms
            tt.total = s.alpha * terms.content + s.beta * terms.style + s.tv * terms.tv
            points.append(HistoryPoint(iteration: i, terms: tt, alpha: s.alpha, beta: s.beta, tv: s.tv))
            image = img; generation += 1
            progress.iteration = i; progress.terms = tt; progress.imageGeneration = generation
            progress.elapsed += secondsPerStep; progress.secondsPerIteration = secondsPerStep
            progress.state = i >= s.iterations ? .finished : .running
            lock.unlock()
        }
    }

    func pause() { lock.lock(); paused = true; progress.state = .paused; lock.unlock() }
    func resume() { lock.lock(); paused = false; progress.state = .running; lock.unlock() }
    var isPaused: Bool { lock.lock(); defer { lock.unlock() }; return paused }
    func update(_ change: @escaping (inout Settings) -> Void) {
        lock.lock(); defer { lock.unlock() }
        let old = progress.settings
        change(&progress.settings)
        if progress.settings.objectiveDiffers(from: old) { marks.append(progress.iteration); progress.message = "weights changed" }
    }
    func restart() {
        lock.lock(); defer { lock.unlock() }
        marks.append(progress.iteration); image = contentImage; generation += 1; progress.imageGeneration = generation
        progress.message = "restarted"
    }
    func stop() { lock.lock(); stopping = true; lock.unlock() }
    func latestProgress() -> EngineProgress { lock.lock(); defer { lock.unlock() }; return progress }
    func currentImage() -> (image: RGBImage, generation: Int) { lock.lock(); defer { lock.unlock() }; return (image, generation) }
    func lossHistory() -> (points: [HistoryPoint], marks: [Int]) { lock.lock(); defer { lock.unlock() }; return (points, marks) }
    func upscale() throws { throw RestyleError.badInput("the demo engine does not upscale") }
    func saveSession(to path: String) throws {
        let p = latestProgress()
        let text = "restyle demo session\niteration \(p.iteration)\n" + p.settings.keyValues.map { "\($0.0)=\($0.1)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    var peakMemoryBytes: Int { 64 << 20 }
}
