/// The sizes validation already knows: what each expression, each template
/// and each step's input make at least, given the job's `vars` (or the
/// `--var` values a submission brings) and literals. Values known only at
/// run time count as empty, so a report here is certain: the run would fail
/// on the same limit (ExpressionLimits), only later. This is what refuses
/// `format('{0}'×1300, vars.big)` over a 900 KB variable before it is run.
public struct SizeChecker {
    let vars: [String: JSONValue]
    let report: (SourceLocation, String, String?) -> Void
    /// Lower bounds of the job's `env:` values, for `env.NAME`.
    private var envBounds: [String: Int] = [:]
    /// Each `vars` path measured once: a job may name a large value thousands of times.
    private var measured: [String: Int] = [:]

    init(vars: [String: JSONValue], report: @escaping (SourceLocation, String, String?) -> Void) {
        self.vars = vars
        self.report = report
    }

    /// The problems of `job` with these variable values (`vars` overrides
    /// the job's own, as `--var` does).
    public static func check(_ job: Job, vars overrides: [String: JSONValue] = [:]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var checker = SizeChecker(vars: job.vars.merging(overrides) { _, new in new }) { location, message, hint in
            diagnostics.append(Diagnostic(file: job.file, location: location, message: message, hint: hint))
        }
        checker.check(job)
        return diagnostics
    }

    static let hint = "write large data to a file and pass its path"

    mutating func check(_ job: Job) {
        var jobEnv = 0
        for variable in job.env {
            let bound = template(variable.value)
            envBounds[variable.name] = bound
            jobEnv = jobEnv.addingSaturated(bound)
        }
        for step in job.steps + job.finally { check(step, jobEnv: jobEnv) }
    }

    private mutating func check(_ step: Step, jobEnv: Int) {
        var stepEnv = jobEnv
        for variable in step.env { stepEnv = stepEnv.addingSaturated(template(variable.value)) }
        for (place, action) in step.actions {
            var total = stepEnv
            for part in action.templates { total = total.addingSaturated(template(part)) }
            let limit = ExpressionLimits.stepInputBytes
            if total > limit {
                let name = place.isEmpty ? "step '\(step.id)'" : "the \(place) of step '\(step.id)'"
                report(step.location, "\(name) is given at least \(total) bytes (env and action together); a step's input is limited to \(limit.byteText)", Self.hint)
            }
        }
        if case .group(let group) = step.action {
            for child in group.steps { check(child, jobEnv: jobEnv) }
        }
    }

    /// The template's least size; reports an expression or the template
    /// itself when it is already over `ExpressionLimits.resultBytes`.
    private mutating func template(_ template: Template) -> Int {
        let limit = ExpressionLimits.resultBytes
        var total = 0
        var reported = false
        for part in template.parts {
            switch part {
            case .literal(let text):
                total = total.addingSaturated(text.utf8.count)
            case .expression(let expression):
                let bound = node(expression.root)
                if bound > limit, !reported {
                    reported = true
                    report(expression.location, "${{ \(expression.source.prefix(60))\(expression.source.count > 60 ? "…" : "") }} makes at least \(bound) bytes; an expression's result is limited to \(limit.byteText)", Self.hint)
                }
                total = total.addingSaturated(bound)
            }
        }
        if total > limit, !reported {
            report(template.location, "this text is at least \(total) bytes once its expressions are filled in; it is limited to \(limit.byteText)", Self.hint)
        }
        return total
    }

    /// The least size of a node's value as text; 0 where it is known only at run time.
    private mutating func node(_ node: ExpressionNode) -> Int {
        let limit = ExpressionLimits.stepInputBytes
        switch node.kind {
        case .literal(let value):
            return value.interpolatedSize(upTo: limit)
        case .context, .member, .index:
            guard let path = node.propertyPath, path.isComplete else { return 0 }
            switch path.context {
            case "vars":
                guard let (first, _) = path.names.first else { return 0 }
                let key = path.names.map(\.0).joined(separator: "\u{0}")
                if let known = measured[key] { return known }
                var value = vars[first] ?? .null
                for (name, _) in path.names.dropFirst() { value = value[name] }
                let size = value.interpolatedSize(upTo: limit)
                measured[key] = size
                return size
            case "env":
                guard path.names.count == 1, let (name, _) = path.names.first else { return 0 }
                return envBounds[name] ?? 0
            default:
                return 0
            }
        case .call("format", let arguments):
            guard case .literal(.string(let pattern))? = arguments.first?.kind else { return 0 }
            return format(pattern, Array(arguments.dropFirst()))
        case .call("toJSON", let arguments):
            return arguments.first.map { self.node($0) } ?? 0
        default:
            return 0
        }
    }

    /// `format`'s least size: the pattern's text plus each placeholder's argument.
    private mutating func format(_ pattern: String, _ arguments: [ExpressionNode]) -> Int {
        var total = 0
        var bounds: [Int: Int] = [:]
        var chars = Substring(pattern)
        while let char = chars.first {
            if chars.hasPrefix("{{") || chars.hasPrefix("}}") {
                total = total.addingSaturated(1)
                chars = chars.dropFirst(2)
            } else if char == "{" {
                let digits = chars.dropFirst().prefix(while: \.isASCIIDigit)
                let after = chars.dropFirst(1 + digits.count)
                // A malformed pattern fails at run time with its own message.
                guard !digits.isEmpty, after.first == "}", let index = Int(digits), index < arguments.count else { return total }
                if bounds[index] == nil { bounds[index] = node(arguments[index]) }
                total = total.addingSaturated(bounds[index] ?? 0)
                chars = after.dropFirst()
            } else {
                total = total.addingSaturated(String(char).utf8.count)
                chars = chars.dropFirst()
            }
        }
        return total
    }
}
