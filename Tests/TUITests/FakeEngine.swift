import Core
import Foundation
@testable import TUI

/// Records what the UI asked for and answers at once, like the real engine promises to.
/// Unchecked: the tests that use it run the App's background work inline, on the test's own thread.
final class FakeEngine: EngineHandle, @unchecked Sendable {
    var progress = EngineProgress(iteration: 12, settings: Settings(), state: .running, secondsPerIteration: 0.5,
                            elapsed: 6, width: 32, height: 24, imageGeneration: 1)
    var image = RGBImage(width: 32, height: 24, fill: 128)
    var history: [HistoryPoint] = []
    var marks: [Int] = []
    var updates = 0
    var restarts = 0
    var upscales = 0
    var savedSessions: [String] = []
    var started = false, stopped = false
    private(set) var isPaused = false

    func start() { started = true }
    func pause() { isPaused = true; progress.state = .paused }
    func resume() { isPaused = false; progress.state = .running }
    func update(_ change: @escaping @Sendable (inout Settings) -> Void) { updates += 1; change(&progress.settings) }
    func restart() { restarts += 1 }
    func stop() { stopped = true }
    func requestStop() { stopped = true }
    func latestProgress() -> EngineProgress { progress }
    func currentImage() -> (image: RGBImage, generation: Int) { (image, progress.imageGeneration) }
    func lossHistory() -> (points: [HistoryPoint], marks: [Int]) { (history, marks) }
    func upscale() throws { upscales += 1 }
    func saveSession(to path: String) throws { savedSessions.append(path) }
    var contentImage: RGBImage { RGBImage(width: 32, height: 24, fill: 50) }
    var styleImages: [RGBImage] { [RGBImage(width: 24, height: 24, fill: 200)] }
    var resultAlpha: [Float]? { nil }
    var memory = 250 << 20
    var memoryBytes: Int { memory }
    var peakMemoryBytes: Int { 300 << 20 }
}

func makeApp(_ engine: FakeEngine, colorMode: ColorMode = .c256) -> App {
    var clock = 1000.0
    let app = App(engine: engine, config: TUIConfig(), theme: Theme.fallback, themeDirs: [], colorMode: colorMode,
                  writePNG: { _, _, _, _ in }, now: { clock += 0.001; return clock })
    app.runInBackground = { $0() }
    return app
}

/// One whole frame of the app, as the screen would draw it.
func frame(_ app: App, _ w: Int = 120, _ h: Int = 40) -> CellGrid {
    var g = CellGrid(width: w, height: h)
    app.render(into: &g)
    return g
}

/// The status bar's row of that frame.
func statusRow(_ app: App, _ w: Int = 120, _ h: Int = 40) -> String {
    frame(app, w, h).row(ScreenLayout.compute(width: w, height: h).status.y)
}
