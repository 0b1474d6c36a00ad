import AtomdPlugins
import AtomdSpec

/// The checks a job given to the agent passes before anything of it is
/// written or run, the same for `POST /jobs` and the spool: a job file's
/// name, a valid job, and only what `api.run_as` allows its submitter.
/// Whatever (re)starts work (a submission, a claim, a resumption, a retry,
/// a rollback) passes it again under the limits of whoever asked.
/// Synchronous and free of I/O, so that Fuzz/ControlRequest can drive it
/// with hostile bytes; callers run it on a thread of its own.
public enum JobAdmission {
    /// The job in `bytes`, or why it is refused (with an HTTP status).
    /// `vars`: `atomd submit --var` values, each declared by the job.
    /// `limits`: nil for root and the agent's user.
    public static func admit(name: String, bytes: [UInt8], limits: RunAsPolicy?,
                             vars: [String: JSONValue] = [:]) throws(SubmitError) -> Job {
        guard SpoolNames.isJob(name) else {
            throw SubmitError(status: 400, message: "'\(name)' is not a job file name", hint: "use NAME.yaml or NAME.yml, no '/' and no leading '.'")
        }
        let job: Job
        do {
            job = try JobLoader.load(bytes: bytes, file: name)
        } catch {
            throw SubmitError(status: 422, message: "the job is invalid", diagnostics: error.diagnostics)
        }
        if let unknown = vars.keys.sorted().first(where: { job.vars[$0] == nil }) {
            throw SubmitError(status: 422, message: "--var \(unknown): the job declares no variable '\(unknown)'",
                              hint: "declared: \(job.vars.keys.sorted().joined(separator: ", "))")
        }
        // Loading checked the sizes with the job's own values; `--var` values may be larger.
        if !vars.isEmpty {
            let oversized = SizeChecker.check(job, vars: vars)
            guard oversized.isEmpty else {
                throw SubmitError(status: 422, message: "with these --var values the job exceeds a size limit", diagnostics: oversized)
            }
        }
        try check(job, file: name, limits: limits)
        // Refused now, not filed in failed/ after the submitter was told it was accepted.
        if job.pluginAtoms.contains(where: { $0.plugin == "test" }), !AtomSet.testAtomsEnabled {
            throw SubmitError(status: 422, message: "the job uses test atoms (test.*), which this agent does not have",
                              hint: "they are for tests and demos: start the agent with \(AtomSet.testAtomsVariable)=1, or use run:, http: or a plugin's atoms")
        }
        return job
    }

    /// The `api.run_as` part alone, for a job already loaded.
    static func check(_ job: Job, file: String, limits: RunAsPolicy?) throws(SubmitError) {
        guard let violations = limits?.violations(job, file: file), !violations.isEmpty else { return }
        throw SubmitError(status: 403, message: "the job does what api.run_as does not allow", diagnostics: violations)
    }

    /// `admit` on a thread of its own: loading a large job would otherwise
    /// hold one of the cooperative pool's few threads.
    static func admitted(name: String, bytes: [UInt8], limits: RunAsPolicy?,
                         vars: [String: JSONValue] = [:]) async throws(SubmitError) -> Job {
        try await OwnThread.run {
            Result { () throws(SubmitError) in try admit(name: name, bytes: bytes, limits: limits, vars: vars) }
        }.get()
    }
}

/// Why a job given to the agent was not accepted.
public struct SubmitError: Error, Sendable {
    /// The HTTP status `POST /jobs` answers with.
    public var status: Int
    public var message: String
    public var hint: String?
    /// Where in the job file, for an invalid job or a refused user.
    public var diagnostics: [Diagnostic] = []

    /// The report a job refused from the spool is filed with.
    func report(for file: String) -> SpoolReport {
        diagnostics.isEmpty ? SpoolReport(file: file, message: message, hint: hint) : SpoolReport(file: file, diagnostics: diagnostics)
    }
}
