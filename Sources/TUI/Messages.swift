import Core
import Foundation

/// Every line restyle prints for a person goes through these, so untrusted text in it (file names,
/// option values, lines of a file) reaches the terminal with its control characters escaped.
func printError(_ message: String) {
    writeStderr("restyle: " + Text.escaped(message) + "\n")
}

func printWarning(_ message: String) {
    writeStderr("restyle: warning: " + Text.escaped(message) + "\n")
}

/// Unbuffered and direct, so it interleaves correctly with the progress bar and never raises SIGPIPE
/// (which is ignored; a closed stderr just drops the line).
func writeStderr(_ s: String) { writeAll(STDERR_FILENO, s) }

/// Likewise for stdout: `batch run`'s one line per job reaches a log file or pipe as soon as it is made.
func writeStdout(_ s: String) { writeAll(STDOUT_FILENO, s) }

private func writeAll(_ fd: Int32, _ s: String) {
    var bytes = Array(s.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}
