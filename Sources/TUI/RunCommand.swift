import ArgumentParser
import Core
import Foundation

/// `restyle run`: the same optimisation as the TUI, headless, for scripts and batch jobs. It drives the
/// synchronous `Optimization` in a plain loop; signals only set a flag the loop reads between iterations.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Optimise headless and write a PNG or JPEG.",
        discussion: """
            Exit codes: 0 done, 2 bad usage or input, 1 failure (an output that could not be written, or no step \
            could be taken), 130 interrupted (the current image and session are written first).
            Example: restyle run photo.jpg painting.jpg -o out.png --size 512 --beta 100
            """)

    @Argument(help: "Content image (PNG or JPEG). Not needed with --resume.")
    var content: String?

    @Argument(help: "Style image (PNG or JPEG); or give --style once or more. Not needed with --resume.")
    var style: String?

    @Option(name: [.short, .customLong("output")], help: "Where to write the result: .png (settings in its text chunks), .jpg/.jpeg, or - for PNG on stdout.")
    var output: String

    @Option(help: "JPEG quality for a .jpg output, 1 to 100.")
    var quality: Int = 92

    @Option(name: .customLong("bit-depth"), help: "PNG sample depth: 8, or 16 (the float image without 8-bit rounding).")
    var bitDepth: Int = 8

    @OptionGroup var engine: EngineOptions

    @Option(name: .customLong("save-every"), help: "Also write a snapshot every N iterations (OUT-iNNNNN.png).")
    var saveEvery: Int = 0

    @Option(name: .customLong("log-json"), help: "Write one JSON object per iteration to this file, or - for stdout.")
    var logJSON: String?

    @Option(help: "Continue a saved session (from the TUI or --session) instead of starting from images; α, β, γ, lr, optimizer, history, layers, pooling and iterations given with it are applied as changes.")
    var resume: String?

    @Option(help: "Save a resumable session file here when the run ends or is interrupted.")
    var session: String?

    @Flag(help: "No progress bar or summary on stderr.")
    var quiet = false

    @Flag(name: .customLong("dry-run"), help: "Load and check everything, print the working sizes and the estimated peak memory, and stop before the run.")
    var dryRun = false

    func run() throws {
        try reportingErrors { try runChecked() }
    }

    private func runChecked() throws {
        // Installed first: an interrupt while loading exits at once; once iterating, it ends the loop and
        // the current image and session are written before exiting.
        let state = RunSignals()
        Signals.watch([SIGINT, SIGTERM, SIGHUP]) { sig in
            if state.record(sig) { Foundation.exit(sig == SIGINT ? 130 : 128 + sig) }
        }

        // Everything that can be refused is refused here, before any work.
        let target = try OutputTarget(output, quality: quality)
        let sessionPath = try session.map { try checkWritable($0, option: "--session") }
        if let logJSON, logJSON != "-" { _ = try checkWritable(logJSON, option: "--log-json") }
        if target.isStdout && logJSON == "-" { throw RestyleError.badInput("-o - and --log-json - cannot both write to stdout") }
        guard (1...100).contains(quality) else { throw RestyleError.badInput("--quality: must be from 1 to 100, got \(quality)") }
        guard bitDepth == 8 || bitDepth == 16 else { throw RestyleError.badInput("--bit-depth: 8 or 16, got \(bitDepth)") }
        if bitDepth == 16, target.format != .png { throw RestyleError.badInput("--bit-depth 16: only PNG output has 16-bit samples") }
        guard saveEvery >= 0 else { throw RestyleError.badInput("--save-every: must be ≥ 0, got \(saveEvery)") }
        let memoryLimit = try engine.memoryLimit()

        // One process per session file: the one resumed and the one written.
        let locks = try Set([resume, sessionPath].compactMap { $0 }).map { try SessionLock(session: $0) }
        let weights = try VGGWeights.loadDefault()
        let opt: Optimization
        var contentName = content ?? "", styleName = style ?? ""
        if let resume {
            guard !dryRun else { throw RestyleError.badInput("--dry-run: give CONTENT and STYLE images, not --resume") }
            guard content == nil, style == nil else { throw RestyleError.badInput("--resume: give either a session or CONTENT STYLE, not both") }
            let refused = engine.startOnlyOptions
            guard refused.isEmpty else {
                throw RestyleError.badInput("--resume: \(refused.joined(separator: ", ")) cannot change a session already under way (the TUI's u key upscales)")
            }
            let changes = try engine.changes()
            let (o, notes) = try Optimization.resume(from: resume, weights: weights, memoryLimit: memoryLimit)
            for n in notes where !quiet { printWarning("\(resume): \(n)") }
            if !changes.isEmpty, let m = o.apply(changes), m.hasPrefix("change refused") || m.contains("refused") {
                throw RestyleError.badInput(m)
            }
            opt = o
            contentName = "session:" + resume; styleName = contentName
        } else {
            let stylePaths = engine.stylePaths(positional: style)
            guard let content, !stylePaths.isEmpty else { throw RestyleError.badInput("run: need CONTENT and STYLE image paths (or --resume SESSION)") }
            var settings = try engine.settings(styleCount: stylePaths.count)
            if engine.iterations == nil && engine.scaleIterations == nil { settings.iterations = 500 }
            let inputs = try Inputs.load(content: content, styles: stylePaths, size: engine.size ?? 512,
                                         styleSize: engine.styleSize, settings: settings, memoryLimit: memoryLimit)
            styleName = stylePaths.joined(separator: ",")
            if !quiet { for w in inputs.warnings { printWarning(w) } }
            if dryRun {
                let c = inputs.content
                // The style networks run one at a time, so the largest style is what counts.
                let s = inputs.styles.max { $0.width * $0.height < $1.width * $1.height }!
                let fitted = inputs.fitted(settings)
                let need = inputs.estimatedBytes
                    ?? MemoryEstimate.bytes(width: c.width, height: c.height, styleWidth: s.width, styleHeight: s.height, settings: fitted)
                let styles = inputs.styles.map { "\($0.width)×\($0.height)" }.joined(separator: ", ")
                let history = fitted.optimizer == .lbfgs ? ", L-BFGS history \(fitted.lbfgsHistory) (\(fitted.lbfgsPrecision.rawValue))" : ""
                print("dry run: content \(c.width)×\(c.height), style \(styles), \(settings.iterations) iterations\(history); "
                      + "estimated peak memory \(MemoryEstimate.describe(need)) (limit \(MemoryEstimate.describe(memoryLimit)))")
                // The estimate above is the last stage's, the largest: earlier stages need less.
                let schedule = try inputs.schedule(settings: settings)
                if schedule.count > 1 {
                    let counts = ScaleSchedule.iterationsPerStage(total: settings.iterations, scales: schedule.count, given: settings.scaleIterations)
                    let stages = (0..<schedule.count).map { k -> String in
                        let g = schedule.geometry(stage: k, width: c.width, height: c.height,
                                                  styleSizes: inputs.styles.map { ($0.width, $0.height) }, settings: settings)
                        return "\(g.content.width)×\(g.content.height) (\(counts[k]) it)"
                    }
                    print("dry run: \(schedule.count) scales: " + stages.joined(separator: " → "))
                }
                return
            }
            opt = try inputs.makeOptimization(weights: weights, settings: settings)
        }
        guard state.startIterating(opt.cancelFlag) else { throw ExitCode(130) }

        let log = try logJSON.map { try JSONLog(path: $0) }
        let bar = (!quiet && isatty(STDERR_FILENO) != 0) ? ProgressBar() : nil
        let describe: (Optimization) -> [(String, String)] = { o in
            Snapshot.textChunks(settings: o.settings, iteration: o.iteration, content: contentName, style: styleName,
                                width: o.width, height: o.height)
        }
        var warnedSnapshot = false
        let failure = iterateToEnd(opt, signals: state, bar: bar) { opt in
            if let log { above(bar) { log.write(opt) } }
            if saveEvery > 0, opt.iteration > 0, opt.iteration % saveEvery == 0, !target.isStdout {
                let path = Snapshot.numbered(target.path, iteration: opt.iteration)
                do { try ImageIO.write(opt.image, to: path, format: target.format, text: describe(opt), alpha: opt.alpha, bitDepth: bitDepth) } catch {
                    if !warnedSnapshot { warnedSnapshot = true; above(bar) { printWarning("--save-every: \(error) (further failures not reported)") } }
                }
            }
        }
        bar?.finish()

        // The session first: it holds the whole run, so if the image cannot be written, nothing is lost.
        if let sessionPath { try opt.writeSession(to: sessionPath) }
        do {
            try target.write(opt.image, text: describe(opt), alpha: opt.alpha, bitDepth: bitDepth)
        } catch {
            let kept = sessionPath ?? rescueSession(opt)
            printError("\(error)")
            if let kept {
                printError("the run is kept in the session \(kept); write it again with: restyle run --resume \(TUIRunner.shellQuote(kept)) -o OUT.png --iterations \(opt.iteration)")
            }
            throw ExitCode(1)
        }
        if let failure {
            printError("\(failure); no image was improved (lower α, β or γ)")
            throw ExitCode(1)
        }
        if opt.rejectedSteps > 0 && !quiet {
            printWarning("\(opt.rejectedSteps) of \(opt.rejectedSteps + opt.acceptedSteps) steps were undone because they went non-finite")
        }
        if opt.acceptedSteps == 0 && opt.rejectedSteps > 0 {
            printError("no step was accepted: every step went non-finite (lower α, β, γ or --lr); the output is the start image")
            throw ExitCode(1)
        }
        if !quiet {
            writeStderr(String(format: "wrote %@ (iteration %d, total %.6g, %.2f s/it)\n", Text.escaped(target.path), opt.iteration,
                               opt.terms.total, opt.secondsPerIteration))
        }
        withExtendedLifetime(locks) {}
        if let sig = state.caught { throw ExitCode(sig == SIGINT ? 130 : 128 + sig) }
    }

    /// A session next to the output, else in the temporary directory; nil if neither can be written.
    private func rescueSession(_ o: Optimization) -> String? {
        let stem = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = (stem.isEmpty ? "restyle" : stem) + "-rescued-\(getpid()).session"
        let dir = (output as NSString).deletingLastPathComponent
        for d in [dir.isEmpty ? "." : dir, NSTemporaryDirectory()] {
            let p = (d as NSString).appendingPathComponent(name)
            if (try? o.writeSession(to: p)) != nil { return p }
        }
        return nil
    }
}

/// What a signal means to `run`: while loading, exit at once; while iterating, stop after this iteration.
final class RunSignals: Sendable {
    private let phase = LockedBox<(iterating: Bool, caught: Int32?, cancel: CancelFlag?)>((false, nil, nil))
    /// Returns whether the process should exit now; while iterating, abandons the iteration in flight.
    func record(_ sig: Int32) -> Bool {
        let (exitNow, cancel) = phase.withLock { p in
            if p.caught == nil { p.caught = sig }
            return (!p.iterating, p.cancel)
        }
        cancel?.set()
        return exitNow
    }
    /// Returns false if a signal already arrived.
    func startIterating(_ cancel: CancelFlag) -> Bool {
        phase.withLock { p in p.iterating = true; p.cancel = cancel; return p.caught == nil }
    }
    var caught: Int32? { phase.withLock { $0.caught } }
}

/// Where `-o` goes, checked before any work: a path we may replace, with a format its extension names,
/// or stdout.
struct OutputTarget {
    let path: String
    let format: ImageIO.Format
    var isStdout: Bool { path == "-" }

    init(_ path: String, quality: Int) throws {
        self.path = path
        if path == "-" {
            guard isatty(STDOUT_FILENO) == 0 else { throw RestyleError.badInput("-o -: stdout is a terminal; redirect it to a file or pipe") }
            format = .png
            return
        }
        format = try ImageIO.Format.forPath(path, quality: quality)
        _ = try checkWritable(path, option: "-o")
    }

    func write(_ image: RGBImage, text: [(String, String)], alpha: [Float]? = nil, bitDepth: Int = 8) throws {
        guard isStdout else { return try ImageIO.write(image, to: path, format: format, text: text, alpha: alpha, bitDepth: bitDepth) }
        let bytes = try ImageIO.encode(image, format: format, text: text, alpha: alpha, bitDepth: bitDepth)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RestyleError.badInput("-o -: cannot write to stdout: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}

/// Refuses, before any work, a path that could not be written or must not be replaced: empty, a
/// directory, a device, FIFO or socket (or a link to one), or in a missing or read-only directory.
/// Returns the path unchanged.
@discardableResult
func checkWritable(_ path: String, option: String) throws -> String {
    guard !path.isEmpty else { throw RestyleError.badInput("\(option): the path is empty") }
    let target: String
    do { target = try AtomicFile.destination(path) } catch let e as RestyleError {
        throw RestyleError.badInput("\(option): \(e)")
    }
    let dir = (target as NSString).deletingLastPathComponent
    let d = dir.isEmpty ? "." : dir
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
        throw RestyleError.badInput("\(path): cannot write: directory \(d) does not exist")
    }
    guard access(d, W_OK) == 0 else {
        throw RestyleError.badInput("\(path): cannot write: directory \(d) is not writable")
    }
    return path
}

/// One JSON object per line per iteration. A log that cannot be written (a closed pipe, a full disk) is
/// reported once and dropped; the run goes on and still saves.
final class JSONLog {
    private var fd: Int32
    private let path: String
    private let owned: Bool

    init(path: String) throws {
        self.path = path
        if path == "-" { fd = STDOUT_FILENO; owned = false; return }
        let target = try AtomicFile.destination(path)
        fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o666)
        guard fd >= 0 else { throw RestyleError.badInput("\(path): cannot write: \(String(cString: strerror(errno)))") }
        owned = true
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw RestyleError.badInput("--log-json: \(path) is not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    }
    deinit { if owned && fd >= 0 { close(fd) } }

    /// JSON has no NaN or infinity: such a value is written as null.
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

    func write(_ o: Optimization) {
        guard fd >= 0 else { return }
        let t = o.terms
        let line = "{\"iteration\":\(o.iteration),\"total\":\(Self.number(t.total)),\"content\":\(Self.number(t.content)),"
            + "\"style\":\(Self.number(t.style)),\"tv\":\(Self.number(t.tv)),\"seconds\":\(Self.number(o.elapsed)),"
            + "\"scale\":\(o.schedule.stage + 1),\"scales\":\(o.schedule.count),\"width\":\(o.width),\"height\":\(o.height)}\n"
        var bytes = Array(line.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                printWarning("--log-json \(path): \(String(cString: strerror(errno))); the log stops here, the run goes on")
                if owned { close(fd) }
                fd = -1
                return
            }
            done += n
        }
    }
}

/// A one-line progress bar with loss, s/it and ETA, redrawn in place on the terminal, never wider than
/// it (so it never wraps), and cleared while other lines are printed above it, as tqdm does.
final class ProgressBar {
    private var last: String?

    static func terminalWidth() -> Int {
        var ws = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        return 80
    }

    func draw(_ o: Optimization) {
        let n = max(1, o.settings.iterations)
        let frac = min(1, Double(o.iteration) / Double(n))
        let eta = Double(max(0, n - o.iteration)) * o.secondsPerIteration
        var stats = String(format: " %d/%d  loss %.4g  %.2f s/it  ETA %@", o.iteration, n, o.terms.total,
                           o.secondsPerIteration, formatDuration(eta))
        if o.schedule.count > 1 { stats += "  " + ScaleSchedule.label(stage: o.schedule.stage, of: o.schedule.count, width: o.width, height: o.height) }
        let width = Self.terminalWidth() - 1
        let barWidth = max(0, min(24, width - stats.count - 1))
        let filled = Int(frac * Double(barWidth))
        var line = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled) + stats
        if line.count > width { line = String(line.prefix(max(0, width))) }
        last = line
        writeStderr("\r" + line + "\u{1B}[K")
    }

    /// Runs `body` (which prints whole lines) with the bar cleared, then redraws it.
    func above(_ body: () -> Void) {
        guard let last else { return body() }
        writeStderr("\r\u{1B}[K")
        body()
        writeStderr("\r" + last + "\u{1B}[K")
    }

    func finish() { if last != nil { writeStderr("\n") } }

    /// Removes the bar from the screen (a batch job's bar, before its one-line result is printed).
    func clear() {
        if last != nil { writeStderr("\r\u{1B}[K") }
        last = nil
    }
}

/// Prints with the bar out of the way when there is one.
func above(_ bar: ProgressBar?, _ body: () -> Void) {
    if let bar { bar.above(body) } else { body() }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(min(s, 1e9).rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}
