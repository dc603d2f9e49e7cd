import CChafa
import Core
import Foundation

/// Where this frame wants the preview image, in cells, and which picture it is. Set by drawPreview
/// when the preview is in graphics; the pane's cells there are left blank for the image to sit on.
struct GraphicsTarget: Equatable {
    var source: PreviewSource
    var generation: Int
    var x: Int, y: Int, cols: Int, rows: Int
}

/// What the presenter needs of the terminal, so its decisions can be tested without one.
protocol GraphicsSink: AnyObject {
    /// Bytes sent but not yet taken by the terminal.
    var backlog: Int { get }
    /// Counts screen clears (resize, suspend, theme): a clear erases sixel and iTerm2 images.
    var clears: Int { get }
    func send(_ bytes: [UInt8])
    /// Have the next frame rewrite every cell of these rows, whatever curses believes is there: text
    /// written over a sixel or iTerm2 image's cells replaces it, cells left alone keep its pixels.
    func repaint(rows: Range<Int>)
}

/// Sends the preview image in a pixel protocol, after the ncurses frame and outside its knowledge,
/// only when the picture or its place changes and the budget allows; takes it away when help covers
/// it, when the preview goes back to symbols, and before the screen is given back.
final class GraphicsPresenter {
    let proto: GraphicsProtocol
    var budget: GraphicsBudget
    /// Pixel size of a cell the image is scaled for.
    var cellPixels: (w: Int, h: Int)
    /// A graphics frame still not taken by the terminal this many seconds after it was sent means the
    /// link cannot carry them: the preview goes back to symbols.
    var slowAfter: Double = 4
    private(set) var shown: GraphicsTarget?
    private var shownClears = 0
    private var inFlightSince: Double?
    /// The bytes of the image on screen: a new generation that looks the same (the first iteration
    /// re-publishes the start image) is not sent again.
    private var shownBytes: [UInt8] = []
    /// Seconds the last graphics frame took to reach the terminal.
    private(set) var lastDrainSeconds: Double?

    init(proto: GraphicsProtocol, cellPixels: (w: Int, h: Int), budget: GraphicsBudget = GraphicsBudget()) {
        self.proto = proto; self.cellPixels = cellPixels; self.budget = budget
    }

    /// Called after each frame has been handed to the terminal. `target` nil means no image this
    /// frame (help over it, symbols, a screen too small): a shown image is removed, by rewriting its
    /// rows on the next frame (sixel, iTerm2) or by deleting it (kitty, whose images sit on a layer
    /// above the text).
    func afterFrame(target: GraphicsTarget?, sink: GraphicsSink, now: Double, image: () -> RGBImage?) {
        if sink.clears != shownClears { shownClears = sink.clears; forgetShown(sink) }
        guard let t = target else {
            if shown != nil { remove(sink) }
            return
        }
        if let s = shown, s.x != t.x || s.y != t.y || s.cols != t.cols || s.rows != t.rows {
            // Moved or resized: the old image goes first (its rows rewritten by the next frame), and
            // the new one after that frame, which would otherwise write over it.
            remove(sink)
            return
        }
        let placed = shown != nil && shown!.source == t.source
        if placed && shown!.generation == t.generation { return }
        guard sink.backlog == 0 else { return }
        guard placed ? budget.allowsUpdate(now: now) : budget.allowsResend(now: now) else { return }
        guard let img = image(), img.width > 0, img.height > 0 else { return }
        let bytes = GraphicsEncoder.placed(img, proto: proto, x: t.x, y: t.y, cols: t.cols, rows: t.rows,
                                           cellW: cellPixels.w, cellH: cellPixels.h)
        guard !bytes.isEmpty else { return }
        if placed && bytes == shownBytes { shown = t; return }
        sink.send(bytes)
        shownBytes = bytes
        budget.spent(bytes.count, now: now)
        shown = t
        inFlightSince = now
    }

    /// Whether the link has shown itself too slow for graphics (call every loop pass).
    func linkIsSlow(backlog: Int, now: Double) -> Bool {
        guard let since = inFlightSince else { return false }
        if backlog == 0 { lastDrainSeconds = now - since; inFlightSince = nil; return false }
        return now - since > slowAfter
    }

    /// Takes the image away for good (suspend, quit): kitty's by command, the others by the clear that
    /// leaving the alternate screen or repainting does.
    func end(sink: GraphicsSink) {
        if proto == .kitty && shown != nil { sink.send(GraphicsEncoder.kittyDeleteAll) }
        shown = nil
    }

    private func forgetShown(_ sink: GraphicsSink) {
        // A clear erased sixel and iTerm2 images; kitty's survive it and are replaced when re-sent.
        if proto == .kitty && shown != nil { sink.send(GraphicsEncoder.kittyDeleteAll) }
        shown = nil
    }

    private func remove(_ sink: GraphicsSink) {
        guard let s = shown else { return }
        if proto == .kitty { sink.send(GraphicsEncoder.kittyDeleteAll) } else { sink.repaint(rows: s.y..<(s.y + s.rows)) }
        shown = nil
    }
}

/// The image in a pixel protocol, by libchafa.
enum GraphicsEncoder {
    /// Deletes every kitty image placement on screen (and frees its data).
    static let kittyDeleteAll = Array("\u{1B}_Ga=d,d=A\u{1B}\\".utf8)

    /// The image at cell (x, y), `cols`×`rows` cells big, wrapped so the cursor and its attributes end
    /// where they were (DECSC/DECRC): ncurses' idea of where the cursor is stays true. The scroll region
    /// is reset first (curses may have left one smaller than the screen after a resize, and a sixel
    /// reaching below it scrolls it).
    static func placed(_ img: RGBImage, proto: GraphicsProtocol, x: Int, y: Int, cols: Int, rows: Int,
                       cellW: Int, cellH: Int) -> [UInt8] {
        let body = encode(img, proto: proto, cols: cols, rows: rows, cellW: cellW, cellH: cellH)
        guard !body.isEmpty else { return [] }
        var out = Array("\u{1B}7\u{1B}[r".utf8)
        if proto == .kitty { out += kittyDeleteAll }
        out += Array("\u{1B}[\(y + 1);\(x + 1)H".utf8)
        out += body
        out += Array("\u{1B}8".utf8)
        return out
    }

    /// Just the image's escape sequence, scaled to fill `cols`×`rows` cells of `cellW`×`cellH` pixels.
    static func encode(_ img: RGBImage, proto: GraphicsProtocol, cols: Int, rows: Int, cellW: Int, cellH: Int) -> [UInt8] {
        guard cols > 0, rows > 0, cellW > 0, cellH > 0, img.width > 0, img.height > 0,
              cols <= 4096, rows <= 4096, cellW <= 256, cellH <= 256 else { return [] }
        let config = chafa_canvas_config_new()!
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_geometry(config, gint(cols), gint(rows))
        chafa_canvas_config_set_cell_geometry(config, gint(cellW), gint(cellH))
        chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
        let mode: ChafaPixelMode
        switch proto {
        case .sixel: mode = CHAFA_PIXEL_MODE_SIXELS
        case .kitty: mode = CHAFA_PIXEL_MODE_KITTY
        case .iterm: mode = CHAFA_PIXEL_MODE_ITERM2
        }
        chafa_canvas_config_set_pixel_mode(config, mode)
        let canvas = chafa_canvas_new(config)!
        defer { chafa_canvas_unref(canvas) }
        // Enlarged here, each pixel a sharp block, rather than by chafa, whose smooth scaling would blur
        // the detail the pane is there to show; made smaller by chafa, which averages. Sixel images are
        // a whole number of 6-pixel bands high, so that is the height drawn.
        let pw = cols * cellW, ph = proto == .sixel ? max(6, rows * cellH / 6 * 6) : rows * cellH
        let bytes: [UInt8], bw: Int, bh: Int
        if pw >= img.width && ph >= img.height {
            bytes = nearest(PreviewRenderer.rgb8(img), width: img.width, height: img.height, to: pw, ph); bw = pw; bh = ph
        } else {
            bytes = PreviewRenderer.rgb8(img); bw = img.width; bh = img.height
        }
        bytes.withUnsafeBufferPointer { p in
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, p.baseAddress, gint(bw), gint(bh), gint(bw * 3))
        }
        guard let info = termInfo(proto), let gs = chafa_canvas_print(canvas, info) else { return [] }
        defer { chafa_term_info_unref(info) }
        let out = [UInt8](UnsafeRawBufferPointer(start: gs.pointee.str, count: Int(gs.pointee.len)))
        g_string_free(gs, 1)
        return out
    }

    /// Interleaved RGB8 enlarged to `w`×`h` by repeating pixels.
    static func nearest(_ rgb: [UInt8], width: Int, height: Int, to w: Int, _ h: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let xs = (0..<w).map { $0 * width / w }
        for y in 0..<h {
            let sy = y * height / h
            for x in 0..<w {
                let s = 3 * (sy * width + xs[x]), d = 3 * (y * w + x)
                out[d] = rgb[s]; out[d + 1] = rgb[s + 1]; out[d + 2] = rgb[s + 2]
            }
        }
        return out
    }

    /// A chafa terminal description that has the protocol's sequences, whatever the real terminal's
    /// TERM (it was chosen already): chafa's own entries for foot, kitty and iTerm2.
    private static func termInfo(_ proto: GraphicsProtocol) -> OpaquePointer? {
        let env: [String]
        switch proto {
        case .sixel: env = ["TERM=foot"]
        case .kitty: env = ["TERM=xterm-kitty"]
        case .iterm: env = ["TERM=xterm-256color", "TERM_PROGRAM=iTerm.app"]
        }
        var strings: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        strings.append(nil)
        guard let db = chafa_term_db_get_default() else { return nil }
        return strings.withUnsafeMutableBufferPointer { chafa_term_db_detect(db, $0.baseAddress) }
    }
}
