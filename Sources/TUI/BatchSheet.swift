import ArgumentParser
import Core
import Foundation

struct BatchSheetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "One PNG grid of a list's results: a row per content, a column per style and swept setting, each cell labelled with what varies.")

    @Argument(help: "The job list (OUTDIR/jobs.jsonl).")
    var jobs: String

    @Option(name: [.short, .customLong("output")], help: "The sheet to write (.png).")
    var output: String?

    @Option(help: "Side of each cell's picture box in pixels (pictures are fitted inside it).")
    var cell: Int = 192

    @Flag(help: "Also draw the sheet in the terminal (with chafa's block symbols).")
    var show = false

    func run() throws {
        try reportingErrors {
            guard output != nil || show else { throw RestyleError.badInput("batch sheet: give -o SHEET.png, --show, or both") }
            if let output {
                guard (output as NSString).pathExtension.lowercased() == "png" else {
                    throw RestyleError.badInput("-o \(output): the sheet is a PNG; name it .png")
                }
                try checkWritable(output, option: "-o")
            }
            let list = try JobList.read(jobs)
            let layout = SheetLayout(list: list)
            let sheet = try ContactSheet.compose(layout.rows(loading: { try? ImageIO.read($0) }), cellSide: cell)
            if let output {
                try ImageIO.write(sheet, to: output, format: .png, text: [("Software", "restyle \(Restyle.version)")])
                print("wrote \(Text.escaped(output)) (\(sheet.width)×\(sheet.height), \(layout.rowKeys.count) rows × \(layout.columnKeys.count) columns)")
            }
            if show { TerminalPicture.print(sheet) }
        }
    }
}

/// Which job goes in which cell, and what its label says: rows are the contents, columns everything else
/// that varies (style and swept settings), both in the list's order; a label holds the values that differ
/// between jobs, so a sweep of β reads "beta 100" and a single-style sheet does not repeat the style.
struct SheetLayout {
    var rowKeys: [String] = []
    var columnKeys: [String] = []
    var cells: [String: [String: (job: BatchJob, lines: [String])]] = [:]
    let list: JobList.Loaded

    static func describe(_ job: BatchJob) -> [(String, String)] {
        [("style", job.styles.map(BatchPlan.stem).joined(separator: "+")), ("size", "\(job.size)"), ("style-size", job.styleSize.map(String.init) ?? "auto")]
            + job.settings.keyValues
    }

    init(list: JobList.Loaded) {
        self.list = list
        let described = list.jobs.map { (job: $0, kv: Self.describe($0)) }
        let keys = described.first?.kv.map(\.0) ?? []
        let varying = keys.filter { k in Set(described.map { d in d.kv.first { $0.0 == k }?.1 ?? "" }).count > 1 }
        let contentsVary = Set(list.jobs.map(\.content)).count > 1
        for d in described {
            let row = d.job.content
            let shown = d.kv.filter { varying.contains($0.0) }
            let column = shown.map { "\($0.0)=\($0.1)" }.joined(separator: "|")
            if !rowKeys.contains(row) { rowKeys.append(row) }
            if !columnKeys.contains(column) { columnKeys.append(column) }
            var lines: [String] = []
            if contentsVary || shown.isEmpty { lines.append(BatchPlan.stem(d.job.content)) }
            for (k, v) in shown { lines.append(k == "style" ? v : "\(k) \(v)") }
            if shown.isEmpty { lines.append(d.job.styles.map(BatchPlan.stem).joined(separator: "+")) }
            cells[row, default: [:]][column] = (d.job, lines)
        }
    }

    /// The grid, each picture read with `loading` (nil: not made yet or unreadable, drawn grey).
    func rows(loading: (String) -> RGBImage?) -> [[ContactSheet.Cell]] {
        rowKeys.map { r in
            columnKeys.map { c in
                guard let entry = cells[r]?[c] else { return ContactSheet.Cell(image: nil, lines: ["(no job)"]) }
                let img = loading(list.resolve(entry.job.output))
                return ContactSheet.Cell(image: img, lines: entry.lines + (img == nil ? ["(not done)"] : []))
            }
        }
    }
}

/// A picture drawn in the terminal with chafa, sized to the terminal's width.
enum TerminalPicture {
    static func print(_ image: RGBImage) {
        let env = ProcessInfo.processInfo.environment
        let mode: ColorMode
        if let nc = env["NO_COLOR"], !nc.isEmpty { mode = .mono }
        else if ["truecolor", "24bit"].contains((env["COLORTERM"] ?? "").lowercased()) { mode = .truecolor }
        else if (env["TERM"] ?? "").contains("256") { mode = .c256 }
        else { mode = .c16 }
        var ws = winsize()
        let tty = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 0
        let maxCols = tty ? Int(ws.ws_col) : 80, maxRows = tty ? max(4, Int(ws.ws_row) - 2) : 40
        let fit = PreviewRenderer.fit(imageW: image.width, imageH: image.height, maxCols: maxCols, maxRows: maxRows, cellW: 1, cellH: 2)
        let cells = PreviewRenderer.chafaCells(image, cols: fit.cols, rows: fit.rows, mode: mode)
        var out = ""
        for y in 0..<fit.rows {
            for x in 0..<fit.cols {
                let cell = cells[y * fit.cols + x]
                out += sgr(cell.fg, foreground: true) + sgr(cell.bg, foreground: false) + String(Character(cell.ch))
            }
            out += (mode == .mono ? "" : "\u{1B}[0m") + "\n"
        }
        writeStdout(out)
    }

    static func sgr(_ c: TermColor, foreground: Bool) -> String {
        if let v = c.rgbValue { return "\u{1B}[\(foreground ? 38 : 48);2;\(v >> 16 & 255);\(v >> 8 & 255);\(v & 255)m" }
        if let i = c.index { return "\u{1B}[\(foreground ? 38 : 48);5;\(i)m" }
        return ""
    }
}
