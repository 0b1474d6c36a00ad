/// One HTTP request, as the client sends it.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    public var url: String
    /// In order; names may repeat.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The whole transfer, connect included.
    public var timeout: Duration?
    public var connectTimeout: Duration?
    public var followRedirects: Bool
    /// Responses larger than this fail instead of filling memory.
    public var maxResponseBytes: Int
    /// Talk HTTP over this Unix socket instead of TCP.
    public var unixSocket: String?
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?
    /// Skip TLS verification (the atom warns when it is used).
    public var insecure: Bool
    /// Sign the request with AWS Signature Version 4 (libcurl computes it).
    public var awsSigV4: AWSSigning?

    public struct AWSSigning: Sendable, Hashable {
        /// `aws:amz:REGION:SERVICE`.
        public var provider: String
        public var accessKey: String
        public var secret: String

        public init(provider: String, accessKey: String, secret: String) {
            self.provider = provider
            self.accessKey = accessKey
            self.secret = secret
        }
    }

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                timeout: Duration? = nil, connectTimeout: Duration? = nil, followRedirects: Bool = false,
                maxResponseBytes: Int = 16 << 20, unixSocket: String? = nil, caFile: String? = nil,
                clientCertificate: String? = nil, clientKey: String? = nil, insecure: Bool = false, awsSigV4: AWSSigning? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.followRedirects = followRedirects
        self.maxResponseBytes = maxResponseBytes
        self.unixSocket = unixSocket
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecure = insecure
        self.awsSigV4 = awsSigV4
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.headers.elementsEqual(rhs.headers, by: ==) && lhs.body == rhs.body
            && lhs.timeout == rhs.timeout && lhs.connectTimeout == rhs.connectTimeout && lhs.followRedirects == rhs.followRedirects
            && lhs.maxResponseBytes == rhs.maxResponseBytes && lhs.unixSocket == rhs.unixSocket && lhs.caFile == rhs.caFile
            && lhs.clientCertificate == rhs.clientCertificate && lhs.clientKey == rhs.clientKey && lhs.insecure == rhs.insecure
            && lhs.awsSigV4 == rhs.awsSigV4
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(url)
    }
}

/// What came back.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased, in order; the last block when redirects were followed.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

/// Why a request got no response.
public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The connection could not be made (refused, DNS, unreachable).
        case connection
        case timeout
        case cancelled
        case tls
        case tooLarge
        case other
    }

    public var kind: Kind
    public var message: String
    /// Some of the request reached the wire before the failure: the server
    /// may have acted on it.
    public var requestSent: Bool

    public init(_ kind: Kind, _ message: String, requestSent: Bool = false) {
        self.kind = kind
        self.message = message
        self.requestSent = requestSent
    }

    public var description: String { message }
}
