import Foundation

/// Mutable state shared between threads, reachable only inside `withLock`: the pattern of swift-nio's
/// NIOLockedValueBox. It is a class around a pthread mutex (NSLock) rather than Synchronization.Mutex
/// because on Linux Mutex waits on a raw futex that ThreadSanitizer cannot see, so every correct access
/// would be reported as a race and a real one could hide among them.
///
/// Audited `@unchecked Sendable`: `value` is private and touched only between `lock()` and `unlock()`,
/// and `Value` must itself be Sendable, so nothing that escapes a critical section can be shared unsafely.
public final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
