import AtomdEngine
import AtomdHTTP
import AtomdSpec
import Foundation

// HTTP step overhead: the `http` atom against the `curl` command line for
// the same request (GET /healthz on a FakeCloud at --base). The variants
// alternate call by call; medians are reported.
//
//   swift run -c release FakeCloud --port 8711 &
//   swift run -c release http-benchmark --base http://127.0.0.1:8711 [--count N]

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.dropFirst($0 + 1).first }
}

let base = option("--base") ?? "http://127.0.0.1:8711"
let count = option("--count").flatMap(Int.init) ?? 300

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

let atom = HTTPAtom()
let context = AtomContext(runID: "bench", stepPath: "get", attempt: 1, idempotencyKey: "bench/get/1")
let input: JSONValue = .object(["method": .string("GET"), "url": .string(base + "/healthz")])
var viaAtom: [Double] = [], viaCurl: [Double] = []
for _ in 0..<count {
    let start = ContinuousClock.now
    _ = try await atom.execute(input, context: context)
    viaAtom.append(microseconds(ContinuousClock.now - start))

    let curlStart = ContinuousClock.now
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = ["-s", "-o", "/dev/null", "--noproxy", "*", base + "/healthz"]
    try curl.run()
    curl.waitUntilExit()
    viaCurl.append(microseconds(ContinuousClock.now - curlStart))
}
print(String(format: "http atom, GET /healthz        %7.0f µs (median of %d)", median(viaAtom), count))
print(String(format: "curl command line, same GET    %7.0f µs", median(viaCurl)))
print(String(format: "result: http.atom %.1f us", median(viaAtom)))
print(String(format: "result: http.curl %.1f us", median(viaCurl)))
