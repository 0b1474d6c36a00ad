/// Checks `needs:` in graph groups: targets are siblings, and there is no cycle.
struct GraphValidator {
    let report: (SourceLocation, String, String?) -> Void

    func validate(_ steps: [Step]) {
        for step in steps {
            guard let group = step.group else { continue }
            if group.mode == .graph { validateGraph(group.steps, groupID: step.id) }
            validate(group.steps)
        }
    }

    private func validateGraph(_ siblings: [Step], groupID: String) {
        let ids = siblings.map(\.id)
        let siblingIDs = Set(ids)
        var edges: [String: [String]] = [:]
        for step in siblings {
            for need in step.needs {
                if need.id == step.id {
                    report(need.location, "step '\(step.id)' needs itself", "remove it from 'needs'")
                } else if siblingIDs.contains(need.id) {
                    edges[step.id, default: []].append(need.id)
                } else {
                    report(need.location, "step '\(step.id)' needs '\(need.id)', which is not a step of graph group '\(groupID)'",
                           Suggestion.hint(for: need.id, in: ids) ?? "'needs' names sibling steps in the same graph group")
                }
            }
        }
        if let cycle = findCycle(ids, edges: edges), let first = siblings.first(where: { $0.id == cycle[0] }) {
            report(first.location, "the 'needs' of graph group '\(groupID)' form a cycle: \(cycle.joined(separator: " -> "))",
                   "remove one of these needs")
        }
    }

    /// A cycle as a path that starts and ends at the same id, found by an
    /// iterative depth-first search (no recursion: graphs can be large).
    private func findCycle(_ ids: [String], edges: [String: [String]]) -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        for start in ids where marks[start] == nil {
            var path: [String] = [start]
            var iterators: [IndexingIterator<[String]>] = [(edges[start] ?? []).makeIterator()]
            marks[start] = .visiting
            while !path.isEmpty {
                if let next = iterators[iterators.count - 1].next() {
                    switch marks[next] {
                    case .visiting:
                        guard let from = path.firstIndex(of: next) else { continue }
                        return Array(path[from...]) + [next]
                    case .done:
                        continue
                    case nil:
                        marks[next] = .visiting
                        path.append(next)
                        iterators.append((edges[next] ?? []).makeIterator())
                    }
                } else {
                    marks[path.removeLast()] = .done
                    iterators.removeLast()
                }
            }
        }
        return nil
    }
}
