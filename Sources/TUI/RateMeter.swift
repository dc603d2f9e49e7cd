/// Seconds per iteration as the status bar shows it, measured by the screen from the engine's published
/// iteration count and optimisation time.
///
/// The engine's own figure is a median of its last few iterations whatever they were, so for several
/// iterations after an upscale (4× the pixels) it still shows the old size's speed, and the ETA built on
/// it is off by that factor. Here the measurement starts again at every restart and upscale, and when the
/// working size changes under us, and spans only the last `window` iterations after that.
struct RateMeter {
    static let window = 10
    private var samples: [(iteration: Int, elapsed: Double)] = []
    private var width = -1

    /// Forget everything measured: what follows is a different kind of iteration.
    mutating func reset() { samples.removeAll() }

    /// Called every frame with the latest progress; repeated values are ignored.
    mutating func observe(iteration: Int, elapsed: Double, width: Int) {
        if width != self.width { self.width = width; samples.removeAll() }
        if let last = samples.last {
            if iteration == last.iteration { return }
            // Counters never go back in one run; if they do, nothing before is comparable.
            if iteration < last.iteration || elapsed < last.elapsed { samples.removeAll() }
        }
        samples.append((iteration, elapsed))
        while samples.count > 2 && samples[samples.count - 1].iteration - samples[1].iteration >= Self.window {
            samples.removeFirst()
        }
    }

    /// nil until two different iterations have been seen since the last reset.
    var secondsPerIteration: Double? {
        guard let a = samples.first, let b = samples.last, b.iteration > a.iteration else { return nil }
        return max(0, (b.elapsed - a.elapsed) / Double(b.iteration - a.iteration))
    }
}
