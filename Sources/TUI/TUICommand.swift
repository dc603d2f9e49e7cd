import ArgumentParser
import Core
import Foundation

/// Options of the interactive screen, shared by `restyle CONTENT STYLE` and `restyle resume`. Each is
/// optional so that the config file's value applies when it is not given.
struct TUIOptions: ParsableArguments {
    @Option(help: "Most preview redraws per second (default 4).")
    var fps: Double?

    @Option(help: "Theme name (default, light, contrast, or one in $RESTYLE_THEMES) or a path to a .theme file.")
    var theme: String?

    @Option(name: .customLong("out-dir"), help: "Folder for snapshots and the session file (default: restyle-out; for resume, the session's folder).")
    var outDir: String?

    @Option(help: "Seconds between automatic session saves (0: never; default 60).")
    var autosave: Double?

    @Option(help: "Colours: auto (24-bit when COLORTERM says so, else what terminfo says), direct (24-bit), 256, 16 or mono.")
    var color: String?

    @Flag(inversion: .prefixedNo, help: "Mouse: click or drag the sliders, wheel, click the view tabs (default on).")
    var mouse: Bool?

    @Option(help: "Preview: auto (pixel graphics when the terminal has them, else symbols), symbols, sixel, kitty or iterm.")
    var preview: String?

    /// The screen's settings: these options, else the config file's, else the defaults.
    func config(file: ConfigFile.Values = .init()) throws -> TUIConfig {
        let fps = self.fps ?? file.fps ?? 4
        let autosave = self.autosave ?? file.autosave ?? 60
        guard fps.isFinite, fps > 0 else { throw RestyleError.badInput("--fps: must be > 0, got \(fps)") }
        guard autosave.isFinite, autosave >= 0 else { throw RestyleError.badInput("--autosave: must be ≥ 0, got \(autosave)") }
        var c = TUIConfig()
        c.fps = fps; c.theme = theme ?? file.theme ?? "default"; c.outDir = outDir ?? "restyle-out"; c.autosave = autosave
        if let color {
            guard let request = ColorRequest(rawValue: color) else {
                throw RestyleError.badInput("--color: expected auto, direct, 256, 16 or mono, got '\(color)'")
            }
            c.color = request
        } else {
            c.color = file.color ?? .auto
        }
        c.mouse = mouse ?? file.mouse ?? true
        if let preview {
            guard let p = PreviewRequest(rawValue: preview) else {
                throw RestyleError.badInput("--preview: expected \(PreviewRequest.choices), got '\(preview)'")
            }
            c.preview = p
        } else {
            c.preview = file.preview ?? .auto
        }
        return c
    }

    /// The config file's values and what to say about it: `warnings` for the terminal, naming the file,
    /// and a shorter `notice` for the status bar. Its theme is checked here, so that a theme the file
    /// names but that cannot be loaded is a warning (the default is used), not a refusal to start.
    /// The config file's values under the command line's, its warnings printed; the file's values too,
    /// for the one (size) that is not a screen option.
    func configWithFile(dirs: [String]) throws -> (TUIConfig, ConfigFile.Values) {
        let file = TUIOptions.readConfigFile(dirs: dirs, usesItsTheme: theme == nil)
        for w in file.warnings { printWarning(w) }
        var cfg = try config(file: file.values)
        cfg.configFile = file.path
        cfg.notice = file.notice
        cfg.presetDirs = Preset.searchDirs()
        return (cfg, file.values)
    }

    static func readConfigFile(dirs: [String], usesItsTheme: Bool)
        -> (values: ConfigFile.Values, path: String?, warnings: [String], notice: String?) {
        guard let path = ConfigFile.path() else { return (.init(), nil, [], nil) }
        var (values, warning) = ConfigFile.load(path)
        var problems = warning.map { [$0] } ?? []
        if usesItsTheme, let t = values.theme {
            do { _ = try Theme.load(t, dirs: dirs) } catch {
                problems.append("theme: \(error); using the default theme")
                values.theme = nil
            }
        }
        let notice = problems.isEmpty ? nil : "config: " + problems.joined(separator: "; ")
        return (values, path, problems.map { "config \(path): \($0)" }, notice)
    }
}

/// `restyle CONTENT STYLE [options]`: the interactive screen (the default subcommand).
struct TUICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Open the interactive screen (the default: `restyle CONTENT STYLE`).")

    @Argument(help: "Content image (PNG or JPEG). With neither image, the demo pair opens.")
    var content: String?

    @Argument(help: "Style image (PNG or JPEG).")
    var style: String?

    @OptionGroup var engine: EngineOptions
    @OptionGroup var ui: TUIOptions

    /// The content and the styles, or neither for the built-in demo pair that `make setup` fetched.
    func inputPaths() throws -> (String, [String]) {
        let styles = engine.stylePaths(positional: style)
        switch (content, styles.isEmpty) {
        case let (c?, false): return (c, styles)
        case (nil, true):
            let c = Demo.path(Demo.content), s = Demo.path(Demo.style)
            for p in [c, s] where !FileManager.default.fileExists(atPath: p) {
                throw RestyleError.badInput("\(p): demo image not found; fetch it with: \(VGGWeights.setupCommand)")
            }
            return (c, [s])
        default:
            throw RestyleError.badInput("need a content and a style image: restyle CONTENT STYLE (or restyle resume SESSION)")
        }
    }

    /// The TUI works at 256 px unless told otherwise: small enough to see progress within seconds on a CPU.
    static let defaultSize = 256

    func run() throws {
        try reportingErrors {
            let (content, style) = try inputPaths()
            let dirs = TUIConfig.themeDirs()
            var (cfg, file) = try ui.configWithFile(dirs: dirs)
            cfg.contentStem = TUIConfig.stem(content)
            cfg.styleStem = style.map(TUIConfig.stem).joined(separator: "+")
            let theme = try Theme.load(cfg.theme, dirs: dirs)
            let settings = try engine.settings(styleCount: style.count)
            try prepareOutDir(cfg.outDir)
            try requireTerminal()
            var handle: EngineHandle?
            // Never replace an earlier run's session without asking.
            if FileManager.default.fileExists(atPath: cfg.sessionPath) {
                if try askToResume(cfg.sessionPath) {
                    let lock = try SessionLock(session: cfg.sessionPath)
                    let refused = engine.startOnlyOptions
                    if !refused.isEmpty { printWarning("\(refused.joined(separator: ", ")) not applied: the session keeps its own") }
                    let h = try Engine.resume(from: cfg.sessionPath, weights: try VGGWeights.loadDefault(),
                                              memoryLimit: try engine.memoryLimit(), changes: try engine.changes())
                    return try withExtendedLifetime(lock) {
                        try TUIRunner.run(engine: h, config: cfg, theme: theme, themeDirs: dirs)
                    }
                }
                cfg.sessionFile = cfg.nextFreeSessionPath()
                writeStderr("restyle: starting a new session: \(Text.escaped(cfg.sessionPath))\n")
            }
            let lock = try SessionLock(session: cfg.sessionPath)
            handle = try makeEngine(content: content, style: style, options: engine, settings: settings,
                                    size: engine.size ?? file.size ?? TUICommand.defaultSize)
            try withExtendedLifetime(lock) {
                try TUIRunner.run(engine: handle!, config: cfg, theme: theme, themeDirs: dirs)
            }
        }
    }
}

/// Asks, on the terminal before the screen opens, whether to resume the pair's saved session:
/// `resume it (iteration 59, β 100, 2 min ago)? [Y/n]`. Enter or y resumes; n starts a new session
/// under a new name. A session that cannot be read is never replaced: a new name is used.
func askToResume(_ path: String) throws -> Bool {
    let summary: SessionFile.Summary
    do { summary = try SessionFile.summary(path) } catch {
        printWarning("\(error); it is kept, and this run gets a new session file")
        return false
    }
    let beta = String(format: "%.3g", summary.settings.beta)
    var age = ""
    if let m = summary.modified { age = ", " + describeAge(Date().timeIntervalSince(m)) + " ago" }
    let paused = summary.paused ? ", paused" : ""
    writeStderr("restyle: \(Text.escaped(path)) exists: resume it (iteration \(summary.iteration), β \(beta), "
                + "\(summary.width)×\(summary.height)\(paused)\(age))? [Y/n] ")
    guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else { return true }
    return !(answer == "n" || answer == "no")
}

func describeAge(_ s: Double) -> String {
    if s < 90 { return "\(max(0, Int(s))) s" }
    if s < 5400 { return "\(Int(s / 60)) min" }
    if s < 86400 * 2 { return "\(Int(s / 3600)) h" }
    return "\(Int(s / 86400)) days"
}

/// `restyle resume SESSION`: reopen a saved session where it stopped.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Continue a saved session in the interactive screen.")

    @Argument(help: "Session file written by the screen (on quit, s, or autosave).")
    var session: String

    @OptionGroup var ui: TUIOptions

    func run() throws {
        try reportingErrors {
            let dirs = TUIConfig.themeDirs()
            var (cfg, _) = try ui.configWithFile(dirs: dirs)
            // The session file is named <content>-x-<style>.session; reuse that for new snapshots.
            let stem = TUIConfig.stem(session)
            if let r = stem.range(of: "-x-") {
                cfg.contentStem = String(stem[..<r.lowerBound]); cfg.styleStem = String(stem[r.upperBound...])
            }
            // Keep writing next to the session unless told otherwise, so its file is updated in place.
            if ui.outDir == nil {
                let dir = (session as NSString).deletingLastPathComponent
                cfg.outDir = dir.isEmpty ? "." : dir
            }
            let theme = try Theme.load(cfg.theme, dirs: dirs)
            try prepareOutDir(cfg.outDir)
            try requireTerminal()
            // Saves go back to the file resumed, unless --out-dir moves them.
            if ui.outDir == nil { cfg.sessionFile = session }
            let lock = try SessionLock(session: cfg.sessionPath)
            let handle = try resumeEngine(session: session)
            try withExtendedLifetime(lock) {
                try TUIRunner.run(engine: handle, config: cfg, theme: theme, themeDirs: dirs)
            }
        }
    }
}

// MARK: - Wiring to Core

/// Loads the images and weights and builds the engine; `size` is the working longest side.
func makeEngine(content: String, style: [String], options: EngineOptions, settings: Settings, size: Int) throws -> EngineHandle {
    let weights = try VGGWeights.loadDefault()
    let inputs = try Inputs.load(content: content, styles: style, size: size, styleSize: options.styleSize,
                                 settings: settings, memoryLimit: try options.memoryLimit())
    // Warnings stay on the terminal after the screen closes, and show in the status bar meanwhile.
    for w in inputs.warnings { printWarning(w) }
    return Engine(try inputs.makeOptimization(weights: weights, settings: settings),
                  message: inputs.warnings.last)
}

/// Rebuilds the engine from a file written by `saveSession(to:)`.
func resumeEngine(session: String) throws -> EngineHandle {
    try Engine.resume(from: session, weights: try VGGWeights.loadDefault(), memoryLimit: MemoryEstimate.defaultLimit)
}

/// The TUI reaches PNG writing only through this function, so tests can substitute it.
func writeSnapshotPNG(_ image: RGBImage, _ alpha: [Float]?, _ path: String, _ text: [(String, String)]) throws {
    try ImageIO.write(image, to: path, text: text, alpha: alpha)
}

// MARK: - Helpers

/// The out-dir is made and checked before the screen opens, so a bad one is a one-line error at start
/// rather than a lost session at quit.
func prepareOutDir(_ dir: String) throws {
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw RestyleError.badInput("--out-dir \(dir): cannot create it (\((error as NSError).localizedDescription))")
        }
        isDir = true
    }
    guard isDir.boolValue else { throw RestyleError.badInput("--out-dir \(dir): not a directory") }
    guard access(dir, W_OK | X_OK) == 0 else { throw RestyleError.badInput("--out-dir \(dir): not writable") }
}

private func requireTerminal() throws {
    guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
        throw RestyleError.badInput("the interactive screen needs a terminal; use `restyle run` for headless work")
    }
}

/// One-line errors on stderr with the documented exit codes, instead of ArgumentParser's generic ones.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as RestyleError {
        printError("\(e)")
        throw ExitCode(e.exitCode)
    } catch let e as ThemeError {
        printError("theme: \(e)")
        throw ExitCode(2)
    }
}

/// The interactive loop: poll keys with a short timeout, redraw what changed, never wait on the engine.
/// Saves the session without the screen: the autosave timer, and the save-and-exit after SIGTERM or
/// SIGHUP when the screen's own quit has not finished in time.
final class SessionKeeper: Sendable {
    let engine: EngineHandle
    let path: String
    private let queue = DispatchQueue(label: "restyle.keeper")
    private let autosaving = LockedBox(false)

    init(engine: EngineHandle, path: String) { self.engine = engine; self.path = path }

    func startAutosave(every seconds: Double, mailbox: Mailbox) {
        guard seconds > 0 else { return }
        autosaving.withLock { $0 = true }
        schedule(.now() + seconds, every: seconds, mailbox: mailbox)
    }

    /// Deadlines are counted from the start, so the period does not drift by the time each save takes.
    private func schedule(_ when: DispatchTime, every seconds: Double, mailbox: Mailbox) {
        queue.asyncAfter(deadline: when) { [self] in
            guard autosaving.withLock({ $0 }) else { return }
            do {
                try engine.saveSession(to: path)
                mailbox.post("autosaved to \(path)")
            } catch {
                mailbox.post("autosave failed: \(error)", error: true)
            }
            var next = when + seconds
            while next < .now() { next = next + seconds }
            schedule(next, every: seconds, mailbox: mailbox)
        }
    }

    /// The screen's loop has begun its own quit (it saves and restores the terminal).
    func quitting() { autosaving.withLock { $0 = false } }

    /// Gives the screen `grace` seconds to quit on its own; if the process is still here then, saves
    /// (the engine abandons its iteration in flight) and exits without touching the terminal, which
    /// may be the stalled thing.
    func terminate(after grace: Double) {
        let engine = self.engine, path = self.path
        queue.asyncAfter(deadline: .now() + grace) {
            engine.requestStop()
            do { try engine.saveSession(to: path) } catch {
                writeStderr("restyle: could not save the session: \(Text.escaped("\(error)"))\n")
                _exit(1)
            }
            _exit(0)
        }
    }
}

enum TUIRunner {
    static func run(engine: EngineHandle, config: TUIConfig, theme: Theme, themeDirs: [String]) throws {
        let inbox = SignalInbox()
        let keeper = SessionKeeper(engine: engine, path: config.sessionPath)
        // Installed before the screen opens, so ncurses leaves these signals alone (it takes over only
        // those left at their default action). SIGTERM and SIGHUP also reach the keeper, which saves
        // and exits on its own if the screen's loop cannot (a stalled SSH link blocks it in write).
        // SIGWINCH too: curses' own handler would ask its descriptor, the output pipe, for the size.
        Signals.watch([SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGCONT, SIGWINCH]) { sig in
            inbox.post(sig)
            if sig == SIGTERM || sig == SIGHUP { keeper.terminate(after: 1.0) }
        }
        // Raw before the screen opens: the terminal's answers to the graphics queries must not echo.
        var modes = TerminalModes()
        modes.enterRaw()
        let env = ProcessInfo.processInfo.environment
        // Every terminal answers CSI c, so the wait is one round trip; the limit is for those that do not.
        // An answer arriving after it would reach the screen as keys, hence a generous one over SSH.
        let answers = config.preview == .symbols ? TerminalAnswers() : TerminalAnswers.query(timeout: 1)
        let proto = GraphicsDetect.choose(request: config.preview, env: env,
                                          chafa: config.preview == .auto ? GraphicsDetect.chafaProtocols(env: env) : [],
                                          attributes: answers.attributes)
        let screen = try CursesScreen(request: config.color, mouse: config.mouse, modes: modes)
        let app = App(engine: engine, config: config, theme: theme, themeDirs: themeDirs,
                      colorMode: screen.colorMode, writePNG: writeSnapshotPNG)
        app.terminalName = screen.terminalName
        app.mouseEnabled = config.mouse
        // A config-file problem was printed before the screen opened; the status bar says it too.
        if let n = config.notice { app.say(n, error: true) }
        let (w0, h0) = screen.size
        if let c = screen.cellPixelSize {
            app.cellPixel = c
        } else if let px = answers.windowPixels, w0 > 0, h0 > 0 {
            app.cellPixel = (Double(px.w) / Double(w0), Double(px.h) / Double(h0))
        }
        app.graphicsProtocol = proto
        app.graphicsOn = proto != nil
        // Without a pixel size from the terminal, the common 10×20 cell.
        let knownCell = screen.cellPixelSize != nil || answers.windowPixels != nil
        let presenter = proto.map {
            GraphicsPresenter(proto: $0, cellPixels: knownCell ? (Int(app.cellPixel.w.rounded()), Int(app.cellPixel.h.rounded())) : (10, 20))
        }
        engine.start()
        // Autosave runs on its own timer thread, never on the screen's, so it keeps its period whatever
        // the terminal does.
        keeper.startAutosave(every: config.autosave, mailbox: app.mailbox)

        var table = StyleTable()
        var dirty = true
        var lastDraw = -Double.infinity
        var lastSignature = ""
        var terminated = false
        var lastBacklog = 0
        // Redraw at least this often for the clock and for throttled preview frames.
        let period = min(0.5, 1 / max(config.fps, 0.1))

        while !app.quitRequested {
            if let k = screen.readKey() {
                switch k {
                case .resize:
                    screen.invalidate(clearScreen: true)
                    if let c = screen.cellPixelSize { app.cellPixel = c }
                case .ctrlZ:
                    presenter?.end(sink: screen)
                    screen.suspend()
                default:
                    app.handle(k)
                }
                dirty = true
            }
            switch inbox.take() {
            case SIGTERM?, SIGHUP?: terminated = true; app.requestQuit()
            case SIGINT?: app.requestQuit()
            case SIGTSTP?: presenter?.end(sink: screen); screen.suspend(); dirty = true
            case SIGCONT?: screen.invalidate(clearScreen: false); dirty = true
            case SIGWINCH?:
                screen.resize()
                screen.invalidate(clearScreen: true)
                if let c = screen.cellPixelSize {
                    app.cellPixel = c
                    presenter?.cellPixels = (Int(c.w.rounded()), Int(c.h.rounded()))
                }
                dirty = true
            default: break
            }
            app.tick()
            if app.needsClear {
                app.needsClear = false
                table = StyleTable()
                screen.invalidate(clearScreen: true)
                dirty = true
            }
            let p = engine.latestProgress()
            let signature = "\(p.iteration) \(p.imageGeneration) \(p.state) \(p.message ?? "") \(p.width)"
            if signature != lastSignature { lastSignature = signature; dirty = true }
            let now = app.now()
            // While the terminal has not taken the last frame (a slow or stalled link), frames are not
            // made at all: the next one, once it has, shows the newest state, and nothing queued is lost.
            let due = dirty || now - lastDraw >= period
            let backlog = screen.output.backlog
            // A frame waiting on a link that is taking bytes follows within 5 ms of the last one going;
            // on a stalled link the loop keeps its usual pace.
            screen.setKeyWait(milliseconds: due && backlog > 0 && backlog < lastBacklog ? 5 : 40)
            lastBacklog = backlog
            if due && backlog == 0 {
                // Styles are interned per table; a long truecolor run would grow it without bound.
                if table.count > 200_000 { table = StyleTable() }
                let (w, h) = screen.size
                var g = CellGrid(width: w, height: h, table: table)
                app.render(into: &g)
                screen.present(g)
                // The image goes after the frame, over the blank cells the frame left for it.
                presenter?.afterFrame(target: app.graphicsOn ? app.graphicsTarget : nil, sink: screen, now: now,
                                      image: { app.graphicsImage() })
                dirty = false
                lastDraw = now
            }
            if let pr = presenter, app.graphicsOn, pr.linkIsSlow(backlog: screen.output.backlog, now: now) {
                app.graphicsTooSlow()
                dirty = true
            }
            if screen.repaintRequested { screen.repaintRequested = false; dirty = true }
        }

        keeper.quitting()
        // Quit: save first, while the screen can still say so.
        app.say("saving session…")
        if screen.output.backlog == 0 {
            let (w, h) = screen.size
            var g = CellGrid(width: w, height: h, table: table)
            app.render(into: &g)
            screen.present(g)
        }
        var saved: String?
        var failure: String?
        // Stop first (at most the iteration in flight), then write: one wait, and the file holds the
        // last iteration the screen showed.
        engine.stop()
        do { saved = try app.saveSessionNow() } catch { failure = "\(error)" }
        presenter?.end(sink: screen)
        screen.end()
        if let saved {
            print("Session saved to \(saved)")
            // As invoked (e.g. .build/release/restyle), so the line can be pasted even when restyle is not on PATH.
            let me = CommandLine.arguments.first.map { $0.contains("/") ? $0 : "restyle" } ?? "restyle"
            print("Resume with: \(shellQuote(me)) resume \(shellQuote(saved))")
        } else if let failure {
            printError("could not save the session: \(failure)")
            throw ExitCode(1)
        }
        if terminated { throw ExitCode(0) }
    }

    static func shellQuote(_ s: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+,:=@")
        if !s.isEmpty && s.unicodeScalars.allSatisfy(safe.contains) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
