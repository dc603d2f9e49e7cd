import ArgumentParser
import Core
import Foundation

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Optimise headless and write a PNG.")
    func run() throws {}
}
