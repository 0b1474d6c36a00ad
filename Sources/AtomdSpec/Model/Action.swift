/// What a step does. Exactly one per step.
public indirect enum Action: Sendable, Hashable {
    case run(ShellAction)
    case http(HTTPAction)
    case plugin(PluginAction)
    case group(Group)

    /// The job-file key of the action (`run`, `http`, `uses`, `group`).
    public var keyword: String {
        switch self {
        case .run: "run"
        case .http: "http"
        case .plugin: "uses"
        case .group: "group"
        }
    }

    /// Every template the action evaluates before it starts.
    public var templates: [Template] {
        switch self {
        case .run(let shell):
            [shell.script] + shell.env.map(\.value) + [shell.cwd, shell.user, shell.group].compactMap { $0 }
        case .http(let http):
            [http.url] + http.headers.map(\.value) + http.query.map(\.value) + http.form.map(\.value)
                + (http.json?.templates ?? []) + [http.body, http.unixSocket, http.tls.caFile, http.tls.clientCertificate,
                                                  http.tls.clientKey].compactMap { $0 }
                + (http.auth.map { auth -> [Template] in
                    switch auth {
                    case .bearer(let token): [token]
                    case .basic(let user, let password): [user, password]
                    case .awsSigV4(let signing): [signing.provider, signing.accessKey, signing.secret] + (signing.sessionToken.map { [$0] } ?? [])
                    }
                } ?? [])
        case .plugin(let plugin):
            plugin.with.templates
        case .group:
            []
        }
    }
}

/// `run:`: a shell script run under the process supervisor.
public struct ShellAction: Sendable, Hashable {
    public var script: Template
    /// `bash` (the default, run as `bash -e -o pipefail`), `sh`, `python3`,
    /// or an absolute path.
    public var shell: String?
    public var env: [EnvironmentVariable]
    public var cwd: Template?
    public var user: Template?
    public var group: Template?
    /// Exit codes that mean success; in a check, "present". Default `[0]`.
    public var successCodes: [Int]?
    /// In a check, exit codes that mean "absent". Default `[1]`.
    public var absentCodes: [Int]?
    /// Between SIGTERM and SIGKILL on timeout, cancellation and clean-up. Default 10s.
    public var killGrace: Duration?
    /// Leave the step's processes running when the script exits; its
    /// automatic revert stops them.
    public var keepRunning: Bool
    /// `limits:`: what the step's processes may use together.
    public var limits: StepLimits?

    public init(script: Template, shell: String? = nil, env: [EnvironmentVariable] = [],
                cwd: Template? = nil, user: Template? = nil, group: Template? = nil,
                successCodes: [Int]? = nil, absentCodes: [Int]? = nil, killGrace: Duration? = nil,
                keepRunning: Bool = false, limits: StepLimits? = nil) {
        self.script = script
        self.shell = shell
        self.env = env
        self.cwd = cwd
        self.user = user
        self.group = group
        self.successCodes = successCodes
        self.absentCodes = absentCodes
        self.killGrace = killGrace
        self.keepRunning = keepRunning
        self.limits = limits
    }

    /// Shells that may be named without a path.
    public static let namedShells = ["bash", "sh", "python3"]

    /// Whether the interpreter is a POSIX shell, the only kind whose script
    /// can take `${{ }}` values as data (by environment references written
    /// for their quoting context). Another interpreter's text cannot.
    public var takesValuesInScript: Bool {
        let name = shell.map { String($0.split(separator: "/").last ?? "") } ?? "bash"
        return ["bash", "sh", "dash"].contains(name)
    }

    /// The prefix of the environment variables that carry a script's values;
    /// with the rest of `ATOMD_`, reserved.
    public static let valueVariablePrefix = "ATOMD_VALUE_"
}

/// `limits: { memory, cpu, pids }` of a `run:` action: for all of the
/// step's processes together, through its cgroup (setrlimit per process
/// where no cgroup can be made).
public struct StepLimits: Sendable, Hashable {
    /// Bytes.
    public var memory: Int?
    /// CPUs, such as 0.5 or 2.
    public var cpu: Double?
    /// Processes and threads.
    public var pids: Int?

    public init(memory: Int? = nil, cpu: Double? = nil, pids: Int? = nil) {
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
    }
}

/// `http:`: one request to a remote API.
public struct HTTPAction: Sendable, Hashable {
    /// Whether `text` holds a CR, LF or NUL: in a URL or a header it would
    /// end the line and start another, adding headers of its own. Refused
    /// at validation (written literally) and by the http atom (from values).
    public static func breaksALine(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") || $0 == 0 }
    }

    public var method: String
    public var url: Template
    public var headers: [Header]
    public var query: [Header]
    public var json: ValueTemplate?
    public var body: Template?
    /// `application/x-www-form-urlencoded` fields.
    public var form: [Header]
    public var auth: Authentication?
    /// Status codes that mean success (and, in a check, "present").
    public var expect: [Int]
    /// Status codes that mean "absent" in a check (`404` for a deleted server).
    public var absent: [Int]
    public var tls: TLS
    public var unixSocket: Template?
    public var connectTimeout: Duration?
    /// The transfer's own limit (the step's `timeout` bounds all attempts and polls).
    public var timeout: Duration?
    public var followRedirects: Bool
    public var maxResponseBytes: Int?
    /// Repeat the request until this holds on the response (`response.json.status == 'ACTIVE'`).
    public var until: Expression?
    public var poll: Poll?
    /// In a check: on an expected response, the effect is there when this
    /// holds and absent when it does not.
    public var presentWhen: Expression?
    /// In a check: the effect is absent when this holds on an expected
    /// response, whatever `presentWhen` says.
    public var absentWhen: Expression?
    /// Follow a next token over pages, gathering each page's items.
    public var paginate: Pagination?

    /// `paginate: { items: EXPR, next: EXPR, param: NAME, max_pages: N }`.
    public struct Pagination: Sendable, Hashable {
        /// This page's items (an array, or one value) from `response`.
        public var items: Expression
        /// The next page's token from `response`; empty or null ends.
        public var next: Expression
        /// Where the token goes: a field of the `form:` body when the
        /// request has one, else a query parameter.
        public var parameter: String
        public var maxPages: Int

        public static let defaultMaxPages = 100
        public static let maxPagesLimit = 1000

        public init(items: Expression, next: Expression, parameter: String, maxPages: Int = defaultMaxPages) {
            self.items = items
            self.next = next
            self.parameter = parameter
            self.maxPages = maxPages
        }
    }

    public init(method: String = "GET", url: Template, headers: [Header] = [], query: [Header] = [],
                json: ValueTemplate? = nil, body: Template? = nil, form: [Header] = [], auth: Authentication? = nil,
                expect: [Int] = [], absent: [Int] = [], tls: TLS = TLS(), unixSocket: Template? = nil,
                connectTimeout: Duration? = nil, timeout: Duration? = nil, followRedirects: Bool = false,
                maxResponseBytes: Int? = nil, until: Expression? = nil, poll: Poll? = nil,
                presentWhen: Expression? = nil, absentWhen: Expression? = nil, paginate: Pagination? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.query = query
        self.json = json
        self.body = body
        self.form = form
        self.auth = auth
        self.expect = expect
        self.absent = absent
        self.tls = tls
        self.unixSocket = unixSocket
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.followRedirects = followRedirects
        self.maxResponseBytes = maxResponseBytes
        self.until = until
        self.poll = poll
        self.presentWhen = presentWhen
        self.absentWhen = absentWhen
        self.paginate = paginate
    }

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: Template

        public init(name: String, value: Template) {
            self.name = name
            self.value = value
        }
    }

    /// `auth: { bearer: TOKEN }`, `auth: { basic: { user, password } }` or
    /// `auth: { aws_sigv4: { provider, access_key, secret, session_token } }`.
    public enum Authentication: Sendable, Hashable {
        case bearer(Template)
        case basic(user: Template, password: Template)
        case awsSigV4(AWSSigning)
    }

    /// AWS Signature Version 4, computed by libcurl for each request.
    public struct AWSSigning: Sendable, Hashable {
        /// `aws:amz:REGION:SERVICE`, as libcurl's CURLOPT_AWS_SIGV4 takes it.
        public var provider: Template
        public var accessKey: Template
        public var secret: Template
        /// Temporary credentials' token, sent as `X-Amz-Security-Token` (signed).
        public var sessionToken: Template?

        public init(provider: Template, accessKey: Template, secret: Template, sessionToken: Template? = nil) {
            self.provider = provider
            self.accessKey = accessKey
            self.secret = secret
            self.sessionToken = sessionToken
        }

        /// Four parts of letters, digits and dashes: what libcurl can sign with.
        public static func isProvider(_ text: String) -> Bool {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { part in
                !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
        }
    }

    /// Files for TLS, and the escape hatch `insecure` (warned about when used).
    public struct TLS: Sendable, Hashable {
        public var caFile: Template?
        public var clientCertificate: Template?
        public var clientKey: Template?
        public var insecure: Bool

        public init(caFile: Template? = nil, clientCertificate: Template? = nil, clientKey: Template? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.clientCertificate = clientCertificate
            self.clientKey = clientKey
            self.insecure = insecure
        }
    }

    /// How `until` repeats: every `interval`, giving up after `timeout`.
    public struct Poll: Sendable, Hashable {
        public var interval: Duration
        public var timeout: Duration

        public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(300)) {
            self.interval = interval
            self.timeout = timeout
        }
    }
}

/// `uses: PLUGIN.ATOM` with its `with:` input.
public struct PluginAction: Sendable, Hashable {
    public var plugin: String
    public var atom: String
    public var with: ValueTemplate

    public init(plugin: String, atom: String, with: ValueTemplate = .object([:])) {
        self.plugin = plugin
        self.atom = atom
        self.with = with
    }

    public var qualifiedName: String { "\(plugin).\(atom)" }
}

/// `group:`: nested steps run as one unit, reverted inside-out.
public struct Group: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable, Codable {
        case sequence, parallel, graph
    }

    public var mode: Mode
    /// How many children run at once in parallel and graph groups; nil is unbounded.
    public var maxParallel: Int?
    public var steps: [Step]
    /// The group-level retry controller: on failure, revert the group and run it again.
    public var retry: GroupRetry?

    public init(mode: Mode = .sequence, maxParallel: Int? = nil, steps: [Step], retry: GroupRetry? = nil) {
        self.mode = mode
        self.maxParallel = maxParallel
        self.steps = steps
        self.retry = retry
    }
}

/// TaskFlow's Times / ForEach / ParameterizedForEach controllers.
public struct GroupRetry: Sendable, Hashable {
    public enum Strategy: Sendable, Hashable {
        /// Run the group up to N times in all.
        case times(Int)
        /// Run once per item until one succeeds; the item is `${{ retry.item }}`.
        case forEach([JSONValue])
        /// Like `forEach`, with the items computed when the group starts.
        case forEachExpression(Expression)
    }

    public var strategy: Strategy
    public var delay: Duration?

    public init(strategy: Strategy, delay: Duration? = nil) {
        self.strategy = strategy
        self.delay = delay
    }
}
