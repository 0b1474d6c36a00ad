import AtomdSpec

/// Atoms for tests and demos: `test.noop`, `test.sleep`, `test.fail` and
/// `test.world`. They touch nothing outside the process.
public enum TestAtoms {
    /// All four, sharing `world`.
    public static func all(world: TestWorld = TestWorld()) -> [any Atom] {
        [NoopAtom(), SleepAtom(), FailAtom(), WorldAtom(world: world)]
    }
}

/// `test.noop`: does nothing, successfully. Input is echoed as outputs.
public struct NoopAtom: Atom {
    public let name = "test.noop"
    public init() {}

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        AtomResult(outputs: input == .null ? .object([:]) : input)
    }
}

/// `test.sleep`: `with: { for: 2s }` waits (cancellably), then succeeds.
public struct SleepAtom: Atom {
    public let name = "test.sleep"
    public init() {}

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        guard case .string(let text) = input["for"], let duration = Duration(jobText: text) else {
            throw AtomError("test.sleep needs with: { for: DURATION }")
        }
        context.log("sleeping \(text)")
        // Four steps, so progress reporting is visible (and tested).
        for quarter in 1...4 {
            try await Task.sleep(for: duration / 4)
            context.progress(Double(quarter) / 4)
        }
        return AtomResult()
    }
}

/// `test.fail`: `with: { attempts: N }` fails the first N attempts of the
/// step; `with: { always: true }` always fails; `exit_code` sets the code.
public struct FailAtom: Atom {
    public let name = "test.fail"
    public init() {}

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        let exitCode = try Self.whole(input["exit_code"], "exit_code", range: 0...255)
        let code = exitCode == 0 ? nil : exitCode
        if input["always"] == .bool(true) {
            throw AtomError("test.fail: failing as asked", exitCode: code)
        }
        let failures = try Self.whole(input["attempts"], "attempts", range: 0...1_000_000) ?? 0
        if context.attempt <= failures {
            throw AtomError("test.fail: attempt \(context.attempt) of \(failures) failing", exitCode: code)
        }
        return AtomResult(outputs: .object(["attempt": .integer(Int64(context.attempt))]))
    }

    /// A whole number in `range`, or nil when absent. Anything else is the
    /// step's failure, never a trap: `1e300` does not fit an `Int`.
    static func whole(_ value: JSONValue, _ field: String, range: ClosedRange<Int>) throws -> Int? {
        guard value != .null else { return nil }
        guard let number = Int(exactly: value.numericValue.isNaN ? .infinity : value.numericValue), range.contains(number) else {
            throw AtomError("test.fail: '\(field)' must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(value.json)",
                            retryable: false)
        }
        return number
    }
}

/// `test.world`: `with: { flag: NAME }` sets the flag; revert clears it;
/// check reads it. `fail: before` fails without setting, `fail: after` sets
/// the flag and then fails (the "did it happen?" case checks exist for),
/// `revert_fails: true` makes the revert fail, `check_unknown: true` makes
/// the check unable to tell, and `clear: true` makes execute clear the flag
/// (a `revert:` action written out in the job). `fail: unknown` sets the
/// flag and then fails as a call whose answer was lost; `refuse_duplicate:
/// true` refuses, as changing nothing, to set a flag that is already set
/// (an API that refuses a second create of the same name).
public struct WorldAtom: Atom {
    public let name = "test.world"
    public let capabilities: AtomCapabilities = [.revert, .check]
    let world: TestWorld

    public init(world: TestWorld) {
        self.world = world
    }

    private func flag(_ input: JSONValue) throws -> String {
        guard case .string(let flag) = input["flag"] else { throw AtomError("test.world needs with: { flag: NAME }") }
        return flag
    }

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        let flag = try flag(input)
        if input["clear"] == .bool(true) {
            world.clear(flag, by: context.stepPath)
            return AtomResult()
        }
        if input["fail"] == .string("before") { throw AtomError("test.world: failing before setting \(flag)") }
        let old = world.isSet(flag)
        if old, input["refuse_duplicate"] == .bool(true) {
            throw AtomError("test.world: \(flag) exists", retryable: false, changedNothing: true)
        }
        world.set(flag, by: context.stepPath)
        if input["fail"] == .string("after") { throw AtomError("test.world: set \(flag), then failing") }
        if input["fail"] == .string("unknown") { throw AtomError("test.world: set \(flag), then the answer was lost", outcomeUnknown: true) }
        return AtomResult(outputs: .object(["flag": .string(flag)]), oldState: .bool(old), newState: .bool(true))
    }

    public func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        let flag = try flag(input)
        if input["revert_fails"] == .bool(true) { throw AtomError("test.world: revert of \(flag) failing as asked") }
        world.clear(flag, by: context.stepPath)
    }

    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        if input["check_unknown"] == .bool(true) { return .unknown("test.world: cannot tell, as asked") }
        return world.isSet(try flag(input)) ? .present(outputs: .object(["flag": .string(try flag(input))])) : .absent
    }
}
