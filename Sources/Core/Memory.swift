import Foundation

public enum MemoryStats {
    /// Peak resident set size of this process (VmHWM), in bytes; 0 where /proc is absent.
    public static func peakRSS() -> Int { field("VmHWM:") }

    static func field(_ name: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}
