import AtomdSpec
import Foundation

/// What `atomd submit` gives with a job besides its text: `--var` values,
/// `--on-failure`, and a token to follow the run by (`--wait`). Kept beside
/// the job in the spool as `.NAME.submit.json` (a dotfile: the watcher does
/// not take it for a job), written before the job and moved before it at
/// each step, so a job never arrives without it.
public struct SpoolSubmission: Codable, Sendable, Hashable {
    public var vars: [String: JSONValue]
    public var onFailure: FailurePolicy?
    public var token: String
    /// Who submitted the job through the control API (the agent writes the
    /// sidecar for them); nil: the job file's owner.
    public var submitter: uid_t?
    /// The SHA-256 of the job text it was written for: a sidecar left
    /// behind (its job removed or replaced by hand) never lends its values
    /// and submitter to another job of that name. Set by `SpoolDrop`.
    public var job: String?

    enum CodingKeys: String, CodingKey {
        case vars, onFailure = "on_failure", token, submitter, job = "job_sha256"
    }

    public init(vars: [String: JSONValue] = [:], onFailure: FailurePolicy? = nil, token: String = UUID().uuidString.lowercased(),
                submitter: uid_t? = nil) {
        self.vars = vars
        self.onFailure = onFailure
        self.token = token
        self.submitter = submitter
    }

    /// Larger sidecars are refused.
    static let maxBytes = 64 * 1024

    /// The sidecar's name for job file `name`.
    static func sidecar(of name: String) -> String {
        "." + name + ".submit.json"
    }

    /// Reads the sidecar of `name` in `directory`: nil when there is none;
    /// opened without following links, a regular file, size-capped. With
    /// `owner` (the job file's), it passes the job file's own checks and
    /// must have the same owner: anyone who may write into incoming/ could
    /// otherwise give a job of root's their variables and their token.
    static func read(beside name: String, in directory: String, owner: uid_t? = nil) throws(SpoolError) -> SpoolSubmission? {
        let path = directory + "/" + sidecar(of: name)
        guard let bytes = try SpoolFile.read(path, maxBytes: maxBytes, owner: owner) else { return nil }
        guard let submission = try? JSONDecoder().decode(SpoolSubmission.self, from: Data(bytes)) else {
            throw SpoolError(path, "is not a submission written by `atomd submit`", hint: "remove it, or submit the job again")
        }
        return submission
    }

    /// Whether it was written for a job of exactly these bytes (a sidecar
    /// of an older atomd, without the hash, is taken as its job's).
    func belongs(to bytes: [UInt8]) -> Bool {
        job.map { $0 == SHA256.hex(bytes) } ?? true
    }

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }
}
