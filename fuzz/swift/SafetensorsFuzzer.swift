// libFuzzer target `safetensors` (scripts/fuzz-swift.sh safetensors): the weights-file reader,
// `SafetensorsFile(data:path:)` (8-byte little-endian header length, JSON header, data), then every
// tensor it accepted read back through `bytes(_:dtype:shape:)` and `floats(_:shape:)`, as
// `VGGWeights(path:)` reads them, plus the lookups that must fail.

@testable import Core
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func safetensorsTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    let file: SafetensorsFile
    do {
        file = try SafetensorsFile(data: bytes, path: "fuzz.safetensors")
    } catch is RestyleError {
        return 0
    } catch {
        fatalError("SafetensorsFile threw \(type(of: error)), not a RestyleError: \(error)")
    }
    for (name, e) in file.entries {
        do {
            let b = try file.bytes(name, dtype: e.dtype, shape: e.shape)
            precondition(b.count == e.end - e.begin, "tensor '\(name)': \(b.count) bytes for \(e.begin)..<\(e.end)")
            precondition(file.dataStart + e.end <= bytes.count)
            if e.dtype == "F32" {
                let f = try file.floats(name, shape: e.shape)
                precondition(f.count * 4 == b.count)
            }
            if e.dtype == "U8" { precondition(b.count == e.shape.reduce(1, *)) }
        } catch {
            fatalError("tensor '\(name)' was accepted but cannot be read: \(error)")
        }
        // Wrong expectations are refused, never trapped on.
        for (dtype, shape) in [(e.dtype == "F32" ? "U8" : "F32", e.shape), (e.dtype, e.shape + [1]), (e.dtype, [])] {
            do {
                _ = try file.bytes(name, dtype: dtype, shape: shape)
                precondition(dtype == e.dtype && shape == e.shape, "a wrong dtype or shape was accepted")
            } catch is RestyleError {
            } catch {
                fatalError("bytes(\(name)) threw \(type(of: error)): \(error)")
            }
        }
    }
    do {
        _ = try file.floats("no such tensor", shape: [1])
        precondition(file.entries["no such tensor"] != nil)
    } catch is RestyleError {
    } catch {
        fatalError("floats threw \(type(of: error)): \(error)")
    }
    return 0
}
