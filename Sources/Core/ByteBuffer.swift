import Foundation

/// A fixed-size, 64-byte aligned, zero-initialised byte buffer: the compact records a backward pass keeps
/// instead of activations (ReLU masks as bits, max-pool choices as bytes). Allocation failure is an error
/// the caller reports, never a trap.
public final class ByteBuffer {
    public let count: Int
    public let ptr: UnsafeMutablePointer<UInt8>

    public init(count: Int) throws {
        var raw: UnsafeMutableRawPointer?
        guard count >= 0, posix_memalign(&raw, 64, max(1, count)) == 0, let raw else {
            throw RestyleError.outOfMemory("cannot allocate \(count) bytes (\(Double(count) / 1e6) MB)")
        }
        self.count = count
        memset(raw, 0, max(1, count))
        ptr = raw.bindMemory(to: UInt8.self, capacity: max(1, count))
    }
    deinit { free(ptr) }
}
