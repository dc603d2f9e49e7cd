import Foundation

/// A session frozen between iterations, to be written later, on any thread, while the run goes on.
///
/// Why: a full L-BFGS history at 512² is 630 MB, and writing that (with fsync) takes seconds the run
/// would otherwise stand still for. Taking a snapshot copies only what the next iteration changes (the
/// image, gradient, direction and the small fields: ~7 image-sized vectors) and keeps the curvature
/// pairs by reference; L-BFGS never writes to a pair something else holds (`LBFGS.recycle`).
///
/// `@unchecked Sendable`, audited: the pieces are immutable after `init`; the `FloatBuffer`s they
/// reference are curvature pairs that no thread writes while a snapshot holds them.
public final class SessionSnapshot: @unchecked Sendable {
    enum Piece {
        case bytes([UInt8])
        case buffer(FloatBuffer)
    }

    private let pieces: [Piece]
    /// The payload's length in bytes (what the header states).
    public let payloadBytes: Int

    init(_ record: (inout BinaryWriter<SnapshotSink>) throws -> Void) rethrows {
        var w = BinaryWriter(SnapshotSink())
        try record(&w)
        w.sink.flush()
        pieces = w.sink.pieces
        payloadBytes = w.sink.count
    }

    /// Bytes it copied (the rest it holds by reference): what it adds to the run's memory until written.
    var copiedBytes: Int {
        pieces.reduce(0) { if case .bytes(let b) = $1 { return $0 + b.count } else { return $0 } }
    }

    /// Writes it atomically (a unique temporary, fsync, rename), hashing on the way.
    public func write(to path: String) throws {
        try SessionFile.write(to: path, payloadBytes: payloadBytes) { w in
            for piece in pieces {
                switch piece {
                case .bytes(let b): try b.withUnsafeBytes { try w.sink.append($0) }
                case .buffer(let f): try w.sink.append(unchanging: f)
                }
            }
        }
    }
}

/// Collects a payload as copied bytes, except for unchanging buffers, which it keeps by reference.
struct SnapshotSink: ByteSink {
    var pieces: [SessionSnapshot.Piece] = []
    var current: [UInt8] = []
    var count = 0

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        // Image-sized vectors get a piece of their own, allocated at their size: appended to a growing
        // array they would briefly need twice their size.
        if bytes.count >= 1 << 16 {
            flush()
            pieces.append(.bytes([UInt8](bytes)))
        } else {
            current.append(contentsOf: bytes)
        }
        count += bytes.count
    }

    mutating func append(unchanging buffer: FloatBuffer) {
        flush()
        pieces.append(.buffer(buffer))
        count += buffer.count * MemoryLayout<Float>.stride
    }

    mutating func flush() {
        if !current.isEmpty { pieces.append(.bytes(current)); current = [] }
    }
}
