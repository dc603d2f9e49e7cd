import Core
import XCTest
@testable import TUI

/// Which terminals get which image protocol, from their environment, chafa's database and their answer
/// to CSI c.
final class GraphicsDetectTests: XCTestCase {
    func choose(_ env: [String: String], _ request: PreviewRequest = .auto, attributes: [Int]? = nil) -> GraphicsProtocol? {
        GraphicsDetect.choose(request: request, env: env, chafa: GraphicsDetect.chafaProtocols(env: env), attributes: attributes)
    }

    func testTerminalsByEnvironment() {
        XCTAssertNil(choose(["TERM": "xterm-256color"]), "a plain xterm without sixel in its answer")
        XCTAssertNil(choose(["TERM": "xterm-256color", "COLORTERM": "truecolor"]))
        XCTAssertEqual(choose(["TERM": "xterm-kitty"]), .kitty)
        XCTAssertEqual(choose(["TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"]), .kitty)
        XCTAssertEqual(choose(["TERM": "xterm-ghostty"]), .kitty)
        XCTAssertEqual(choose(["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"]), .iterm)
        XCTAssertEqual(choose(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]), .sixel)
        XCTAssertEqual(choose(["TERM": "xterm-256color", "WEZTERM_EXECUTABLE": "/usr/bin/wezterm-gui"]), .sixel)
        // From chafa's database alone.
        XCTAssertEqual(choose(["TERM": "foot"]), .sixel)
        XCTAssertEqual(choose(["TERM": "mlterm"]), .sixel)
    }

    func testDeviceAttributesDecideSixel() {
        // xterm -ti vt340, Windows Terminal, Konsole: known by their answer, whatever TERM says.
        XCTAssertEqual(choose(["TERM": "xterm-256color"], attributes: [63, 1, 2, 4, 6, 9, 15, 22]), .sixel)
        XCTAssertEqual(choose(["TERM": "xterm-256color", "WT_SESSION": "x"], attributes: [61, 4, 6, 7, 14, 21, 22, 23, 24, 28, 32, 42]), .sixel)
        XCTAssertNil(choose(["TERM": "xterm-256color"], attributes: [1, 2]), "a VT100 with AVO")
        XCTAssertNil(choose(["TERM": "xterm-256color"], attributes: [4]), "4 as the device class is not the sixel flag")
    }

    func testInsideTmuxOnlySixelGetsThroughAndOnlyWhenTmuxSaysSo() {
        let kittyInTmux = ["TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "KITTY_WINDOW_ID": "1"]
        XCTAssertNil(choose(kittyInTmux), "kitty's sequences do not pass through tmux")
        XCTAssertEqual(choose(kittyInTmux, attributes: [65, 1, 4, 9]), .sixel, "tmux 3.4 with sixel says 4")
        XCTAssertNil(choose(["TERM": "screen-256color", "TERM_PROGRAM": "iTerm.app"]))
    }

    func testRequestOverrides() {
        XCTAssertNil(choose(["TERM": "xterm-kitty"], .symbols))
        XCTAssertEqual(choose(["TERM": "xterm-256color"], .sixel), .sixel)
        XCTAssertEqual(choose(["TERM": "tmux-256color", "TMUX": "x"], .kitty), .kitty)
        XCTAssertEqual(choose(["TERM": "xterm"], .iterm), .iterm)
    }

    func testAnswersAreParsedAmongOtherBytes() {
        let da = Array("x\u{1B}[?63;1;2;4;6;9;15;22cy".utf8)
        XCTAssertEqual(GraphicsDetect.parseAttributes(da), [63, 1, 2, 4, 6, 9, 15, 22])
        let both = Array("\u{1B}[4;604;964t\u{1B}[?62;22c".utf8)
        XCTAssertEqual(GraphicsDetect.parseWindowPixels(both)?.w, 964)
        XCTAssertEqual(GraphicsDetect.parseWindowPixels(both)?.h, 604)
        XCTAssertEqual(GraphicsDetect.parseAttributes(both), [62, 22])
        // Hostile or cut-off answers are no answer, never a trap.
        for bad in ["\u{1B}[?63;1", "\u{1B}[?99999999999999999999c", "\u{1B}[4;0;0t", "\u{1B}[4;-1;5t",
                    "\u{1B}[4;999999;10t", "", "\u{1B}[?", String(repeating: "\u{1B}[?", count: 2000)] {
            let b = Array(bad.utf8)
            XCTAssertNil(GraphicsDetect.parseWindowPixels(b), bad.debugDescription)
            if bad.contains("c") { XCTAssertNil(GraphicsDetect.parseAttributes(b), bad.debugDescription) }
        }
        XCTAssertNil(GraphicsDetect.parseAttributes(Array("\u{1B}[?63;1;2".utf8)))
    }
}

/// The bandwidth cap: at most one new image every 2 s and 100 KB/s on average.
final class GraphicsBudgetTests: XCTestCase {
    /// Offers a new image every 0.25 s for `seconds` and returns the times and sizes sent.
    func simulate(frameBytes: Int, seconds: Double, budget: inout GraphicsBudget) -> [(Double, Int)] {
        var sent: [(Double, Int)] = []
        var t = 0.0
        while t < seconds {
            if budget.allowsUpdate(now: t) { budget.spent(frameBytes, now: t); sent.append((t, frameBytes)) }
            t += 0.25
        }
        return sent
    }

    func testSmallFramesAreLimitedByTheInterval() {
        var b = GraphicsBudget()
        let sent = simulate(frameBytes: 20_000, seconds: 60, budget: &b)
        XCTAssertEqual(sent.count, 30, "one every 2 s")
        for (a, c) in zip(sent, sent.dropFirst()) { XCTAssertGreaterThanOrEqual(c.0 - a.0, 2) }
    }

    func testLargeFramesAreLimitedByTheByteRate() {
        var b = GraphicsBudget()
        let sent = simulate(frameBytes: 350_000, seconds: 120, budget: &b)
        let total = sent.map(\.1).reduce(0, +)
        // The bucket's depth and one frame of debt, and otherwise 100 KB/s.
        XCTAssertLessThanOrEqual(Double(total), 200_000 + 100_000 * 120 + 350_000)
        // Over the second minute, well past the first burst, the average is under the cap.
        let late = sent.filter { $0.0 >= 60 }.map(\.1).reduce(0, +)
        XCTAssertLessThanOrEqual(Double(late) / 60, 100_000 * 1.06)
        XCTAssertGreaterThan(Double(late) / 60, 60_000, "and not starved either")
        // Once the first burst is spent, 350 KB frames go every 3.5 s.
        for (a, c) in zip(sent.dropFirst(2), sent.dropFirst(3)) { XCTAssertGreaterThanOrEqual(c.0 - a.0, 3.5, "350 KB at 100 KB/s") }
    }

    func testLayoutResendsSkipTheIntervalButPay() {
        var b = GraphicsBudget()
        XCTAssertTrue(b.allowsUpdate(now: 0)); b.spent(150_000, now: 0)
        XCTAssertFalse(b.allowsUpdate(now: 0.5))
        XCTAssertTrue(b.allowsResend(now: 0.5), "help closed: the image comes back at once")
        b.spent(150_000, now: 0.5)
        XCTAssertFalse(b.allowsResend(now: 0.6), "in debt now")
        XCTAssertFalse(b.allowsUpdate(now: 2.1), "the resend's bytes are paid before the next image")
        XCTAssertTrue(b.allowsUpdate(now: 2.6))
        XCTAssertEqual(b.framesSent, 2)
        XCTAssertEqual(b.bytesSent, 300_000)
    }
}

/// A terminal that records what it was sent.
final class FakeSink: GraphicsSink {
    var backlog = 0
    var clears = 0
    var sent: [[UInt8]] = []
    var repainted: [Range<Int>] = []
    func send(_ bytes: [UInt8]) { sent.append(bytes) }
    func repaint(rows: Range<Int>) { repainted.append(rows) }
    var texts: [String] { sent.map { String(decoding: $0, as: UTF8.self) } }
}

final class GraphicsPresenterTests: XCTestCase {
    let img = Bench.syntheticImage(width: 24, height: 16, seed: 3)
    func target(_ gen: Int, x: Int = 3, y: Int = 2, source: PreviewSource = .result) -> GraphicsTarget {
        GraphicsTarget(source: source, generation: gen, x: x, y: y, cols: 12, rows: 4)
    }

    func testSentOnceAtItsCellsThenOnlyWhenTheImageChangesAndTheBudgetAllows() {
        let p = GraphicsPresenter(proto: .sixel, cellPixels: (8, 16)), sink = FakeSink()
        p.afterFrame(target: target(1), sink: sink, now: 0) { self.img }
        XCTAssertEqual(sink.sent.count, 1)
        let s = sink.texts[0]
        XCTAssertTrue(s.hasPrefix("\u{1B}7\u{1B}[r\u{1B}[3;4H\u{1B}P"), "saved cursor, at row 3 col 4 (1-based): \(s.prefix(20).debugDescription)")
        XCTAssertTrue(s.hasSuffix("\u{1B}\\\u{1B}8"), "the cursor put back where curses left it")
        XCTAssertTrue(s.contains("\"1;1;96;60"), "12×8 px wide, 4×16 high rounded down to sixel bands: \(s.prefix(40).debugDescription)")
        p.afterFrame(target: target(1), sink: sink, now: 0.1) { self.img }
        XCTAssertEqual(sink.sent.count, 1, "nothing changed, nothing sent")
        p.afterFrame(target: target(2), sink: sink, now: 1) { self.img }
        XCTAssertEqual(sink.sent.count, 1, "a new image within 2 s waits")
        sink.backlog = 10
        p.afterFrame(target: target(2), sink: sink, now: 2.5) { self.img }
        XCTAssertEqual(sink.sent.count, 1, "nor while the terminal has not taken the last bytes")
        sink.backlog = 0
        p.afterFrame(target: target(2), sink: sink, now: 2.6) { self.img }
        XCTAssertEqual(sink.sent.count, 1, "a new generation of the same picture is not sent again")
        let other = Bench.syntheticImage(width: 24, height: 16, seed: 4)
        p.afterFrame(target: target(3), sink: sink, now: 2.7) { other }
        XCTAssertEqual(sink.sent.count, 2)
    }

    func testMovedOrClearedOrSwitchedOffIsRemovedThenSentAgain() {
        let p = GraphicsPresenter(proto: .sixel, cellPixels: (8, 16)), sink = FakeSink()
        p.afterFrame(target: target(1), sink: sink, now: 0) { self.img }
        // Resized pane: the old image's rows are rewritten before the new one goes elsewhere.
        p.afterFrame(target: target(1, x: 5), sink: sink, now: 0.1) { self.img }
        XCTAssertEqual(sink.repainted, [2..<6])
        XCTAssertEqual(sink.sent.count, 1)
        p.afterFrame(target: target(1, x: 5), sink: sink, now: 0.15) { self.img }
        XCTAssertEqual(sink.sent.count, 2, "after that frame, at once, without waiting 2 s")
        XCTAssertTrue(sink.texts[1].contains("\u{1B}[3;6H"))
        // A clear (suspend, theme, resize) erases it: sent again.
        sink.clears += 1
        p.afterFrame(target: target(1, x: 5), sink: sink, now: 0.2) { self.img }
        XCTAssertEqual(sink.sent.count, 3)
        XCTAssertEqual(sink.repainted.count, 1, "a clear needs no repaint of its own")
        // Help over it, or g: its rows are rewritten, and it comes back when help goes.
        p.afterFrame(target: nil, sink: sink, now: 0.4) { self.img }
        XCTAssertEqual(sink.repainted, [2..<6, 2..<6])
        XCTAssertNil(p.shown)
        p.afterFrame(target: target(1, x: 5), sink: sink, now: 0.5) { self.img }
        XCTAssertEqual(sink.sent.count, 4)
    }

    func testKittyImagesAreDeletedExplicitly() {
        let p = GraphicsPresenter(proto: .kitty, cellPixels: (8, 16)), sink = FakeSink()
        p.afterFrame(target: target(1), sink: sink, now: 0) { self.img }
        XCTAssertTrue(sink.texts[0].contains("\u{1B}_Ga=d,d=A\u{1B}\\"), "each frame replaces the last")
        XCTAssertTrue(sink.texts[0].contains("\u{1B}_Ga=T"), "an immediate kitty image")
        p.afterFrame(target: nil, sink: sink, now: 0.1) { self.img }
        XCTAssertEqual(sink.texts.last, "\u{1B}_Ga=d,d=A\u{1B}\\", "help would be under a kitty image")
        XCTAssertEqual(sink.repainted, [], "text does not cover a kitty image")
        p.afterFrame(target: target(1), sink: sink, now: 0.2) { self.img }
        p.end(sink: sink)
        XCTAssertEqual(sink.texts.last, "\u{1B}_Ga=d,d=A\u{1B}\\", "and on quit or suspend")
    }

    func testITerm2ImageIsInline() {
        let p = GraphicsPresenter(proto: .iterm, cellPixels: (8, 16)), sink = FakeSink()
        p.afterFrame(target: target(1), sink: sink, now: 0) { self.img }
        XCTAssertTrue(sink.texts[0].contains("\u{1B}]1337;File="), sink.texts[0].prefix(40).debugDescription)
    }

    func testASlowLinkIsNoticed() {
        let p = GraphicsPresenter(proto: .sixel, cellPixels: (8, 16)), sink = FakeSink()
        p.afterFrame(target: target(1), sink: sink, now: 0) { self.img }
        XCTAssertFalse(p.linkIsSlow(backlog: 0, now: 0.3))
        XCTAssertEqual(p.lastDrainSeconds ?? -1, 0.3, accuracy: 1e-9)
        p.afterFrame(target: target(2), sink: sink, now: 3) { Bench.syntheticImage(width: 24, height: 16, seed: 5) }
        XCTAssertFalse(p.linkIsSlow(backlog: 50_000, now: 5))
        XCTAssertTrue(p.linkIsSlow(backlog: 40_000, now: 7.5), "a frame not through after 4 s")
    }
}

/// The preview pane in graphics: blank cells where the image goes, `g`, help over it.
final class GraphicsScreenTests: XCTestCase {
    func testPaneIsLeftBlankForTheImageAndHelpTakesItAway() throws {
        let e = FakeEngine()
        let app = makeApp(e)
        app.graphicsProtocol = .sixel
        app.graphicsOn = true
        let g = frame(app)
        let t = try XCTUnwrap(app.graphicsTarget)
        let inner = ScreenLayout.compute(width: 120, height: 40).preview.inner
        XCTAssertTrue(t.x >= inner.x && t.y >= inner.y && t.x + t.cols <= inner.x + inner.w && t.y + t.rows <= inner.y + inner.h)
        XCTAssertEqual(t.generation, e.progress.imageGeneration)
        for y in inner.y..<(inner.y + inner.h) {
            XCTAssertEqual(g.row(y).dropFirst(inner.x).prefix(inner.w).trimmingCharacters(in: .whitespaces), "", "row \(y) blank")
        }
        app.showHelp = true
        _ = frame(app)
        XCTAssertNil(app.graphicsTarget)
        app.showHelp = false
        app.handle(.char("g"))
        let s = frame(app)
        XCTAssertNil(app.graphicsTarget)
        XCTAssertTrue(s.row(ScreenLayout.compute(width: 120, height: 40).status.y).contains("preview: symbols"))
        let symbols = (inner.y..<(inner.y + inner.h)).map { s.row($0) }.joined()
        XCTAssertTrue(symbols.unicodeScalars.contains { ($0.value >= 0x2580 && $0.value <= 0x259F) || $0 == " " }, "symbols again")
        app.handle(.char("g"))
        _ = frame(app)
        XCTAssertNotNil(app.graphicsTarget)
        XCTAssertTrue(app.helpLines().contains { $0.0 == "preview" && $0.1 == "sixel graphics" })
    }

    func testGWithoutGraphicsSaysWhy() {
        let app = makeApp(FakeEngine())
        app.handle(.char("g"))
        XCTAssertFalse(app.graphicsOn)
        XCTAssertTrue(statusRow(app).contains("no pixel graphics"), statusRow(app))
        XCTAssertTrue(app.helpLines().contains { $0.0 == "preview" && $0.1.hasPrefix("symbols") })
    }

    func testPreviewOptionAndConfigKey() throws {
        XCTAssertEqual(try TUIOptions.parse(["--preview", "kitty"]).config().preview, .kitty)
        XCTAssertEqual(try TUIOptions.parse([]).config().preview, .auto)
        XCTAssertEqual(try TUIOptions.parse([]).config(file: .init(preview: .symbols)).preview, .symbols)
        XCTAssertEqual(try TUIOptions.parse(["--preview", "sixel"]).config(file: .init(preview: .symbols)).preview, .sixel)
        XCTAssertThrowsError(try TUIOptions.parse(["--preview", "png"]).config())
        XCTAssertEqual(ConfigFile.parse("preview = iterm").values.preview, .iterm)
        XCTAssertNotNil(ConfigFile.parse("preview = pixels").warning)
    }
}
