import CChafa
import Core
import Foundation

/// Which picture the preview pane shows.
enum PreviewSource: Int, CaseIterable {
    case result, content, style
    var title: String { ["result", "content", "style"][rawValue] }
}

/// One character cell of a rendered picture.
struct PictureCell: Equatable {
    var ch: Unicode.Scalar
    var fg: TermColor
    var bg: TermColor
}

/// Turns an RGBImage into character cells with libchafa, caching the last result so the
/// (comparatively costly) conversion runs only when the picture, the pane size or the mode changes.
final class PreviewRenderer {
    struct Key: Equatable {
        var source: PreviewSource, generation: Int, cols: Int, rows: Int, mode: ColorMode
    }
    private(set) var key: Key?
    private(set) var cells: [PictureCell] = []
    private(set) var cols = 0, rows = 0
    /// Pixel size of the last picture, to tell whether a pane resize changes its fit.
    private(set) var imageSize: (w: Int, h: Int)?

    /// The largest cols×rows inside maxCols×maxRows with the image's aspect ratio, given the
    /// pixel size of a cell (about 1 wide : 2 tall unless the terminal reports better).
    static func fit(imageW: Int, imageH: Int, maxCols: Int, maxRows: Int, cellW: Double, cellH: Double) -> (cols: Int, rows: Int) {
        guard imageW > 0, imageH > 0, maxCols > 0, maxRows > 0, cellW > 0, cellH > 0 else { return (0, 0) }
        // rows per column for this picture: (H / cellH) / (W / cellW)
        let rowsPerCol = Double(imageH) * cellW / (Double(imageW) * cellH)
        var cols = maxCols
        var rows = Int((Double(cols) * rowsPerCol).rounded())
        if rows > maxRows {
            rows = maxRows
            cols = min(maxCols, Int((Double(rows) / rowsPerCol).rounded()))
        }
        return (max(1, cols), max(1, rows))
    }

    /// Planar floats to interleaved bytes, the layout chafa reads.
    static func rgb8(_ img: RGBImage) -> [UInt8] {
        let n = img.width * img.height
        var out = [UInt8](repeating: 0, count: 3 * n)
        img.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                for c in 0..<3 {
                    let v = p[c * n + i]
                    out[3 * i + c] = v.isNaN ? 0 : UInt8(min(255, max(0, v.rounded())))
                }
            }
        }
        return out
    }

    /// Renders if anything in `key` changed; returns whether the cells are new.
    @discardableResult
    func render(_ img: RGBImage, key newKey: Key) -> Bool {
        if key == newKey { return false }
        key = newKey
        cols = newKey.cols; rows = newKey.rows
        imageSize = (img.width, img.height)
        cells = PreviewRenderer.chafaCells(img, cols: cols, rows: rows, mode: newKey.mode)
        return true
    }

    static func chafaCells(_ img: RGBImage, cols: Int, rows: Int, mode: ColorMode) -> [PictureCell] {
        guard cols > 0, rows > 0, img.width > 0, img.height > 0 else { return [] }
        let config = chafa_canvas_config_new()!
        defer { chafa_canvas_config_unref(config) }
        chafa_canvas_config_set_geometry(config, gint(cols), gint(rows))
        let canvasMode: ChafaCanvasMode
        switch mode {
        case .truecolor: canvasMode = CHAFA_CANVAS_MODE_TRUECOLOR
        // 240 leaves out 0–15, whose look each terminal redefines.
        case .c256: canvasMode = CHAFA_CANVAS_MODE_INDEXED_240
        case .c16: canvasMode = CHAFA_CANVAS_MODE_INDEXED_16
        case .mono: canvasMode = CHAFA_CANVAS_MODE_FGBG
        }
        chafa_canvas_config_set_canvas_mode(config, canvasMode)
        chafa_canvas_config_set_pixel_mode(config, CHAFA_PIXEL_MODE_SYMBOLS)
        let map = chafa_symbol_map_new()!
        defer { chafa_symbol_map_unref(map) }
        // Only narrow symbols that common fonts have; wide or ambiguous ones would break the cell grid.
        var tags = CHAFA_SYMBOL_TAG_SPACE.rawValue | CHAFA_SYMBOL_TAG_SOLID.rawValue | CHAFA_SYMBOL_TAG_BLOCK.rawValue
            | CHAFA_SYMBOL_TAG_HALF.rawValue | CHAFA_SYMBOL_TAG_QUAD.rawValue
        if mode == .mono { tags |= CHAFA_SYMBOL_TAG_STIPPLE.rawValue | CHAFA_SYMBOL_TAG_BORDER.rawValue }
        chafa_symbol_map_add_by_tags(map, ChafaSymbolTags(rawValue: tags))
        chafa_symbol_map_remove_by_tags(map, ChafaSymbolTags(rawValue: CHAFA_SYMBOL_TAG_WIDE.rawValue | CHAFA_SYMBOL_TAG_AMBIGUOUS.rawValue))
        chafa_canvas_config_set_symbol_map(config, map)
        let canvas = chafa_canvas_new(config)!
        defer { chafa_canvas_unref(canvas) }
        let bytes = rgb8(img)
        bytes.withUnsafeBufferPointer { p in
            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, p.baseAddress, gint(img.width), gint(img.height), gint(img.width * 3))
        }
        var out: [PictureCell] = []
        out.reserveCapacity(cols * rows)
        for y in 0..<rows {
            for x in 0..<cols {
                let u = chafa_canvas_get_char_at(canvas, gint(x), gint(y))
                let ch = Unicode.Scalar(UInt32(u)) ?? " "
                var fg: gint = -1, bg: gint = -1
                let color: (gint) -> TermColor
                switch mode {
                case .truecolor:
                    chafa_canvas_get_colors_at(canvas, gint(x), gint(y), &fg, &bg)
                    color = { $0 < 0 ? .default : .rgb(UInt32($0)) }
                case .c256, .c16:
                    chafa_canvas_get_raw_colors_at(canvas, gint(x), gint(y), &fg, &bg)
                    color = { $0 < 0 || $0 > 255 ? .default : .indexed(Int($0)) }
                case .mono:
                    color = { _ in .default }
                }
                out.append(PictureCell(ch: ch, fg: color(fg), bg: color(bg)))
            }
        }
        return out
    }
}
