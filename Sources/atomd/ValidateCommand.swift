import ArgumentParser
import AtomdSpec

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check job files without running them.",
        discussion: """
            Reads each file, checks it against the job format (version 1) and resolves every \
            ${{ }} expression: unknown keys, wrong types, unknown or out-of-order step \
            references and cycles in 'needs' are all reported, each as

              FILE:LINE:COLUMN: error: MESSAGE; HINT

            All problems are listed, not only the first. Exits 0 when every file is valid, 2 \
            otherwise.
            """
    )

    @Argument(help: ArgumentHelp("Job files to check.", valueName: "file"))
    var files: [String]

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one job file") }
    }

    func run() throws {
        let results = files.map(FileResult.init(path:))
        if output.json {
            try Output.json(Report(valid: results.allSatisfy(\.valid), files: results))
        } else {
            for result in results {
                if result.valid {
                    Output.line("\(result.file): ok (job \(result.job ?? ""), \(result.steps ?? 0) steps)")
                }
                for problem in result.errors {
                    Output.line("\(result.file):\(problem.line):\(problem.column): error: \(problem.text)")
                }
            }
            let invalid = results.filter { !$0.valid }
            if results.count > 1, !invalid.isEmpty {
                let problems = invalid.map(\.errors.count).reduce(0, +)
                Output.line("\(invalid.count) of \(results.count) files invalid, \(problems) problem(s)")
            }
        }
        if results.contains(where: { !$0.valid }) { throw AtomdExit.usage.code }
    }

    struct Report: Encodable {
        var valid: Bool
        var files: [FileResult]
    }

    struct FileResult: Encodable {
        var file: String
        var valid: Bool
        var job: String?
        var steps: Int?
        var errors: [Problem]

        init(path: String) {
            file = path
            do {
                let loaded = try JobLoader.load(path: path)
                valid = true
                job = loaded.name
                steps = loaded.allSteps.count
                errors = []
            } catch {
                valid = false
                errors = error.diagnostics.map(Problem.init)
            }
        }
    }

    struct Problem: Encodable {
        var line: Int
        var column: Int
        var message: String
        var hint: String?

        init(_ diagnostic: Diagnostic) {
            line = diagnostic.location.line
            column = diagnostic.location.column
            message = diagnostic.message
            hint = diagnostic.hint
        }

        var text: String { hint.map { "\(message); \($0)" } ?? message }
    }
}
