import Core
import Foundation

/// Everything the screen shows that is not the engine's: selection, overlays, messages.
/// Owned by the UI thread; background work reports back through `post`, which is locked.
final class App {
    typealias PNGWriter = @Sendable (_ image: RGBImage, _ alpha: [Float]?, _ path: String, _ text: [(String, String)]) throws -> Void

    let engine: EngineHandle
    var config: TUIConfig
    let themeDirs: [String]
    private(set) var theme: Theme
    private(set) var styles: ThemeStyles
    var colorMode: ColorMode
    /// The terminfo entry in use, shown in help with the colour mode.
    var terminalName = ""
    /// Pixel size of one character cell; 1:2 unless the terminal says otherwise.
    var cellPixel: (w: Double, h: Double) = (1, 2)
    /// The pixel protocol the preview can use (detected, or asked for with --preview); nil when the
    /// terminal has none. `g` switches between it and symbols.
    var graphicsProtocol: GraphicsProtocol?
    var graphicsOn = false
    /// Set by each frame: where the preview image goes in graphics (nil when it is not shown).
    var graphicsTarget: GraphicsTarget?

    /// The settings as the user has set them. Kept here rather than read back from the engine
    /// because the engine applies changes only before its next iteration, and a key press must
    /// show on screen at once.
    private(set) var settings: Settings
    var selected: SliderKind = .alpha
    var editor: SliderEditor?
    var source: PreviewSource = .result
    /// The preset `p` last went to, even if it failed to load, so the next press moves past it.
    var lastPresetTried: String?
    /// Which style the style view shows, when there are several.
    var styleIndex = 0
    var showHelp = false {
        didSet { if showHelp != oldValue { helpScroll = 0 } }
    }
    /// First help line shown, when help is taller than the screen; clamped when drawn.
    var helpScroll = 0
    /// The largest useful `helpScroll` at the last frame's size.
    var helpScrollMax = Int.max
    var confirmRestart = false
    private(set) var quitRequested = false
    /// Set when the terminal must be cleared before the next frame (theme change).
    var needsClear = false

    private(set) var message: String?
    private(set) var messageIsError = false
    private var messageTime = -Double.infinity

    /// Seconds per iteration since the last restart or upscale, for the status bar and its ETA.
    var rate = RateMeter()
    /// The size of the last frame drawn: mouse reports are hit-tested against what the user saw.
    var screenSize = (w: 0, h: 0)
    /// Whether the terminal reports the mouse (off with --no-mouse or `mouse = off`); help says so.
    var mouseEnabled = false
    /// The slider whose bar is being dragged. The value shows at once but is applied on release: each
    /// change resets L-BFGS and re-evaluates, which every intermediate position would do again.
    private(set) var dragging: SliderKind?

    let preview = PreviewRenderer()
    private var lastPreviewTime = -Double.infinity
    var now: () -> Double
    var writePNG: PNGWriter
    /// Where slow work (file writes, upscaling) runs, so keys keep working meanwhile. The work reaches
    /// back only through `mailbox`.
    var runInBackground: (@escaping @Sendable () -> Void) -> Void
    let mailbox = Mailbox()

    init(engine: EngineHandle, config: TUIConfig, theme: Theme, themeDirs: [String], colorMode: ColorMode,
         writePNG: @escaping PNGWriter, now: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.engine = engine; self.config = config; self.theme = theme; self.styles = theme.styles
        self.themeDirs = themeDirs; self.colorMode = colorMode; self.writePNG = writePNG; self.now = now
        self.settings = engine.latestProgress().settings
        let queue = DispatchQueue(label: "restyle.tui.background")
        self.runInBackground = { work in queue.async(execute: work) }
    }

    // MARK: messages

    func say(_ m: String, error: Bool = false) {
        message = m; messageIsError = error; messageTime = now()
    }

    /// For background work: the message shows on the next frame.
    func post(_ m: String, error: Bool = false) { mailbox.post(m, error: error) }

    /// Returns whether anything arrived, so the loop knows to redraw.
    @discardableResult
    func drainMailbox() -> Bool {
        let items = mailbox.take()
        for (m, e) in items { say(m, error: e) }
        return !items.isEmpty
    }

    /// The message for the status bar: ours for a while after it was said, then the engine's latest.
    func statusMessage(progress: EngineProgress) -> (String?, Bool) {
        if let m = message, now() - messageTime < 10 || progress.message == nil { return (m, messageIsError) }
        return (progress.message, false)
    }

    // MARK: actions

    func requestQuit() { quitRequested = true }

    /// The sliders on screen, in order: a blend weight per style when there are several.
    var sliderKinds: [SliderKind] { SliderKind.all(styles: settings.styleBlend.count) }

    /// The sliders' labels; a blend weight is labelled with its style file's name, shortened.
    var sliderLabels: [String] {
        let names = config.styleStem.split(separator: "+").map(String.init)
        return sliderKinds.map { kind in
            guard case .blend(let k) = kind, names.count == settings.styleBlend.count else { return kind.label }
            return "w " + names[k]
        }
    }

    func layout(width: Int, height: Int) -> ScreenLayout {
        ScreenLayout.compute(width: width, height: height, sliderRows: sliderKinds.count)
    }

    /// The colour mode after the present one: style → luminance → match → style.
    func cycleColors() {
        let all = ColorPreservation.allCases
        let next = all[(all.firstIndex(of: settings.colors)! + 1) % all.count]
        settings.colors = next
        engine.update { $0.colors = next }
        say("colors: \(next.rawValue)" + (next == .luminance ? " (the content's chroma is kept)" : next == .match ? " (style colours matched to the content)" : ""))
    }

    /// `p`: the next preset after the one last chosen (built-ins first, then the user's, by name). A
    /// preset that cannot be loaded is reported and passed over by the next press.
    func cyclePreset() {
        let names = Preset.files(dirs: config.presetDirs).availableNames()
        let i = (lastPresetTried ?? settings.preset).flatMap { names.firstIndex(of: $0) } ?? -1
        let next = names[(i + 1) % names.count]
        lastPresetTried = next
        do {
            let p = try Preset.load(next, dirs: config.presetDirs)
            p.apply(to: &settings)
            engine.update { p.apply(to: &$0) }
            say("preset \(Text.escaped(next)): \(p.summary)")
        } catch {
            say("\(error)", error: true)
        }
    }

    /// `v`: result → content → each style → result.
    func cycleView() {
        let n = max(1, settings.styleBlend.count)
        switch source {
        case .result: source = .content
        case .content: source = .style; styleIndex = 0
        case .style:
            if styleIndex + 1 < n { styleIndex += 1 } else { source = .result; styleIndex = 0 }
        }
    }

    func change(_ kind: SliderKind, to value: Double) {
        kind.set(value, in: &settings)
        engine.update { kind.set(value, in: &$0) }
    }

    func dragSlider(_ kind: SliderKind, to value: Double) {
        dragging = kind
        kind.set(value, in: &settings)
    }

    /// Applies a drag in progress; also called before any other input, so a lost release cannot leave
    /// the screen showing a value the engine does not have.
    func endDrag() {
        guard let k = dragging else { return }
        dragging = nil
        change(k, to: k.value(in: settings))
    }

    func step(notches: Int, big: Bool) {
        let k = selected
        let v = SliderMath.step(k.value(in: settings), notches: notches, big: big, floor: k.floor, allowsZero: k.allowsZero)
        change(k, to: v)
    }

    func toggleOptimizer() {
        let next: OptimizerKind = settings.optimizer == .lbfgs ? .adam : .lbfgs
        settings.optimizer = next
        engine.update { $0.optimizer = next }
        say("optimizer: \(next == .lbfgs ? "L-BFGS" : "Adam")")
    }

    /// At the iteration limit, space means "keep going": for as many iterations again as the limit
    /// (500 → 1000; from a limit of 0, 100). Paused at the limit, one press resumes and continues.
    func togglePause() {
        let p = engine.latestProgress()
        // The limit as the user has set it: the engine's copy may not have taken the last change yet.
        let limit = settings.iterations
        if p.state == .finished || (engine.isPaused && p.iteration >= limit) {
            let target = min(Limits.maxIterations, max(limit, p.iteration) + (limit > 0 ? limit : 100))
            guard target > limit else { say("the iteration limit is already at its maximum", error: true); return }
            settings.iterations = target
            engine.update { $0.iterations = target }
            if engine.isPaused { engine.resume() }
            say("continuing to \(target) iterations")
            return
        }
        if engine.isPaused { engine.resume(); say("resumed") } else { engine.pause(); say("paused") }
    }

    func snapshot() {
        let (image, _) = engine.currentImage()
        let alpha = engine.resultAlpha.flatMap { $0.count == image.width * image.height ? $0 : nil }
        let p = engine.latestProgress()
        let cfg = config
        // The same chunks as `restyle run` writes, with the slider values the user sees.
        let text = Snapshot.textChunks(settings: settings, iteration: p.iteration, content: cfg.contentStem,
                                       style: cfg.styleStem, width: image.width, height: image.height)
        let engine = self.engine, write = writePNG, mailbox = self.mailbox
        say("saving snapshot…")
        runInBackground {
            do {
                try FileManager.default.createDirectory(atPath: cfg.outDir, withIntermediateDirectories: true)
                // Named inside the serial queue so two quick presses cannot pick the same name.
                let path = cfg.snapshotPath(iteration: p.iteration)
                try write(image, alpha, path, text)
                try Self.saveSession(engine, cfg)
                mailbox.post("snapshot saved to \(path)")
            } catch {
                mailbox.post("snapshot failed: \(error)", error: true)
            }
        }
    }

    func saveSessionInBackground(reason: String) {
        let cfg = config, engine = self.engine, mailbox = self.mailbox
        runInBackground {
            do {
                try Self.saveSession(engine, cfg)
                mailbox.post("\(reason) to \(cfg.sessionPath)")
            } catch {
                mailbox.post("\(reason) failed: \(error)", error: true)
            }
        }
    }

    /// Used on quit and on SIGHUP/SIGTERM, where the caller must know the file is written before exiting.
    func saveSessionNow() throws -> String {
        try Self.saveSession(engine, config)
        return config.sessionPath
    }

    /// Writes the session into the out-dir, creating the folder on first use.
    static func saveSession(_ engine: EngineHandle, _ cfg: TUIConfig) throws {
        try FileManager.default.createDirectory(atPath: cfg.outDir, withIntermediateDirectories: true)
        try engine.saveSession(to: cfg.sessionPath)
    }

    func upscale() {
        let engine = self.engine, mailbox = self.mailbox
        rate.reset()
        say("upscaling…")
        runInBackground {
            do {
                try engine.upscale()
                let p = engine.latestProgress()
                mailbox.post("upscale requested (was \(p.width)×\(p.height))")
            } catch {
                mailbox.post("upscale failed: \(error)", error: true)
            }
        }
    }

    func cycleTheme() {
        let names = Theme.availableNames(dirs: themeDirs)
        let i = names.firstIndex(of: theme.name) ?? -1
        let next = names[(i + 1) % names.count]
        do {
            try setTheme(Theme.load(next, dirs: themeDirs))
            say("theme: \(next)")
        } catch {
            say("\(error)", error: true)
            return
        }
        rememberTheme(next)
    }

    /// Writes the theme into the config file, changing only its theme line, so the next start uses it.
    func rememberTheme(_ name: String) {
        guard let path = config.configFile else { return }
        let mailbox = self.mailbox
        runInBackground {
            do { try ConfigFile.rememberTheme(name, at: path) } catch {
                mailbox.post("theme not remembered: \(error)", error: true)
            }
        }
    }

    /// `g`: graphics or block symbols in the preview.
    func toggleGraphics() {
        guard let p = graphicsProtocol else {
            say("this terminal has no pixel graphics that restyle knows of; --preview sixel, kitty or iterm forces one", error: true)
            return
        }
        graphicsOn.toggle()
        say(graphicsOn ? "preview: \(p.label) graphics" : "preview: symbols")
    }

    /// The link took too long to carry a graphics frame: symbols from now on, unless `g` again.
    func graphicsTooSlow() {
        graphicsOn = false
        say("slow link: the preview is back to symbols (g for graphics)", error: true)
    }

    func setTheme(_ t: Theme) {
        theme = t; styles = t.styles; needsClear = true
    }

    /// Called every loop pass, for time-driven work of the screen. (Autosave is not here: it runs on its
    /// own timer thread, see SessionKeeper, so a stalled terminal cannot delay it.)
    func tick() {}

    // MARK: preview throttle

    /// Whether a new result image may be rendered now (at most --fps per second).
    func previewDue() -> Bool {
        let t = now()
        guard config.fps > 0 else { return true }
        return t - lastPreviewTime >= 1 / config.fps
    }
    func previewRendered() { lastPreviewTime = now() }
}

/// Messages from background work to the screen, which shows them on its next frame.
final class Mailbox: Sendable {
    private let items = LockedBox<[(String, Bool)]>([])
    func post(_ m: String, error: Bool = false) { items.withLock { $0.append((m, error)) } }
    func take() -> [(String, Bool)] { items.withLock { i in defer { i.removeAll() }; return i } }
}
