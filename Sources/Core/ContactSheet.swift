/// A grid of pictures with a few lines of text under each, as one image: what `restyle batch sheet`
/// writes so a sweep can be judged by eye. Cells missing a picture are drawn grey with their label.
public enum ContactSheet {
    public struct Cell: Sendable {
        public var image: RGBImage?
        public var lines: [String]
        public init(image: RGBImage?, lines: [String]) { self.image = image; self.lines = lines }
    }

    public static let padding = 6
    public static let lineHeight = BitmapFont.glyphHeight + 3
    static let background: Float = 24
    static let missing: Float = 70
    static let ink: (Float, Float, Float) = (235, 235, 235)
    /// Side of the picture box beyond which pictures are shrunk, and the sheet's pixel limit.
    public static let maxCellSide = 2048

    /// `rows[r][c]`; rows may be ragged (short rows leave empty slots). Each picture is fitted inside a
    /// `cellSide`-pixel square (shrunk or enlarged, aspect kept) and centred in it; labels are cut to the
    /// cell's width. Throws if the sheet would be over the image limits.
    public static func compose(_ rows: [[Cell]], cellSide: Int) throws -> RGBImage {
        guard (Limits.minSide...maxCellSide).contains(cellSide) else {
            throw RestyleError.badInput("--cell: must be from \(Limits.minSide) to \(maxCellSide), got \(cellSide)")
        }
        let cols = rows.map(\.count).max() ?? 0
        guard !rows.isEmpty, cols > 0 else { throw RestyleError.badInput("contact sheet: nothing to show") }
        let textLines = rows.flatMap { $0.map(\.lines.count) }.max() ?? 0
        let cellH = cellSide + textLines * lineHeight
        let width = padding + cols * (cellSide + padding)
        let height = padding + rows.count * (cellH + padding)
        guard width <= Limits.maxSide, height <= Limits.maxSide, width * height <= Limits.maxPixels else {
            throw RestyleError.badInput("contact sheet: \(width)×\(height) is over the image limit; lower --cell")
        }
        var sheet = RGBImage(width: width, height: height, pixels: [Float](repeating: background, count: 3 * width * height))
        let maxChars = max(1, (cellSide + 1) / BitmapFont.advance)
        for (r, row) in rows.enumerated() {
            for (c, cell) in row.enumerated() {
                let x0 = padding + c * (cellSide + padding), y0 = padding + r * (cellH + padding)
                if let img = cell.image, img.width > 0, img.height > 0 {
                    let fit = fitSize(width: img.width, height: img.height, longestSide: cellSide)
                    let small = (fit.width, fit.height) == (img.width, img.height) ? img : resized(img, width: fit.width, height: fit.height)
                    blit(small, into: &sheet, x: x0 + (cellSide - fit.width) / 2, y: y0 + (cellSide - fit.height) / 2)
                } else {
                    fill(&sheet, x: x0, y: y0, w: cellSide, h: cellSide, value: missing)
                }
                for (i, line) in cell.lines.enumerated() {
                    let text = line.count > maxChars ? String(line.prefix(maxChars - 1)) + "~" : line
                    BitmapFont.draw(text, into: &sheet, x: x0, y: y0 + cellSide + 2 + i * lineHeight, color: ink)
                }
            }
        }
        return sheet
    }

    static func blit(_ src: RGBImage, into dst: inout RGBImage, x: Int, y: Int) {
        let sp = src.width * src.height, dp = dst.width * dst.height, dw = dst.width
        dst.pixels.withUnsafeMutableBufferPointer { d in
            src.pixels.withUnsafeBufferPointer { s in
                for c in 0..<3 {
                    for j in 0..<src.height {
                        for i in 0..<src.width {
                            d[c * dp + (y + j) * dw + x + i] = s[c * sp + j * src.width + i]
                        }
                    }
                }
            }
        }
    }

    static func fill(_ dst: inout RGBImage, x: Int, y: Int, w: Int, h: Int, value: Float) {
        let dp = dst.width * dst.height, dw = dst.width
        dst.pixels.withUnsafeMutableBufferPointer { d in
            for c in 0..<3 { for j in 0..<h { for i in 0..<w { d[c * dp + (y + j) * dw + x + i] = value } } }
        }
    }
}
