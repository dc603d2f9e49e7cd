import Foundation

/// A fixed-size, 64-byte aligned, zero-initialised Float buffer. The network plans these once per image
/// size and reuses them every iteration, so nothing is allocated in the hot loop.
public final class FloatBuffer {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>

    /// `slack` extra zeroed floats past the end: the shifted-GEMM convolution reads (and, for padding
    /// positions, writes) up to two elements past a plane, always into positions whose value is discarded.
    public init(count: Int, slack: Int = 16) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(1, count + slack) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
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
