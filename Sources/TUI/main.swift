import ArgumentParser
import Core
import Foundation

/// `restyle` with no subcommand opens the TUI; `run` and `bench` are headless.
struct RestyleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restyle",
        abstract: "Neural style transfer (Gatys et al.) in the terminal, on the CPU.",
        version: Restyle.version,
        subcommands: [TUICommand.self, RunCommand.self, BenchCommand.self, ResumeCommand.self],
        defaultSubcommand: TUICommand.self)
}

RestyleCommand.main()
