// libFuzzer target `theme` (scripts/fuzz-swift.sh theme): the theme-file parser, `Theme.parse`, on the
// text `Theme.readText` would hand it (valid UTF-8; other bytes are refused before parsing), over the
// built-in default and over nothing, then the styles derived from the result. Built as one module
// with Sources/TUI/Theme.swift and BuiltinThemes.swift, which import Core for FileRead.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func themeTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    let full: Theme, bare: Theme
    do {
        full = try Theme.parse(text, name: "fuzz", file: "fuzz.theme")
    } catch let e as ThemeError {
        precondition(e.file == "fuzz.theme" && e.line >= 1, "error without its line: \(e)")
        // The same file over no base fails on the same line.
        do {
            _ = try Theme.parse(text, name: "fuzz", file: "fuzz.theme", base: nil)
            fatalError("parses over no base but not over the default: \(e)")
        } catch let e2 as ThemeError {
            precondition(e2 == e, "\(e2) over no base, \(e) over the default")
        } catch {
            fatalError("Theme.parse threw \(type(of: error)): \(error)")
        }
        return 0
    } catch {
        fatalError("Theme.parse threw \(type(of: error)), not a ThemeError: \(error)")
    }
    do {
        bare = try Theme.parse(text, name: "fuzz", file: "fuzz.theme", base: nil)
    } catch {
        fatalError("parses over the default but not over no base: \(error)")
    }
    // What the file sets wins; everything else is the default's.
    for key in ThemeKey.allCases {
        precondition(full[key] == (bare.colors[key] ?? Theme.fallback[key]), "\(key)")
    }
    _ = full.styles
    return 0
}
