import AtomdSpec
import Foundation
import AtomdTestSupport
import Testing

/// DESIGN.md section 2: no byte of a secret is ever written to disk by atomd,
/// nor shown. A job handles two secrets every way a job can (echoed, in an
/// env value built around it, base64-encoded, in a Basic-auth header that
/// the API echoes back, URL-encoded in a query, a field of a JSON secret, an
/// output, a failure message, retries, compensation, `finally`); then every
/// byte atomd stored or printed is searched for every form of each secret.
@Suite struct SecretsAuditTests {
    static let token = #"Tk3n/+"quoted" & more=yes"#
    static let password = "pw-Zq8#Lm/3x"

    /// The forms a leak would take, spelled independently of the code under test.
    static func forms(of secret: String) -> [String: String] {
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        var forms = [
            "plain": secret,
            "base64": Data(secret.utf8).base64EncodedString().trimmingCharacters(in: ["="]),
            "Basic auth": Data("ops:\(secret)".utf8).base64EncodedString().trimmingCharacters(in: ["="]),
            "after a newline in base64": Data("user:\(secret)".utf8).base64EncodedString().trimmingCharacters(in: ["="]),
        ]
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: unreserved) {
            forms["URL-encoded"] = encoded
            forms["form-encoded"] = encoded.replacingOccurrences(of: "%20", with: "+")
        }
        var query = CharacterSet.urlQueryAllowed
        query.remove(charactersIn: "&=+?#")
        forms["in a query"] = secret.addingPercentEncoding(withAllowedCharacters: query)
        for (name, form) in forms {
            forms["\(name), in JSON"] = form.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "/", with: "\\/")
        }
        return forms
    }

    static func job(cloud: String, credsFile: String) -> String {
        """
        version: 1
        name: audit
        secrets:
          token: { env: AUDIT_TOKEN }
          creds: { file: \(credsFile) }
        env:
          AUTH: "Bearer ${{ secrets.token }}"
        steps:
          - id: echo
            run: |
              echo "token ${{ secrets.token }}"
              echo "auth $AUTH" >&2
              printf '%s' ${{ secrets.token }} | base64 -w0; echo
              printf 'user:%s' ${{ secrets.token }} | base64 -w0; echo
              echo "token=${{ secrets.token }}" >> "$ATOMD_OUTPUT"
              echo "password ${{ fromJSON(secrets.creds).password }}"
            revert: echo "undoing with ${{ secrets.token }} and ${{ outputs.token }}"
          - id: call
            http:
              method: POST
              url: \(cloud)/echo
              query: { t: "${{ secrets.token }}" }
              auth: { basic: { user: ops, password: "${{ secrets.token }}" } }
              json: { password: "${{ fromJSON(secrets.creds).password }}" }
              expect: [200]
            outputs: { echoed: "${{ response.text }}" }
            revert: echo "reverting ${{ outputs.echoed }}"
          - id: server
            http: { method: POST, url: "\(cloud)/servers", json: { name: audit }, expect: [201, 202] }
            outputs: { id: "${{ response.json.id }}" }
            mask: [id]
            revert: { http: { method: DELETE, url: "\(cloud)/servers/${{ outputs.id }}", expect: [204, 404] } }
          - id: fails
            retry: { attempts: 2, delay: 10ms }
            continue_on_error: true
            run: |
              echo "failing with ${{ secrets.token }}" >&2
              exit 3
          - id: rejected
            http:
              method: PUT
              url: \(cloud)/echo
              headers: { X-Token: "${{ secrets.token }}" }
              expect: [201]
        finally:
          - id: notify
            run: echo "ended ${{ run.status }} with ${{ secrets.token }}"
        """
    }

    /// Every regular file under `directory`, with its bytes.
    static func files(under directory: String) -> [(String, Data)] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var files: [(String, Data)] = []
        while let relative = enumerator?.nextObject() as? String {
            let path = directory + "/" + relative
            if let data = FileManager.default.contents(atPath: path) { files.append((relative, data)) }
        }
        return files
    }

    /// A scratch directory holding the JSON secret's file; returns the file.
    static func credentials(in scratch: String) throws -> String {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let file = scratch + "/creds.json"
        try Data(#"{"user":"ops","password":"\#(password)"}"#.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    static let environment = ["AUDIT_TOKEN": token]

    /// The ids of the servers the runs made: masked outputs. Each must be
    /// deleted again, by its real id.
    static func maskedServerIDs(_ cloud: FakeCloudProcess, count: Int) async throws -> [String] {
        #expect(try await cloud.live()["servers"] == [])
        let ledger = try JSONDecoder().decode(JSONValue.self, from: Data(try await cloud.call("GET", "/ledger").body))
        guard case .array(let events) = ledger["events"] else {
            Issue.record("no ledger: \(ledger)")
            return []
        }
        let ids = Set(events.filter { $0["kind"] == .string("server") }.map { $0["id"].interpolated })
        #expect(ids.count == count)
        return ids.sorted()
    }

    /// Searches every text shown and every file stored under `home` for
    /// every form of each secret and for each masked output.
    static func expectNoSecret(shown: [(String, String)], home: String, maskedOutputs: [String]) {
        let stored = files(under: home)
        #expect(stored.contains { $0.0.hasSuffix("journal.sqlite") })
        #expect(stored.contains { $0.0.hasSuffix(".log") })
        let outputs = maskedOutputs.map { ("masked output \($0)", ["plain": $0]) }
        for (secret, forms) in [("token", forms(of: token)), ("password", forms(of: password))] + outputs {
            for (form, bytes) in forms {
                for (place, text) in shown {
                    #expect(!text.contains(bytes), "the \(form) form of the \(secret) is shown by \(place)")
                }
                for (file, data) in stored {
                    #expect(data.range(of: Data(bytes.utf8)) == nil, "the \(form) form of the \(secret) is stored in \(file)")
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func noFormOfASecretIsStoredOrShown() async throws {
        let cloud = try await FakeCloudProcess()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let home = scratch + "/home"
        let credsFile = try Self.credentials(in: scratch)
        let job = scratch + "/audit.yaml"
        try Data(Self.job(cloud: cloud.base, credsFile: credsFile).utf8).write(to: URL(fileURLWithPath: job))
        let environment = Self.environment

        var shown: [(String, String)] = []
        let run = try await AtomdProcess.run(["run", job, "--home", home], environment: environment)
        try #require(run.status == 1, "the job fails and is compensated: \(run.stdout) \(run.stderr)")
        shown += [("run stdout", run.stdout), ("run stderr", run.stderr)]
        let json = try await AtomdProcess.run(["run", job, "--home", home, "--json"], environment: environment)
        shown += [("run --json stdout", json.stdout), ("run --json stderr", json.stderr)]

        let listed = try await AtomdProcess.run(["runs", "--home", home, "--json"])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(runs.count == 2)
        for runID in runs.compactMap({ $0["id"] as? String }) {
            for arguments in [["show", runID], ["show", runID, "--json"], ["logs", runID], ["logs", runID, "echo"],
                              ["logs", runID, "fails"], ["logs", runID, "notify"]] {
                let result = try await AtomdProcess.run(arguments + ["--home", home])
                shown += [(arguments.joined(separator: " "), result.stdout + result.stderr)]
            }
        }
        // The audit must see what it looks for: the steps really printed.
        let logs = shown.filter { $0.0.contains("logs") }.map(\.1).joined()
        #expect(logs.contains("undoing with *** and ***") && logs.contains("failing with ***"), "\(logs)")
        let shownRun = run.stdout + run.stderr
        #expect(shownRun.contains("token ***") && shownRun.contains("password ***") && shownRun.contains("Bearer ***"), "\(shownRun)")

        let servers = try await Self.maskedServerIDs(cloud, count: 2)
        Self.expectNoSecret(shown: shown, home: home, maskedOutputs: servers)
    }
}
