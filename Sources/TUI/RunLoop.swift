import Core
import Foundation

/// The iteration loop shared by `restyle run` and `restyle batch run`: iterate until the run is finished,
/// a signal arrives (the step in flight is abandoned, so the state is as after the last whole one), or
/// the loss fails. The first rejected step is reported; `afterEach` runs after every iteration that
/// counted. Returns the failure's message, if the loss failed.
func iterateToEnd(_ opt: Optimization, signals: RunSignals, bar: ProgressBar?, afterEach: (Optimization) -> Void) -> String? {
    var warnedRejected = false
    while !opt.isFinished && signals.caught == nil {
        let outcome = opt.iterate()
        if outcome == .cancelled { break }
        if case .failed(let m) = outcome { return m }
        if case .rejected(let m) = outcome, !warnedRejected {
            warnedRejected = true
            above(bar) { printWarning(m + " (further rejected steps are counted in the summary)") }
        }
        // A stage change shows in the bar; one that could not be made (memory) is worth a line.
        if let m = opt.stageMessage {
            opt.stageMessage = nil
            if m.contains("failed") { above(bar) { printWarning(m) } }
        }
        afterEach(opt)
        bar?.draw(opt)
    }
    return nil
}
