import Foundation

/// Every failure the engine reports to a user. `message` is one line that names the file or option and the problem.
public enum RestyleError: Error, CustomStringConvertible, Sendable {
    /// Bad input from the user: a file, an option value. Exit code 2.
    case badInput(String)
    /// Something that should not happen. Exit code 1.
    case `internal`(String)
    /// The machine cannot hold what was asked for. Exit code 1.
    case outOfMemory(String)

    public var description: String {
        switch self {
        case .badInput(let m): return m
        case .internal(let m): return "internal error: " + m
        case .outOfMemory(let m): return "out of memory: " + m
        }
    }
    public var exitCode: Int32 {
        switch self {
        case .badInput: return 2
        case .internal, .outOfMemory: return 1
        }
    }
}
