import SluiceFormats
import SluiceJSON

/// The common template — text and plain variables, no sections, partials or comments — rendered
/// without Mustache's dynamic lookups: swift-mustache resolves names through `Any` and dynamic
/// casts, which cost more than reading and writing the record together. Any record whose value is
/// not a scalar (an array or object to render) is handed back to Mustache, so output is the same.
struct PlainTemplate: Sendable {
    enum Segment: Sendable {
        case text(String)
        /// A dotted path, split at compile time.
        case variable([String])
    }

    let segments: [Segment]

    /// nil when the body uses anything but text and `{{name}}`, `{{{name}}}`, `{{& name}}`.
    init?(_ body: String) {
        var segments: [Segment] = []
        var rest = body[...]
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            var afterOpen = rest[open.upperBound...]
            let triple = afterOpen.hasPrefix("{")
            if triple { afterOpen = afterOpen.dropFirst() }
            guard let close = afterOpen.range(of: triple ? "}}}" : "}}") else { return nil }
            var tag = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !triple, tag.hasPrefix("&") { tag = tag.dropFirst().trimmingCharacters(in: .whitespaces) }
            guard !tag.isEmpty, tag != ".", tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else { return nil }
            let path = tag.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else { return nil }
            segments.append(.variable(path))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
    }

    /// The prompt, or nil when a variable's value is not a scalar (render with Mustache).
    func render(_ record: Record) -> String? {
        var out = ""
        for segment in segments {
            switch segment {
            case .text(let text):
                out += text
            case .variable(let path):
                guard let value = Self.scalar(path, record) else { return nil }
                out += value
            }
        }
        return out
    }

    /// The text of a scalar at `path` ("" when absent or null, as Mustache renders it); nil for
    /// arrays, objects, or a path through an array.
    static func scalar(_ path: [String], _ record: Record) -> String? {
        if path.count == 1, path[0] == "_record" { return String(record.number) }
        var object = record.fields
        for (i, name) in path.enumerated() {
            guard let value = TemplateName.lookup(object, name) else { return "" }
            switch value {
            case .string(let s): return i == path.count - 1 ? s : ""
            case .number(let n): return i == path.count - 1 ? n : ""
            case .bool(let b): return i == path.count - 1 ? (b ? "true" : "false") : ""
            case .null: return ""
            case .array: return nil
            case .object(let o):
                if i == path.count - 1 { return nil }
                object = o
            }
        }
        return nil
    }
}
