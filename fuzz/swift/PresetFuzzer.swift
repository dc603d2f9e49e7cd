// libFuzzer target `preset` (scripts/fuzz-swift.sh preset): the preset parser, `Preset.parse`, on the
// text `Preset.readText` would hand it (valid UTF-8; other bytes are refused before parsing). A preset
// that parses must apply to any settings without leaving them invalid; one that does not must say
// which line (or the whole file, line 0) and never print a control character.

@testable import Core
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func presetTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    let preset: Preset
    do {
        preset = try Preset.parse(text, name: "fuzz", file: "fuzz.preset")
    } catch let e as PresetError {
        precondition(e.file == "fuzz.preset" && e.line >= 0, "error without its file: \(e)")
        precondition(!e.description.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "control character in \(e)")
        return 0
    } catch {
        fatalError("Preset.parse threw \(type(of: error)), not a PresetError: \(error)")
    }
    precondition(preset.entries.count <= Preset.keys.count, "more entries than keys")
    var s = Settings()
    s.styleBlend = [0.25, 0.75]; s.iterations = 9
    preset.apply(to: &s)
    do { try s.validate() } catch { fatalError("a parsed preset left the settings invalid: \(error)") }
    precondition(s.styleBlend == [0.25, 0.75] && s.iterations == 9 && s.preset == "fuzz", "the preset changed what it may not")
    return 0
}
