import Foundation
import AtomdSpec

/// Renders a `JobPlan` as text for `atomd plan`.
struct PlanPrinter {
    let plan: JobPlan
    let description: String?

    func print() {
        Output.line("Job \(plan.job) (\(plan.file)), on_failure: \(plan.onFailure.rawValue)")
        if let description { Output.line(description.trimmingCharacters(in: .whitespacesAndNewlines)) }
        Output.line()
        Output.line("Run order:")
        var rows: [[String]] = []
        collect(plan.steps, prefix: "", depth: 0, into: &rows)
        table(rows)
        if !plan.finally.isEmpty {
            Output.line()
            Output.line("Finally (always, after success or after compensation):")
            var finallyRows: [[String]] = []
            collect(plan.finally, prefix: "", depth: 0, into: &finallyRows)
            table(finallyRows)
        }
        Output.line()
        Output.line("Compensation order (if every step has run; newest first, groups inside-out):")
        let reverts = revertMap(plan.steps)
        var stageRows: [[String]] = []
        for (number, stage) in plan.compensation.enumerated() {
            let how = stage.steps.map { reverts[$0] ?? "" }
            let uniform = Set(how).count == 1 ? how[0] : how.joined(separator: " | ")
            let together = stage.steps.count > 1 ? "together: " : ""
            stageRows.append(["\(number + 1).", together + stage.steps.joined(separator: ", "), "revert: \(uniform)", stage.note.map { "(\($0))" } ?? ""])
        }
        table(stageRows)
    }

    private func collect(_ steps: [PlannedStep], prefix: String, depth: Int, into rows: inout [[String]]) {
        for (index, step) in steps.enumerated() {
            let number = prefix.isEmpty ? "\(index + 1)." : "\(prefix)\(index + 1)"
            let indent = String(repeating: "  ", count: depth)
            var details: [String] = []
            switch step.scope {
            case .parallel(let group): details.append("parallel in \(group)")
            case .graph(let group, let level): details.append("graph \(group) level \(level)")
            case .sequence, .finally: break
            }
            if !step.needs.isEmpty { details.append("needs \(step.needs.joined(separator: ", "))") }
            if let condition = step.condition { details.append("if \(condition)") }
            if let retry = step.retry { details.append("retry \(retry)") }
            details += step.flags
            var action = step.action
            if let mode = step.mode {
                action = "group (\(mode.rawValue)\(step.maxParallel.map { ", max_parallel \($0)" } ?? ""))"
            }
            let revert = step.mode == nil ? "revert: \(step.revert)" : ""
            let check = step.check.map { "check: \($0)" } ?? ""
            rows.append([number, indent + step.id, action, revert, check, details.joined(separator: "; ")])
            if !step.children.isEmpty {
                let childPrefix = (prefix.isEmpty ? "\(index + 1)" : "\(prefix)\(index + 1)") + "."
                collect(step.children, prefix: childPrefix, depth: depth + 1, into: &rows)
            }
        }
    }

    private func revertMap(_ steps: [PlannedStep]) -> [String: String] {
        var map: [String: String] = [:]
        for step in steps {
            map[step.id] = step.revert
            map.merge(revertMap(step.children)) { first, _ in first }
        }
        return map
    }

    /// Left-aligned columns, two spaces apart, trailing blanks trimmed.
    private func table(_ rows: [[String]]) {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            var line = "  " + cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            Output.line(line)
        }
    }
}
