import ArgumentParser
import Core
import Foundation

/// `restyle` with no subcommand opens the TUI; `run` and `bench` are headless.
struct RestyleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restyle",
        abstract: "Neural style transfer (Gatys et al.) in the terminal, on the CPU.",
        version: Restyle.version,
        subcommands: [TUICommand.self, RunCommand.self, BenchCommand.self, ResumeCommand.self, BatchCommand.self],
        defaultSubcommand: TUICommand.self)
}

/// Exit codes: 0 done, 2 bad usage or input, 1 internal error, 130 interrupted.
func runMain() -> Never {
    do {
        var command = try RestyleCommand.parseAsRoot()
        try command.run()
        exit(0)
    } catch let e as RestyleError {
        printError("\(e)")
        exit(e.exitCode)
    } catch let e as ExitCode {
        exit(e.rawValue)
    } catch {
        let code = RestyleCommand.exitCode(for: error)
        if code == .success {
            print(RestyleCommand.fullMessage(for: error))
            exit(0)
        }
        printError("\(RestyleCommand.message(for: error)) (see restyle --help)")
        exit(code == .validationFailure ? 2 : code.rawValue)
    }
}

runMain()
