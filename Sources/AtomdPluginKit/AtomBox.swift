import CAtomdPlugin
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One atom type behind closures that speak JSON bytes, so that C thunks
/// can call it without knowing its types. Never freed: the descriptor that
/// points at it lives as long as the process.
final class AtomBox: Sendable {
    let name: String
    let summary: String
    let inputSchema: String?
    let execute: @Sendable (Data, AtomCall) throws -> Data
    let revert: (@Sendable (Data, Data?, AtomCall) throws -> Void)?
    let check: (@Sendable (Data, Data?, AtomCall) throws -> Presence)?

    init<A: Atom>(_ type: A.Type) {
        let atom = A()
        name = A.name
        summary = A.summary
        inputSchema = A.inputSchema
        execute = { input, call in
            let output = try atom.execute(try JSONCoding.decodeInput(A.Input.self, input), call: call)
            return try JSONCoding.wrapOutputs(output)
        }
        if let revertible = atom as? any Revertible {
            revert = { input, outputs, call in try revertible.erasedRevert(input, outputs, call) }
        } else {
            revert = nil
        }
        if let checkable = atom as? any Checkable {
            check = { input, outputs, call in try checkable.erasedCheck(input, outputs, call) }
        } else {
            check = nil
        }
    }
}

extension Revertible {
    func erasedRevert(_ input: Data, _ outputs: Data?, _ call: AtomCall) throws {
        try revert(try JSONCoding.decodeInput(Input.self, input), outputs: try JSONCoding.decodeOutputs(Output.self, outputs), call: call)
    }
}

extension Checkable {
    func erasedCheck(_ input: Data, _ outputs: Data?, _ call: AtomCall) throws -> Presence {
        try check(try JSONCoding.decodeInput(Input.self, input), outputs: try JSONCoding.decodeOutputs(Output.self, outputs), call: call)
    }
}

/// JSON in and out of atoms, with input errors an operator can act on.
enum JSONCoding {
    static func decodeInput<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw AtomFailure("invalid input: \(describe(error))", retryable: false, changedNothing: true)
        }
    }

    /// Outputs that were never recorded (`null`), or that no longer decode, are nil.
    static func decodeOutputs<T: Decodable>(_ type: T.Type, _ data: Data?) throws -> T? {
        guard let data, data != Data("null".utf8) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    static func wrapOutputs<T: Encodable>(_ output: T) throws -> Data {
        Data("{\"outputs\":".utf8) + (try JSONEncoder().encode(output)) + Data("}".utf8)
    }

    static func failure(_ error: any Error) -> Data {
        let failure = error as? AtomFailure ?? AtomFailure(String(describing: error))
        struct Wire: Encodable {
            let message: String
            let retryable: Bool
            let changed_nothing: Bool
        }
        let wire = Wire(message: failure.message, retryable: failure.retryable, changed_nothing: failure.changedNothing)
        return (try? JSONEncoder().encode(wire)) ?? Data(failure.message.utf8)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
            let keys = (context.codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the input" : "'" + keys.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context, key)) is missing"
        case .typeMismatch(let type, let context): return "\(path(context)) must be \(typeName(type))"
        case .valueNotFound(let type, let context): return "\(path(context)) must be \(typeName(type)), not null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is UInt32.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "a \(type)"
        }
    }
}
