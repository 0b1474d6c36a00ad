/// Steps that compensation reverts together; stages run one after another.
public struct CompensationStage: Sendable, Codable, Hashable {
    public var steps: [String]
    /// Why these steps revert together ("parallel group prepare").
    public var note: String?

    static func stages(for steps: [Step], mode: Group.Mode, groupID: String? = nil) -> [CompensationStage] {
        switch mode {
        case .sequence:
            return steps.reversed().flatMap { stages(for: $0) }
        case .parallel:
            return merge(steps.map { stages(for: $0) }, note: "branches of parallel group \(groupID ?? "")")
        case .graph:
            let levels = GraphLevels(steps).levels
            let byLevel = Dictionary(grouping: steps) { levels[$0.id] ?? 1 }
            return byLevel.keys.sorted(by: >).flatMap { level in
                merge((byLevel[level] ?? []).map { stages(for: $0) }, note: "graph group \(groupID ?? "") level \(level)")
            }
        }
    }

    private static func stages(for step: Step) -> [CompensationStage] {
        if let group = step.group { return stages(for: group.steps, mode: group.mode, groupID: step.id) }
        return [CompensationStage(steps: [step.id], note: nil)]
    }

    /// Concurrent branches: the i-th stage of every branch runs together.
    private static func merge(_ branches: [[CompensationStage]], note: String) -> [CompensationStage] {
        let depth = branches.map(\.count).max() ?? 0
        return (0..<depth).map { index in
            let ids = branches.flatMap { index < $0.count ? $0[index].steps : [] }
            return CompensationStage(steps: ids, note: ids.count > 1 ? note : nil)
        }
    }
}
