import Foundation

/// The four loss figures at one image: the unweighted terms and the weighted total
/// (total = alpha*content + beta*style + tv*tvTerm under the settings in force).
public struct LossTerms: Codable, Equatable, Sendable {
    public var total: Double
    public var content: Double
    public var style: Double
    public var tv: Double
    public init(total: Double = 0, content: Double = 0, style: Double = 0, tv: Double = 0) {
        self.total = total; self.content = content; self.style = style; self.tv = tv
    }
    public var isFinite: Bool { total.isFinite && content.isFinite && style.isFinite && tv.isFinite }
}

/// One row of the loss history: iteration i's image and its terms, weighted as at that iteration.
public struct HistoryPoint: Codable, Equatable, Sendable {
    public var iteration: Int
    public var terms: LossTerms
    public var alpha: Double
    public var beta: Double
    public var tv: Double
    public init(iteration: Int, terms: LossTerms, alpha: Double, beta: Double, tv: Double) {
        self.iteration = iteration; self.terms = terms; self.alpha = alpha; self.beta = beta; self.tv = tv
    }
    public var weightedContent: Double { alpha * terms.content }
    public var weightedStyle: Double { beta * terms.style }
    public var weightedTV: Double { tv * terms.tv }
}

public enum EngineState: Equatable, Sendable {
    case idle, running, paused, finished, error(String)
    public var label: String {
        switch self {
        case .idle: return "idle"
        case .running: return "running"
        case .paused: return "paused"
        case .finished: return "done"
        case .error(let m): return "error: " + m
        }
    }
}

/// What the engine publishes after every iteration; a value copy, safe to keep on any thread.
public struct EngineProgress: Sendable {
    public var iteration: Int
    public var terms: LossTerms
    public var settings: Settings
    public var state: EngineState
    /// Median-ish recent seconds per iteration (0 before the second one).
    public var secondsPerIteration: Double
    /// Seconds of optimisation so far (paused time excluded).
    public var elapsed: Double
    public var width: Int
    public var height: Int
    /// Incremented each time a new image is published, so a viewer redraws only on change.
    public var imageGeneration: Int
    /// The last event worth telling the user ("non-finite step undone", "L-BFGS history reset").
    public var message: String?
    /// Steps undone so far because they went non-finite.
    public var rejectedSteps = 0
    /// The pre-flight estimate of the run's peak memory at the present size and settings, in bytes (0: unknown).
    public var estimatedMemory = 0
    /// The coarse-to-fine stage running (0-based) and how many there are (1 without `--scales`).
    public var scaleStage = 0
    public var scaleCount = 1
    /// "scale 2/3 · 512²" while a run has several stages; nil otherwise.
    public var scaleLabel: String? {
        scaleCount > 1 ? ScaleSchedule.label(stage: scaleStage, of: scaleCount, width: width, height: height) : nil
    }
    public init(iteration: Int = 0, terms: LossTerms = LossTerms(), settings: Settings = Settings(),
                state: EngineState = .idle, secondsPerIteration: Double = 0, elapsed: Double = 0,
                width: Int = 0, height: Int = 0, imageGeneration: Int = 0, message: String? = nil) {
        self.iteration = iteration; self.terms = terms; self.settings = settings; self.state = state
        self.secondsPerIteration = secondsPerIteration; self.elapsed = elapsed
        self.width = width; self.height = height; self.imageGeneration = imageGeneration; self.message = message
    }
}
