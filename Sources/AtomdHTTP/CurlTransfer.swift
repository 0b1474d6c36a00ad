import CCurl
import Synchronization

/// The state one transfer's callbacks write into. Only the transfer's own
/// thread touches `body` and `headers` while curl runs; the async caller
/// reads them after the thread has finished.
final class TransferState: @unchecked Sendable {
    // Safe: written only by the thread running curl_easy_perform, read by the
    // caller only after that thread resumed its continuation (a happens-before
    // edge); `cancelled` is atomic because the caller sets it concurrently.
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var tooLarge = false
    let limit: Int
    let cancelled = Atomic(false)

    init(limit: Int) {
        self.limit = limit
    }
}

/// Runs one request on a curl easy handle, on the calling thread.
enum CurlTransfer {
    static func perform(_ request: HTTPRequest, handle: UnsafeMutableRawPointer, state: TransferState) -> Result<HTTPResponse, HTTPError> {
        curl_easy_reset(handle)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        let context = Unmanaged.passUnretained(state).toOpaque()

        _ = atomd_curl_set_string(handle, CURLOPT_URL, request.url)
        _ = atomd_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = atomd_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        _ = atomd_curl_set_long(handle, CURLOPT_MAXREDIRS, 10)
        _ = atomd_curl_set_string(handle, CURLOPT_USERAGENT, "atomd")
        // Only HTTP(S): a URL from a job must not reach file:// or other schemes.
        _ = atomd_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = atomd_curl_set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        if let timeout = request.timeout { _ = atomd_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(timeout)) }
        if let timeout = request.connectTimeout { _ = atomd_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(timeout)) }
        if let socket = request.unixSocket { _ = atomd_curl_set_string(handle, CURLOPT_UNIX_SOCKET_PATH, socket) }
        if let caFile = request.caFile { _ = atomd_curl_set_string(handle, CURLOPT_CAINFO, caFile) }
        if let certificate = request.clientCertificate { _ = atomd_curl_set_string(handle, CURLOPT_SSLCERT, certificate) }
        if let key = request.clientKey { _ = atomd_curl_set_string(handle, CURLOPT_SSLKEY, key) }
        if let signing = request.awsSigV4 {
            _ = atomd_curl_set_string(handle, CURLOPT_AWS_SIGV4, signing.provider)
            _ = atomd_curl_set_string(handle, CURLOPT_USERNAME, signing.accessKey)
            _ = atomd_curl_set_string(handle, CURLOPT_PASSWORD, signing.secret)
        }
        if request.insecure {
            _ = atomd_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            _ = atomd_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }

        // On a reused connection that dies before any answer, libcurl sends
        // the request again by itself, unseen by the engine: a POST would be
        // made twice. A request HTTP does not call idempotent gets a fresh
        // connection, on which libcurl never does that.
        if !Self.idempotentMethods.contains(request.method) { _ = atomd_curl_set_long(handle, CURLOPT_FRESH_CONNECT, 1) }
        switch request.method {
        case "GET": _ = atomd_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = atomd_curl_set_long(handle, CURLOPT_NOBODY, 1)
        default: _ = atomd_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // curl adds "Expect: 100-continue" to larger bodies; APIs rarely want
        // the wait. Not on a signed request: libcurl 7.88 then signs the
        // removed header, and every signature is wrong.
        if request.awsSigV4 == nil { headerList = curl_slist_append(headerList, "Expect:") }
        _ = atomd_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))

        _ = atomd_curl_set_write(handle, writeCallback)
        _ = atomd_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = atomd_curl_set_header(handle, headerCallback)
        _ = atomd_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = atomd_curl_set_progress(handle, progressCallback)
        _ = atomd_curl_set_pointer(handle, CURLOPT_XFERINFODATA, context)
        _ = atomd_curl_set_long(handle, CURLOPT_NOPROGRESS, 0)

        let code: CURLcode = {
            guard let body = request.body else { return curl_easy_perform(handle) }
            return body.withUnsafeBytes { bytes in
                _ = atomd_curl_set_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                _ = atomd_curl_set_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return curl_easy_perform(handle)
            }
        }()
        guard code == CURLE_OK else { return .failure(error(code, handle: handle, state: state, request: request)) }
        var status = 0
        _ = atomd_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: state.headers, body: state.body))
    }

    /// RFC 9110's idempotent methods: repeating them changes nothing more.
    static let idempotentMethods: Set<String> = ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]

    private static func milliseconds(_ duration: Duration) -> Int {
        max(1, Int(duration / .milliseconds(1)))
    }

    private static func error(_ code: CURLcode, handle: UnsafeMutableRawPointer, state: TransferState,
                              request: HTTPRequest) -> HTTPError {
        let text = String(cString: curl_easy_strerror(code))
        if state.cancelled.load(ordering: .relaxed) { return HTTPError(.cancelled, "cancelled") }
        if state.tooLarge {
            return HTTPError(.tooLarge, "the response is larger than \(request.maxResponseBytes) bytes")
        }
        // Whether any of the request went out: a server that got it may have
        // acted on it, so its outcome is unknown rather than "not done".
        var sent = 0
        _ = atomd_curl_get_long(handle, CURLINFO_REQUEST_SIZE, &sent)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(.timeout, "\(request.method) \(request.url): \(text)", requestSent: sent > 0)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(.connection, "\(request.method) \(request.url): \(text)")
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
            return HTTPError(.connection, "\(request.method) \(request.url): \(text)", requestSent: sent > 0)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return HTTPError(.tls, "\(request.method) \(request.url): \(text)")
        default: return HTTPError(.other, "\(request.method) \(request.url): \(text)")
        }
    }
}

private func state(_ context: UnsafeMutableRawPointer?) -> TransferState? {
    context.map { Unmanaged<TransferState>.fromOpaque($0).takeUnretainedValue() }
}

private let writeCallback: atomd_curl_data_callback = { data, size, count, context in
    guard let state = state(context), let data else { return 0 }
    let length = size * count
    guard state.body.count + length <= state.limit else {
        state.tooLarge = true
        return 0  // aborts the transfer
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
    return length
}

private let headerCallback: atomd_curl_data_callback = { data, size, count, context in
    guard let state = state(context), let data else { return 0 }
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        state.headers = []  // a new response block (after a redirect or 100-continue)
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        state.headers.append((name, value))
    }
    return length
}

private let progressCallback: atomd_curl_progress_callback = { context, _, _, _, _ in
    guard let state = state(context) else { return 0 }
    return state.cancelled.load(ordering: .relaxed) ? 1 : 0
}
