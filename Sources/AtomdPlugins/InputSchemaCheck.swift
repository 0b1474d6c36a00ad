import AtomdSpec

/// Checks a step's `with:` against an atom's published input schema before
/// anything runs: the part of JSON Schema that plugin schemas use (`type`,
/// `properties`, `required`, `additionalProperties: false`, `enum`,
/// `minimum`/`maximum`, `minLength`/`maxLength`, `items`). A value computed by
/// an expression is known only at run time and is not checked here.
public enum InputSchemaCheck {
    /// Every problem, as `PATH: what is wrong` (`with.mode: …`).
    public static func problems(_ value: ValueTemplate, schema: JSONValue) -> [String] {
        var problems: [String] = []
        check(value, schema, path: "with", into: &problems)
        return problems
    }

    private static func check(_ value: ValueTemplate, _ schema: JSONValue, path: String, into problems: inout [String]) {
        guard case .object = schema else { return }
        if case .string(let template) = value, template.literalText == nil { return }
        if case .array(let allowed) = schema["enum"], let literal = value.literal, !allowed.contains(literal) {
            problems.append("\(path) is \(literal.json), not one of \(allowed.map(\.json).joined(separator: ", "))")
            return
        }
        if let expected = types(schema["type"]), !expected.contains(where: { matches(value, $0) }) {
            problems.append("\(path) must be \(expected.joined(separator: " or ")), not \(kind(value))")
            return
        }
        switch value {
        case .object(let members):
            let properties: [String: JSONValue] = if case .object(let declared) = schema["properties"] { declared } else { [:] }
            if case .array(let required) = schema["required"] {
                for case .string(let name) in required where members[name] == nil {
                    problems.append("\(path) needs '\(name)'")
                }
            }
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                if let property = properties[name] {
                    check(member, property, path: "\(path).\(name)", into: &problems)
                } else if schema["additionalProperties"] == .bool(false) {
                    let hint = Suggestion.hint(for: name, in: properties.keys.sorted()).map { "; \($0)" } ?? ""
                    problems.append("\(path) has no '\(name)'\(hint)")
                }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                check(item, schema["items"], path: "\(path)[\(index)]", into: &problems)
            }
        case .integer, .number:
            let number = value.literal?.numericValue ?? .nan
            if case let minimum = schema["minimum"], minimum != .null, number < minimum.numericValue {
                problems.append("\(path) is \(JSONValue.format(number)), less than the minimum \(minimum.json)")
            }
            if case let maximum = schema["maximum"], maximum != .null, number > maximum.numericValue {
                problems.append("\(path) is \(JSONValue.format(number)), more than the maximum \(maximum.json)")
            }
        case .string(let template):
            let length = template.literalText?.count ?? 0
            if case .integer(let least) = schema["minLength"], length < least {
                problems.append("\(path) is shorter than \(least) characters")
            }
            if case .integer(let most) = schema["maxLength"], length > most {
                problems.append("\(path) is longer than \(most) characters")
            }
        case .null, .bool:
            break
        }
    }

    private static func types(_ value: JSONValue) -> [String]? {
        switch value {
        case .string(let type): [type]
        case .array(let list): list.compactMap { if case .string(let type) = $0 { type } else { nil } }
        default: nil
        }
    }

    private static func matches(_ value: ValueTemplate, _ type: String) -> Bool {
        switch (value, type) {
        case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"), (.null, "null"),
             (.integer, "integer"), (.integer, "number"), (.number, "number"): true
        case (.number(let number), "integer"): number.rounded() == number
        default: false
        }
    }

    private static func kind(_ value: ValueTemplate) -> String {
        switch value {
        case .object: "an object"
        case .array: "a list"
        case .string: "a string"
        case .bool: "a boolean"
        case .null: "null"
        case .integer, .number: "a number"
        }
    }
}

extension ValueTemplate {
    /// The value, when it holds no expression.
    var literal: JSONValue? {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .integer(let integer): .integer(integer)
        case .number(let number): .number(number)
        case .string(let template): template.literalText.map(JSONValue.string)
        case .array(let items):
            items.reduce(into: [JSONValue]?([])) { list, item in
                if let value = item.literal { list?.append(value) } else { list = nil }
            }.map(JSONValue.array)
        case .object(let members):
            members.reduce(into: [String: JSONValue]?([:])) { object, member in
                if let value = member.value.literal { object?[member.key] = value } else { object = nil }
            }.map(JSONValue.object)
        }
    }
}
