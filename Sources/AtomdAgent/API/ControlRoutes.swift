import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

/// The control API (README "Control API" lists every route). JSON in and
/// out; errors are `{"error": ..., "hint": ...}` with a fitting status.
enum ControlRoutes {
    /// The Unix socket's router: every route, each caller checked by its
    /// SO_PEERCRED credentials; and `POST /console/login`, which hands out
    /// the web console's login links.
    static func router(agent: Agent) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        router.add(middleware: AccessMiddleware(agent: agent))
        add(to: router, agent: agent)
        router.post("console/login") { _, context in
            guard let peer = await context.peer() else { throw APIError(.forbidden, "the caller's credentials cannot be read") }
            return try encoded(try await agent.consoleLink(for: peer), status: .created)
        }
        return router
    }

    /// Large answers each user may have built at once, on the socket and
    /// the console together.
    static let answers = AnswerSlots(perCaller: 2)

    /// The routes both the socket and the console serve; who may call them
    /// is for the router's middleware to decide.
    static func add<Routes: RouterMethods>(to router: Routes, agent: Agent) where Routes.Context: CallerContext {
        router.get("healthz") { _, _ in
            let running = await agent.liveRuns().count, queued = await agent.queuedFiles.count
            let accepting = await agent.isAccepting
            return try json(["status": accepting ? "ok" : "stopping", "running": running, "queued": queued] as [String: any Sendable],
                            status: accepting ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: await agent.metricsText())))
        }
        router.get("runs") { request, _ in
            let (status, limit) = try runsQuery(in: request.uri)
            let token = request.uri.queryParameters["submission"].map(String.init)
            let runs = if let token { try await agent.journal.run(submission: token).map { [$0] } ?? [] }
                else { try await agent.journal.runs(status: status, limit: limit) }
            let refused = token.flatMap { runs.isEmpty ? agent.spool.refusal(submission: $0) : nil }
            return try encoded(RunList(runs: runs.map(RunListing.init), live: await agent.liveRuns(), queued: await agent.queuedFiles,
                                       refused: refused))
        }
        router.get("runs/:id") { _, context in
            let run = try await run(agent, context)
            let live = await agent.liveRuns().first { $0.runID == run.id }
            let reserved = await agent.handle(run.id)?.reservedRollback()
            return try await answers.with(await context.caller()) {
                try encoded(RunDetail(run, steps: try await agent.journal.steps(of: run.id), waiting: live?.waiting, locks: live?.locks,
                                      reservedRollback: reserved))
            }
        }
        router.get("runs/:id/logs") { request, context in
            let run = try await run(agent, context)
            let step = request.uri.queryParameters["step"].map(String.init)
            let directory = await agent.settings.logs + "/" + run.id
            return try await answers.with(await context.caller()) { try encoded(StepLogs.lines(directory: directory, step: step)) }
        }
        router.get("runs/:id/events") { request, context in
            let run = try await run(agent, context)
            // `after=` and `follow=false`: for clients that poll the history
            // rather than hold a stream open (`atomd submit --wait`).
            let after = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }.flatMap(Int.init)
                ?? request.uri.queryParameters["after"].flatMap { Int(String($0)) } ?? 0
            let follow = request.uri.queryParameters["follow"] != "false"
            // Live events come only from runs this agent holds; of any other
            // run the journal is all there is.
            let held = await agent.handle(run.id) != nil
            return EventStream.response(agent: agent, runID: run.id, after: after, open: follow && run.isOpen && held)
        }
        router.post("jobs") { request, context in
            let name = try jobName(in: request.uri)
            let submission = try submission(in: request.uri)
            let body = try await collect(request, upTo: YAMLLimits.jobFile.maxBytes, within: .seconds(30))
            do {
                let filed = try await agent.submit(name: name, bytes: Array(buffer: body), submission: submission,
                                                   caller: try await caller(context))
                return try json(["file": filed, "submission": submission.token], status: .accepted)
            } catch let error as SubmitError {
                return try encoded(SubmitFailure(error), status: HTTPResponse.Status(code: error.status))
            }
        }
        for (verb, action) in [("pause", RunAction.pause), ("resume", .resume), ("cancel", .cancel)] {
            router.post("runs/:id/\(verb)") { _, context in
                // A run parked after the agent died resuming it is not live:
                // resuming or cancelling it releases it.
                if action != .pause, let id = context.parameters.get("id"),
                   try await agent.unpark(id, caller: try await caller(context), cancel: action == .cancel) {
                    return try json(["run_id": id, "requested": verb], status: .accepted)
                }
                let handle = try await liveHandle(agent, context)
                do throws(RollbackRefusal) {
                    switch action {
                    case .pause: try await handle.pause()
                    case .resume: try await handle.resume()
                    case .cancel: await handle.cancel()
                    }
                } catch {
                    throw APIError(.conflict, error.message, hint: error.hint, rule: error.rule)
                }
                return try json(["run_id": handle.runID, "requested": verb], status: .accepted)
            }
        }
        for decision in [OperatorDecision.retry, .skip] {
            router.post("runs/:id/steps/:step/\(decision.rawValue)") { _, context in
                let handle = try await liveHandle(agent, context)
                let step = context.parameters.get("step") ?? ""
                guard await handle.decide(step, decision) else {
                    throw APIError(.conflict, "step '\(step)' of run \(handle.runID) is not waiting for a decision",
                                   hint: "waiting now: " + (await handle.waitingSteps()).joined(separator: ", "))
                }
                return try json(["run_id": handle.runID, "step": step, "decision": decision.rawValue], status: .accepted)
            }
        }
        router.post("runs/:id/rollback") { request, context in
            // An ended run is not live: refused by the rule the README names,
            // saying how to go on after a failed revert.
            let journaled = try await run(agent, context)
            if !journaled.isOpen, await agent.handle(journaled.id) == nil {
                throw APIError(.conflict, "the run is \(journaled.status.rawValue); a rollback needs a running or paused run",
                               hint: journaled.status == .revertFailed ? "`atomd rollback RUN --retry` retries the failed revert first"
                                   : "a run that has ended cannot be rolled back", rule: "run-state")
            }
            let handle = try await liveHandle(agent, context)
            let body = try await collect(request, upTo: RollbackAsk.maxBytes, within: .seconds(30))
            let (ask, reserve) = try RollbackAsk.decode(Array(buffer: body))
            do {
                if reserve {
                    try await handle.reserveRollback(ask)
                    return try encoded(ask, status: .accepted)
                }
                return try encoded(try await handle.rollback(ask), status: .accepted)
            } catch let refusal as RollbackRefusal {
                throw APIError(.conflict, refusal.message, hint: refusal.hint, rule: refusal.rule)
            }
        }
        router.post("runs/:id/rollback/cancel") { _, context in
            let handle = try await liveHandle(agent, context)
            do {
                return try encoded(try await handle.cancelReservedRollback(), status: .accepted)
            } catch let refusal as RollbackRefusal {
                throw APIError(.conflict, refusal.message, hint: refusal.hint, rule: refusal.rule)
            }
        }
        router.get("runs/:id/rollback/targets") { request, context in
            let handle = try await liveHandle(agent, context, steering: false)
            let start = request.uri.queryParameters["from"].map(String.init)
            let modeText = request.uri.queryParameters["mode"].map(String.init) ?? RollbackMode.token.rawValue
            guard let mode = RollbackMode(rawValue: modeText) else {
                throw APIError(.badRequest, "unknown mode '\(modeText)'", hint: "one of " + RollbackMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return try encoded(await handle.rollbackTargets(start: start, mode: mode))
        }
        router.post("runs/:id/rollback/retry") { request, context in
            let runID = context.parameters.get("id") ?? ""
            let body = try await collect(request, upTo: YAMLLimits.jobFile.maxBytes, within: .seconds(30))
            var values: [String: JSONValue] = [:]
            if body.readableBytes > 0 {
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)), case .object(let members) = value,
                      Set(members.keys).isSubset(of: ["vars"]) else {
                    throw APIError(.badRequest, "the body is not {\"vars\": {NAME: VALUE, ...}}", hint: "send nothing, or the variables to set")
                }
                guard case .object(let vars) = members["vars"] ?? .object([:]) else {
                    throw APIError(.badRequest, "\"vars\" is not an object of variables", hint: #"send {"vars": {"NAME": VALUE}}"#)
                }
                values = vars
            }
            let file = try await agent.retryRevert(runID, vars: values, caller: try await caller(context))
            return try json(["run_id": runID, "requested": "retry", "file": file], status: .accepted)
        }
        router.post("runs/:id/revert") { _, context in
            let handle = try await liveHandle(agent, context)
            guard await handle.revert() else {
                throw APIError(.conflict, "run \(handle.runID) is not paused, or is already being rolled back or cancelled",
                               hint: "`atomd pause \(handle.runID)` first: revert compensates a paused run")
            }
            return try json(["run_id": handle.runID, "requested": "revert"], status: .accepted)
        }
        router.post("runs/:id/vars") { request, context in
            let handle = try await liveHandle(agent, context)
            let body = try await collect(request, upTo: YAMLLimits.jobFile.maxBytes, within: .seconds(30))
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)), case .object(let values) = value,
                  !values.isEmpty else {
                throw APIError(.badRequest, "the body is not a JSON object of variables", hint: #"send {"NAME": VALUE, ...}"#)
            }
            do {
                try await handle.setVariables(values)
            } catch let error as RunSetupError {
                throw APIError(.conflict, error.message, hint: error.hint)
            }
            return try json(["run_id": handle.runID, "requested": "set"], status: .accepted)
        }
        router.get("plugins") { _, _ in
            try encoded(await agent.pluginInventory().map(PluginReport.init))
        }
        router.get("runs/:id/plan") { _, context in
            let run = try await run(agent, context)
            let job: Job
            do {
                job = try JobLoader.load(bytes: Array(run.jobText.utf8), file: run.jobFile)
            } catch {
                throw APIError(.unprocessableContent, "the job text of run \(run.id) no longer loads: \(error)")
            }
            return try encoded(JobPlan(job))
        }
    }

    enum RunAction { case pause, resume, cancel }

    /// `GET /runs?status=S&limit=N`: an optional status and how many runs
    /// (within `RunList.limits`, 50 by default). SQLite would read a negative
    /// LIMIT as "no limit".
    static func runsQuery(in uri: URI) throws -> (status: RunStatus?, limit: Int) {
        let query = uri.queryParameters
        var status: RunStatus?
        if let text = query["status"].map(String.init) {
            guard let known = RunStatus(rawValue: text) else {
                throw APIError(.badRequest, "unknown status '\(text)'",
                               hint: "one of " + RunStatus.allCases.map(\.rawValue).joined(separator: ", "))
            }
            status = known
        }
        guard let text = query["limit"].map(String.init) else { return (status, 50) }
        guard let limit = Int(text), RunList.limits.contains(limit) else {
            throw APIError(.badRequest, "limit '\(text)' is not a number from \(RunList.limits.lowerBound) to \(RunList.limits.upperBound)", hint: "GET /runs?limit=50")
        }
        return (status, limit)
    }

    /// `POST /jobs?vars={JSON}&on_failure=pause`: what `atomd submit` gives
    /// besides the job, with a new token to follow its run by.
    static func submission(in uri: URI) throws -> SpoolSubmission {
        let query = uri.queryParameters
        var submission = SpoolSubmission()
        if let text = query["vars"].map(String.init) {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), case .object(let vars) = value else {
                throw APIError(.badRequest, "vars is not a JSON object", hint: #"POST /jobs?name=NAME.yaml&vars={"NAME":VALUE}"#)
            }
            submission.vars = vars
        }
        if let text = query["on_failure"].map(String.init) {
            guard let policy = FailurePolicy(rawValue: text) else {
                throw APIError(.badRequest, "unknown on_failure '\(text)'", hint: "one of " + FailurePolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            submission.onFailure = policy
        }
        return submission
    }

    /// The file name `POST /jobs?name=NAME.yaml` gives, percent-decoded;
    /// JobAdmission checks it byte by byte.
    static func jobName(in uri: URI) throws -> String {
        guard let name = uri.queryParameters["name"].map(String.init) else {
            throw APIError(.badRequest, "the job file's name is missing", hint: "POST /jobs?name=NAME.yaml")
        }
        return name
    }

    private static func run(_ agent: Agent, _ context: some RequestContext) async throws -> JournaledRun {
        let id = context.parameters.get("id") ?? ""
        guard let run = try await agent.journal.run(id) else {
            throw APIError(.notFound, "no run \(id)", hint: "GET /runs lists the runs")
        }
        return run
    }

    /// The live run the request names; with `steering`, only if its caller may steer it.
    private static func liveHandle(_ agent: Agent, _ context: some CallerContext, steering: Bool = true) async throws -> RunHandle {
        let run = try await run(agent, context)
        guard let handle = await agent.handle(run.id) else {
            throw APIError(.conflict, "run \(run.id) is not running in this agent (\(run.status.rawValue))",
                           hint: run.isOpen ? "a run from `atomd run` is steered from its terminal" : "it has ended")
        }
        guard steering else { return handle }
        return try await agent.steerable(run.id, by: try await caller(context))
    }

    private static func caller(_ context: some CallerContext) async throws -> PeerCredentials {
        guard let caller = await context.caller() else {
            throw APIError(.forbidden, "the caller's credentials cannot be read", hint: "connect through the Unix socket")
        }
        return caller
    }

    static func encoded(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = APIJSON.encoder()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    private static func json(_ object: [String: any Sendable], status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// An API error as JSON: `{"error", "hint", "rule"}` (the rule a refused
/// rollback broke).
public struct APIError: Error, HTTPResponseError {
    public var status: HTTPResponse.Status
    public var message: String
    public var hint: String?
    public var rule: String?

    init(_ status: HTTPResponse.Status, _ message: String, hint: String? = nil, rule: String? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
        self.rule = rule
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object = ["error": message]
        object["hint"] = hint
        object["rule"] = rule
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Refuses callers the access policy does not allow, before any route runs.
/// A request's whole body, or 408 when it takes longer than `limit` to
/// arrive: a client trickling a byte now and then would hold its connection
/// (and the idle timeout, reset by each byte) for ever.
func collect(_ request: Request, upTo maxBytes: Int, within limit: Duration) async throws -> ByteBuffer {
    try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
        group.addTask { try await request.body.collect(upTo: maxBytes) }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let body = first else {
            throw APIError(.requestTimeout, "the request's body did not arrive within \(limit)", hint: "send the job file at once")
        }
        return body
    }
}

struct AccessMiddleware: RouterMiddleware {
    let agent: Agent

    func handle(_ request: Request, context: ControlContext,
                next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        guard let peer = await context.peer() else {
            throw APIError(.forbidden, "the caller's credentials cannot be read", hint: "connect through the Unix socket")
        }
        // A login link gives no more than its caller may do already.
        let readOnly = request.method == .get || request.method == .head || request.uri.path == "/console/login"
        guard await agent.accessPolicy.allows(peer, readOnly: readOnly) else {
            throw APIError(.forbidden, "uid \(peer.uid) may not \(readOnly ? "read from" : "steer") this agent",
                           hint: "ask for membership in the agent's api.group" + (readOnly ? " (or for api.public_read)" : ""))
        }
        return try await next(request, context)
    }
}
