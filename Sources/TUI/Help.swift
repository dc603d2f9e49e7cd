/// What the help overlay says. Kept apart from drawing so the words can be read (and tested) as a list.
extension OverlayWidget {
    /// Every key.
    static let helpLines: [(String, String)] = [
        ("space", "pause / resume; at the limit, continue"),
        ("↑ ↓  k j  Tab", "select a slider"),
        ("← →  h l", "change by ×10^(1/8)"),
        ("Shift-← →  H L", "change by ×10^(1/2)"),
        ("=", "type a value: Enter applies, Esc not"),
        ("s", "save PNG snapshot and session"),
        ("o", "switch optimizer L-BFGS / Adam"),
        ("r", "restart from the init image"),
        ("u", "continue at twice the size"),
        ("c", "colors: style / luminance / match"),
        ("p", "next preset (classic, strong, soft, …)"),
        ("1 2 3  v", "show result / content / style(s)"),
        ("t", "next theme (remembered in the config)"),
        ("g", "preview in pixel graphics / symbols"),
        ("?", "this help"),
        ("q  Ctrl-C", "save the session and quit"),
        ("Ctrl-Z", "suspend"),
    ]
}

extension SliderKind {
    /// What raising the value does to the picture, for the line under the sliders: at most 28
    /// characters, the pane's width at 60×18.
    var hint: String {
        switch self {
        case .alpha: return "higher: more like the photo"
        case .beta: return "higher: more of the style"
        case .blend: return "higher: more of this style"
        case .styleScale: return "lower: bigger brush strokes"
        case .tv: return "higher: smoother picture"
        case .lr: return "higher: faster, less stable"
        }
    }

    /// The same in a few more words, for help: at most 39 characters, what fits beside the keys at 60×18.
    var help: String {
        switch self {
        case .alpha: return "higher keeps more of the photo's shapes"
        case .beta: return "higher paints more of the style image"
        case .blend: return "this style's share of the style loss"
        case .styleScale: return "style size vs picture; lower: bigger"
        case .tv: return "higher smooths out grain and speckle"
        case .lr: return "higher: bigger steps, faster, jumpier"
        }
    }
}

extension App {
    /// The keys, what each slider does, and the facts about this screen that have no room elsewhere.
    func helpLines() -> [(String, String)] {
        var lines = OverlayWidget.helpLines
        lines.append(("", ""))
        lines += SliderKind.all(styles: settings.styleBlend.count).map { ($0.label, $0.help) }
        if mouseEnabled {
            lines.append(("mouse", "click a slider's bar, or drag along it"))
            lines.append(("", "wheel: a notch; click 1 2 3 in the title"))
        }
        lines.append(("", ""))
        lines.append(("colour", colorMode.label + (terminalName.isEmpty ? "" : " (\(terminalName))")))
        let graphics = graphicsProtocol.map { graphicsOn ? "\($0.label) graphics" : "symbols (g: \($0.label))" }
        lines.append(("preview", graphics ?? "symbols (no pixel graphics found)"))
        lines.append(("memory", "\(StatusWidget.formatBytes(engine.memoryBytes)) now, "
                      + "peak \(StatusWidget.formatBytes(engine.peakMemoryBytes))"))
        return lines
    }
}
