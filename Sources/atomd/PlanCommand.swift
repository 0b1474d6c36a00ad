import ArgumentParser
import AtomdSpec

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the order a job's steps run in, and the order compensation would undo them.",
        discussion: """
            Run order lists every step with its scope: its place in a sequence, its parallel \
            group (branches run at the same time), or its level in a graph group (steps of one \
            level run together once the level before has finished).

            Compensation order is what happens if the job fails after every step has run: \
            steps revert newest first, groups inside-out, parallel branches together. A failure \
            earlier in the job reverts the tail of this list that had run. 'finally' steps run \
            afterwards in either case.
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @OptionGroup var output: OutputOptions

    func run() throws {
        let job = try JobFile.load(file)
        let plan = JobPlan(job)
        if output.json {
            try Output.json(plan)
        } else {
            PlanPrinter(plan: plan, description: job.description).print()
        }
    }
}
