import ArgumentParser
import Core
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure seconds per iteration against the machine's sgemm rate.")
    func run() throws {}
}
