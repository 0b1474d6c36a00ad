import AtomdSpec

/// An expression parsed, then evaluated against contexts holding every kind
/// of value: parse errors and evaluation errors are fine, crashes are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let root = try? ExpressionParser.parse(source) else { return 0 }
    let evaluator = ExpressionEvaluator(contexts: [
        "vars": .object(["a": .string("x"), "n": .integer(Int64.max), "f": .number(-0.5), "l": .array([.null, .bool(true)])]),
        "secrets": .object(["s": .string("{\"k\": [1, 2]}")]),
        "steps": .object(["a": .object(["outputs": .object(["id": .string("7")]), "status": .string("succeeded")])]),
    ], taint: SecretMask())
    _ = try? evaluator.evaluate(Expression(source: source, root: root, location: .start))
    return 0
}
