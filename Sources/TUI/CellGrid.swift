import Core
/// A rectangle of terminal cells; `x`,`y` is the top-left cell.
struct Rect: Equatable, CustomStringConvertible {
    var x: Int, y: Int, w: Int, h: Int
    init(x: Int, y: Int, w: Int, h: Int) { self.x = x; self.y = y; self.w = max(0, w); self.h = max(0, h) }
    var maxX: Int { x + w }
    var maxY: Int { y + h }
    var isEmpty: Bool { w <= 0 || h <= 0 }
    /// The area inside a one-cell border.
    var inner: Rect { Rect(x: x + 1, y: y + 1, w: w - 2, h: h - 2) }
    func intersects(_ o: Rect) -> Bool {
        !isEmpty && !o.isEmpty && x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY
    }
    func contains(_ o: Rect) -> Bool { o.x >= x && o.y >= y && o.maxX <= maxX && o.maxY <= maxY }
    var description: String { "(\(x),\(y) \(w)×\(h))" }
}

/// Interns styles so a cell holds a small id; the terminal backend caches colour pairs by id.
final class StyleTable {
    private(set) var styles: [Style] = [Style()]
    private var ids: [Style: UInt32] = [Style(): 0]
    func id(_ s: Style) -> UInt32 {
        if let i = ids[s] { return i }
        let i = UInt32(styles.count)
        styles.append(s); ids[s] = i
        return i
    }
    subscript(id: UInt32) -> Style { styles[Int(id)] }
    var count: Int { styles.count }
}

/// The whole screen as characters plus style ids. Every widget draws here, never to curses, so
/// layouts and widgets are testable without a terminal and the backend can send only changed cells.
/// All characters used are single-column (box drawing, braille, chafa's block symbols).
struct CellGrid {
    let width: Int, height: Int
    let table: StyleTable
    var chars: [Unicode.Scalar]
    var styleIds: [UInt32]

    init(width: Int, height: Int, table: StyleTable = StyleTable(), fill: Style = Style()) {
        self.width = max(0, width); self.height = max(0, height); self.table = table
        chars = Array(repeating: " ", count: self.width * self.height)
        styleIds = Array(repeating: table.id(fill), count: self.width * self.height)
    }

    var bounds: Rect { Rect(x: 0, y: 0, w: width, h: height) }

    @inline(__always) func index(_ x: Int, _ y: Int) -> Int? {
        x >= 0 && y >= 0 && x < width && y < height ? y * width + x : nil
    }

    mutating func set(_ x: Int, _ y: Int, _ c: Unicode.Scalar, _ styleId: UInt32) {
        if let i = index(x, y) { chars[i] = c; styleIds[i] = styleId }
    }
    mutating func set(_ x: Int, _ y: Int, _ c: Unicode.Scalar, _ style: Style) { set(x, y, c, table.id(style)) }

    func char(_ x: Int, _ y: Int) -> Unicode.Scalar? { index(x, y).map { chars[$0] } }
    func style(_ x: Int, _ y: Int) -> Style? { index(x, y).map { table[styleIds[$0]] } }

    mutating func fill(_ r: Rect, _ c: Unicode.Scalar = " ", _ style: Style) {
        let id = table.id(style)
        for y in r.y..<r.maxY { for x in r.x..<r.maxX { set(x, y, c, id) } }
    }

    /// Writes text from (x, y), clipped to `limit` columns and to the grid; returns the columns used.
    @discardableResult
    mutating func put(_ x: Int, _ y: Int, _ text: String, _ style: Style, limit: Int = .max) -> Int {
        let id = table.id(style)
        var n = 0
        // Untrusted text (file names in messages) shows its control characters as escapes, never raw.
        for s in Text.escaped(text).unicodeScalars {
            if n >= limit { break }
            // Combining marks would share a cell with the previous scalar; we never emit them.
            if s.properties.generalCategory == .nonspacingMark { continue }
            set(x + n, y, s, id); n += 1
        }
        return n
    }

    /// A box-drawing border with the title set into the top edge (btop style).
    mutating func box(_ r: Rect, title: String = "", border: Style, titleStyle: Style, rounded: Bool = true) {
        guard r.w >= 2, r.h >= 2 else { return }
        let b = table.id(border)
        let (tl, tr, bl, br): (Unicode.Scalar, Unicode.Scalar, Unicode.Scalar, Unicode.Scalar) =
            rounded ? ("╭", "╮", "╰", "╯") : ("┌", "┐", "└", "┘")
        for x in r.x + 1..<r.maxX - 1 { set(x, r.y, "─", b); set(x, r.maxY - 1, "─", b) }
        for y in r.y + 1..<r.maxY - 1 { set(r.x, y, "│", b); set(r.maxX - 1, y, "│", b) }
        set(r.x, r.y, tl, b); set(r.maxX - 1, r.y, tr, b)
        set(r.x, r.maxY - 1, bl, b); set(r.maxX - 1, r.maxY - 1, br, b)
        if !title.isEmpty && r.w >= 6 {
            set(r.x + 1, r.y, "┤", b)
            let n = put(r.x + 2, r.y, title, titleStyle, limit: r.w - 5)
            set(r.x + 2 + n, r.y, "├", b)
        }
    }

    func row(_ y: Int) -> String {
        guard y >= 0 && y < height else { return "" }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: chars[y * width..<(y + 1) * width])
        return String(s)
    }
    var text: String { (0..<height).map(row).joined(separator: "\n") }
    func contains(_ needle: String) -> Bool { (0..<height).contains { row($0).contains(needle) } }
}
