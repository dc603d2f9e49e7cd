import Foundation

/// A fixed-size, 64-byte aligned, zero-initialised Float buffer. The network plans these once per image
/// size and reuses them every iteration, so nothing is allocated in the hot loop. Allocation failure is an
/// error the caller reports, never a trap.
public final class FloatBuffer {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>

    /// `slack` extra zeroed floats past the end: the shifted-GEMM convolution reads (and, for padding
    /// positions, writes) up to two elements past a plane, always into positions whose value is discarded.
    public init(count: Int, slack: Int = 16) throws {
        let (floats, o1) = max(0, count).addingReportingOverflow(slack)
        let (bytes, o2) = max(1, floats).multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        var raw: UnsafeMutableRawPointer?
        guard count >= 0, !o1, !o2, posix_memalign(&raw, 64, bytes) == 0, let raw else {
            throw RestyleError.outOfMemory("cannot allocate \(count) floats (\(Double(count) * 4 / 1e6) MB)")
        }
        self.count = count
        memset(raw, 0, bytes)
        ptr = raw.bindMemory(to: Float.self, capacity: count + slack)
    }
    deinit { free(ptr) }

    public func zero() { memset(ptr, 0, count * MemoryLayout<Float>.stride) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: ptr, count: count)) }
    public func copy(from source: UnsafePointer<Float>, count n: Int? = nil) {
        memcpy(ptr, source, (n ?? count) * MemoryLayout<Float>.stride)
    }
}
