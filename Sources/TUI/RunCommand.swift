import ArgumentParser
import Core
import Foundation

/// `restyle run`: the same engine as the TUI, headless, for scripts and batch jobs.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Optimise headless and write a PNG.",
        discussion: """
            Exit codes: 0 done, 2 bad usage or input, 1 internal error, 130 interrupted (the current image is written first).
            Example: restyle run photo.jpg painting.jpg -o out.png --size 512 --beta 100
            """)

    @Argument(help: "Content image (PNG or JPEG). Not needed with --resume.")
    var content: String?

    @Argument(help: "Style image (PNG or JPEG). Not needed with --resume.")
    var style: String?

    @Option(name: [.short, .customLong("output")], help: "Where to write the result (PNG; settings go in its text chunks).")
    var output: String

    @OptionGroup var engine: EngineOptions

    @Option(name: .customLong("save-every"), help: "Also write a snapshot PNG every N iterations (OUT-iNNNNN.png).")
    var saveEvery: Int = 0

    @Option(name: .customLong("log-json"), help: "Write one JSON object per iteration to this file, or - for stdout.")
    var logJSON: String?

    @Option(help: "Continue a saved session (from the TUI or --session) instead of starting from images.")
    var resume: String?

    @Option(help: "Save a resumable session file here when the run ends or is interrupted.")
    var session: String?

    @Flag(help: "No progress bar or summary on stderr.")
    var quiet = false

    func run() throws {
        // Installed first: an interrupt during loading exits 130 at once; later it stops the engine,
        // and the current image is written before exiting.
        let box = EngineBox()
        let interrupted = Interrupts.onTermination { sig in
            guard let e = box.engine else { Foundation.exit(sig == SIGINT ? 130 : 128 + sig) }
            e.requestStop()
        }
        try checkWritable(output, option: "-o")
        if let session { try checkWritable(session, option: "--session") }
        guard saveEvery >= 0 else { throw RestyleError.badInput("--save-every: must be ≥ 0, got \(saveEvery)") }
        let weights = try VGGWeights.loadDefault()
        let eng: Engine
        var contentName = content ?? "", styleName = style ?? ""
        if let resume {
            guard content == nil, style == nil else { throw RestyleError.badInput("--resume: give either a session or CONTENT STYLE, not both") }
            eng = try Engine.resume(from: resume, weights: weights)
            if let n = engine.iterations { eng.update { $0.iterations = n } }
            contentName = "session:" + resume; styleName = contentName
        } else {
            guard let content, let style else { throw RestyleError.badInput("run: need CONTENT and STYLE image paths (or --resume SESSION)") }
            let settings = try engine.settings()
            let inputs = try Inputs.load(content: content, style: style, size: engine.size ?? 512,
                                         styleSize: engine.styleSize, initKind: settings.initKind)
            eng = try inputs.makeEngine(weights: weights, settings: settings)
        }

        let log = try logJSON.map { try JSONLog(path: $0) }
        let bar = (!quiet && isatty(2) != 0) ? ProgressBar() : nil
        let output = self.output, saveEvery = self.saveEvery
        let describe: (EngineProgress) -> [(String, String)] = { p in
            Snapshot.textChunks(settings: p.settings, iteration: p.iteration, content: contentName, style: styleName,
                                width: p.width, height: p.height)
        }
        eng.onProgress = { [weak eng] p in
            log?.write(p)
            bar?.draw(p)
            if saveEvery > 0, p.iteration > 0, p.iteration % saveEvery == 0, let eng {
                let path = Snapshot.numbered(output, iteration: p.iteration)
                try? ImageIO.writePNG(eng.currentImage().image, to: path, text: describe(p))
            }
        }

        box.engine = eng
        eng.start()
        eng.waitUntilFinished()
        eng.stop()
        bar?.finish()
        let p = eng.latestProgress()
        if case .error(let m) = p.state { throw RestyleError.internal(m) }
        try ImageIO.writePNG(eng.currentImage().image, to: output, text: describe(p))
        if let session { try eng.saveSession(to: session) }
        if !quiet {
            fputs(String(format: "wrote %@ (iteration %d, total %.6g, %.2f s/it)\n", output, p.iteration, p.terms.total, p.secondsPerIteration), stderr)
        }
        if let sig = interrupted.signal { throw ExitCode(sig == SIGINT ? 130 : 128 + sig) }
    }
}

final class EngineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Engine?
    var engine: Engine? {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}

/// Refuses before any work is done when the result could not be written.
func checkWritable(_ path: String, option: String) throws {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw RestyleError.badInput("\(path): is a directory (\(option) needs a file path)")
    }
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw RestyleError.badInput("\(path): cannot write: directory \(dir) does not exist")
    }
    guard access(dir, W_OK) == 0 else {
        throw RestyleError.badInput("\(path): cannot write: directory \(dir) is not writable")
    }
}

/// One JSON object per line per iteration.
final class JSONLog {
    let handle: FileHandle
    init(path: String) throws {
        if path == "-" { handle = .standardOutput; return }
        try checkWritable(path, option: "--log-json")
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw RestyleError.badInput("\(path): cannot write")
        }
        handle = h
    }
    func write(_ p: EngineProgress) {
        let t = p.terms
        let line = "{\"iteration\":\(p.iteration),\"total\":\(t.total),\"content\":\(t.content),\"style\":\(t.style),\"tv\":\(t.tv),\"seconds\":\(p.elapsed)}\n"
        handle.write(Data(line.utf8))
    }
}

/// A one-line progress bar with loss, s/it and ETA, redrawn in place on a terminal.
final class ProgressBar {
    func draw(_ p: EngineProgress) {
        let n = max(1, p.settings.iterations)
        let frac = min(1, Double(p.iteration) / Double(n))
        let width = 24, filled = Int(frac * Double(width))
        let eta = Double(max(0, n - p.iteration)) * p.secondsPerIteration
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "\r%@ %d/%d  loss %.4g  %.2f s/it  ETA %@ ", bar, p.iteration, n, p.terms.total,
                          p.secondsPerIteration, formatDuration(eta))
        fputs(line + "\u{1B}[K", stderr)
    }
    func finish() { fputs("\n", stderr) }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}
