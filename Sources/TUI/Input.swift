import Core

/// A key press, already decoded from curses so the handling logic is testable.
enum Key: Equatable {
    case char(Character)
    case up, down, left, right, shiftLeft, shiftRight
    case pageUp, pageDown
    case tab, backTab, enter, escape, backspace
    case resize, ctrlC, ctrlZ
    case mouse(MouseEvent)
    case other(Int)
}

extension App {
    /// One key press. Overlays (editor, restart question, help) take keys before the normal map.
    func handle(_ key: Key) {
        if case .mouse(let e) = key { handleMouse(e); return }
        endDrag()
        if key == .ctrlC { requestQuit(); return }
        if editor != nil { handleEditor(key); return }
        if confirmRestart {
            confirmRestart = false
            if key == .char("y") || key == .char("Y") {
                engine.restart(); rate.reset(); say("restarted from the init image")
            }
            else { say("restart cancelled") }
            return
        }
        if showHelp {
            // Arrows scroll a help taller than the screen; any other key closes it, so nobody is stuck
            // in it. q closes it too: quitting from help by reflex would be a surprise.
            switch key {
            case .up, .char("k"): helpScroll = max(0, min(helpScroll, helpScrollMax) - 1)
            case .down, .char("j"): helpScroll = min(helpScroll + 1, helpScrollMax)
            case .pageUp: helpScroll = max(0, min(helpScroll, helpScrollMax) - 10)
            case .pageDown: helpScroll = min(helpScroll + 10, helpScrollMax)
            default: showHelp = false
            }
            return
        }
        switch key {
        case .up, .char("k"), .backTab: move(-1)
        case .down, .char("j"), .tab: move(1)
        case .right, .char("l"): step(notches: 1, big: false)
        case .left, .char("h"): step(notches: -1, big: false)
        case .shiftRight, .char("L"): step(notches: 1, big: true)
        case .shiftLeft, .char("H"): step(notches: -1, big: true)
        case .char("="):
            editor = SliderEditor(kind: selected, text: "")
            say("type a value for \(selected.label), Enter applies, Esc cancels")
        case .char(" "): togglePause()
        case .char("s"): snapshot()
        case .char("o"): toggleOptimizer()
        case .char("r"):
            confirmRestart = true
            say("restart from the init image? y/n")
        case .char("u"): upscale()
        case .char("1"): source = .result
        case .char("2"): source = .content
        case .char("3"): source = .style
        case .char("v"): cycleView()
        case .char("c"): cycleColors()
        case .char("p"): cyclePreset()
        case .char("t"): cycleTheme()
        case .char("g"): toggleGraphics()
        case .char("?"): showHelp = true
        case .char("q"): requestQuit()
        default: break
        }
    }

    private func move(_ d: Int) {
        let kinds = sliderKinds
        let n = kinds.count
        selected = kinds[((kinds.firstIndex(of: selected) ?? 0) + d + n) % n]
    }

    private func handleEditor(_ key: Key) {
        guard var ed = editor else { return }
        switch key {
        case .escape:
            editor = nil; say("edit cancelled")
        case .enter:
            switch SliderMath.parse(ed.text, allowsZero: ed.kind.allowsZero) {
            case .success(let v):
                editor = nil
                change(ed.kind, to: v)
                say("\(ed.kind.label) = \(SliderMath.format(v))")
            case .failure(let e):
                // Refused: the value stays as it was and the editor stays open to fix the typing.
                say("\(ed.kind.label): \(e)", error: true)
            }
        case .backspace:
            if !ed.text.isEmpty { ed.text.removeLast() }
            editor = ed
        case .char(let c) where !c.isNewline && ed.text.count < 24:
            ed.text.append(c); editor = ed
        default: break
        }
    }
}
