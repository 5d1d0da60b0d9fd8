import Foundation
import Mustache
import SluiceFormats
import SluiceJSON
import Yams

/// A prompt template: Mustache rendered as plain text (no HTML escaping), optionally opened by a
/// YAML front-matter block. Variables are the record's fields, dotted paths into nested values,
/// and `_record` (the record number).
public struct PromptTemplate: Sendable {
    public let name: String
    public let source: String
    /// The per-record part: the whole body, or what follows the `{{! per record }}` line.
    public let body: String
    /// What the `{{! per record }}` line closes: said once per request when records are packed
    /// (empty without the line: then the system instruction is the shared part). A record's
    /// prompt is always `shared` followed by its rendered `body`.
    public let shared: String
    public let settings: TemplateSettings
    /// Names the template reads at the top level (outside sections), in order of appearance.
    public let variables: [String]
    private let compiled: MustacheTemplate
    /// The same template without Mustache's dynamic lookups, when it has only plain variables.
    private let plain: PlainTemplate?

    /// Loads and compiles a template file; a `schema:` string names a JSON file beside it.
    public init(contentsOf path: String) throws(EngineError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw EngineError(.usage, "template \(path): cannot read it (missing, unreadable or not UTF-8)")
        }
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        try self.init(text: text, name: base, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    public init(text: String, name: String, directory: String = ".") throws(EngineError) {
        self.name = name
        source = text
        var settings = TemplateSettings()
        var body = text
        if text.hasPrefix("---\n") || text.hasPrefix("---\r\n") {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard let close = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" || $0 == "---\r" }) else {
                throw EngineError(.usage, "template \(name): the front matter opened by '---' on line 1 is never closed")
            }
            let yaml = lines[1..<close].joined(separator: "\n")
            body = lines[(close + 1)...].joined(separator: "\n")
            settings = try Self.parseFrontMatter(yaml, template: name, directory: directory)
        }
        (shared, body) = try Self.splitShared(body, template: name)
        self.body = body
        self.settings = settings
        do {
            compiled = try MustacheTemplate(string: "{{%CONTENT_TYPE: TEXT}}" + body)
        } catch {
            throw EngineError(.usage, "template \(name): invalid Mustache: \(error)")
        }
        variables = Self.topLevelVariables(body)
        plain = PlainTemplate(body)
    }

    /// The line that ends the shared part (a Mustache comment, so it renders as nothing).
    public static let perRecordMark = "{{! per record }}"

    /// Splits the body at its `{{! per record }}` line. The shared part is said once for many
    /// records, so it may not read a record's fields.
    static func splitShared(_ body: String, template: String) throws(EngineError) -> (shared: String, item: String) {
        var searchFrom = body.startIndex
        while let mark = body.range(of: perRecordMark, range: searchFrom..<body.endIndex) {
            let lineStart = body[..<mark.lowerBound].lastIndex(of: "\n").map { body.index(after: $0) } ?? body.startIndex
            let lineEnd = body[mark.upperBound...].firstIndex(of: "\n") ?? body.endIndex
            guard body[lineStart..<mark.lowerBound].allSatisfy(\.isWhitespace), body[mark.upperBound..<lineEnd].allSatisfy(\.isWhitespace) else {
                searchFrom = mark.upperBound
                continue
            }
            let shared = String(body[..<lineStart])
            if shared.contains("{{") {
                throw EngineError(.usage, "template \(template): the part above \(perRecordMark) is said once for many records, so it cannot use Mustache tags; move {{…}} below the line")
            }
            let item = lineEnd < body.endIndex ? String(body[body.index(after: lineEnd)...]) : ""
            return (shared, item)
        }
        return ("", body)
    }

    static func parseFrontMatter(_ yaml: String, template: String, directory: String) throws(EngineError) -> TemplateSettings {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw EngineError(.usage, "template \(template): front matter is not valid YAML: \(error)")
        }
        guard let node else { return TemplateSettings() }
        guard case .object(let object) = YAMLConversion.json(node) else {
            throw EngineError(.usage, "template \(template): front matter must be a mapping of settings")
        }
        var s = TemplateSettings()
        for member in object {
            guard TemplateSettings.keys.contains(member.key) else {
                throw EngineError(.usage, "template \(template): unknown front-matter setting '\(member.key)' (known: \(TemplateSettings.keys.sorted().joined(separator: ", ")))")
            }
        }
        s.system = object["system"]?.stringValue
        s.model = object["model"]?.stringValue
        s.tier = object["tier"]?.stringValue
        s.api = object["api"]?.stringValue
        s.mode = object["mode"]?.stringValue
        s.column = object["column"]?.stringValue
        s.thinkingLevel = object["thinking_level"]?.stringValue
        s.maxOutputTokens = object["max_output_tokens"]?.intValue
        s.temperature = object["temperature"]?.doubleValue
        if let pack = object["pack"] {
            if pack.stringValue == "auto" {
                s.packAuto = true
            } else {
                guard let n = pack.intValue, n >= 1 else { throw EngineError(.usage, "template \(template): pack must be auto or a whole number of records per request, at least 1") }
                s.pack = n
            }
        }
        if let schema = object["schema"] {
            if let file = schema.stringValue {
                s.schema = try loadSchema(file.hasPrefix("/") ? file : "\(directory)/\(file)")
            } else {
                s.schema = schema
            }
        }
        return s
    }

    /// Reads a JSON Schema file.
    public static func loadSchema(_ path: String) throws(EngineError) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError(.usage, "schema \(path): cannot read it") }
        do {
            let value = try JSONParser.parse(data)
            guard value.objectValue != nil else { throw EngineError(.usage, "schema \(path): must be a JSON object") }
            return value
        } catch let error as JSONParseError {
            throw EngineError(.usage, "schema \(path): invalid JSON: \(error)")
        } catch {
            throw error as! EngineError
        }
    }

    /// Renders one record's prompt: the shared part, then the record's part.
    public func render(_ record: Record) -> String {
        shared.isEmpty ? renderItem(record) : shared + renderItem(record)
    }

    /// Renders the record's part alone (what a pack carries as the item's input).
    public func renderItem(_ record: Record) -> String {
        plain?.render(record) ?? compiled.render(MustacheRecord(record: record))
    }

    /// Always through swift-mustache (the reference the plain renderer is tested against).
    func renderWithMustache(_ record: Record) -> String {
        shared.isEmpty ? compiled.render(MustacheRecord(record: record)) : shared + compiled.render(MustacheRecord(record: record))
    }

    /// The top-level names the template reads that `record` lacks.
    public func missingVariables(in record: Record) -> [String] {
        variables.filter { $0 != "_record" && $0 != "." && TemplateName.resolve($0, in: record) == nil }
    }

    /// Scans `{{name}}`, `{{{name}}}`, `{{&name}}`, `{{#name}}` and `{{^name}}` outside sections.
    static func topLevelVariables(_ body: String) -> [String] {
        var names: [String] = []
        var depth = 0
        var rest = body[...]
        while let open = rest.range(of: "{{") {
            let afterOpen = rest[open.upperBound...]
            let triple = afterOpen.hasPrefix("{")
            guard let close = afterOpen.range(of: triple ? "}}}" : "}}") else { break }
            var tag = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if triple { tag.removeFirst() }
            rest = afterOpen[close.upperBound...]
            guard let sigil = tag.first else { continue }
            switch sigil {
            case "!", "%", ">", "=", "<", "$": continue
            case "#", "^":
                let name = tag.dropFirst().trimmingCharacters(in: .whitespaces)
                if depth == 0, !names.contains(name) { names.append(name) }
                depth += 1
            case "/":
                depth = max(0, depth - 1)
            default:
                let name = (sigil == "&" ? String(tag.dropFirst()) : tag).trimmingCharacters(in: .whitespaces)
                if depth == 0, !names.contains(name) { names.append(name) }
            }
        }
        return names
    }
}

/// A record as a Mustache context without reflection: JSON values map to strings, booleans,
/// sequences and nested parents; arrays and objects printed as variables render as compact JSON,
/// the text their output cell would hold.
struct MustacheRecord: MustacheParent {
    let record: Record
    func child(named name: String) -> Any? {
        if name == "_record" { return String(record.number) }
        guard let value = TemplateName.lookup(record.fields, name) else { return nil }
        return MustacheJSON.value(value)
    }
}

enum MustacheJSON {
    static func value(_ value: JSONValue) -> Any? {
        switch value {
        case .null: return nil
        case .bool(let b): return b
        case .number(let n): return n
        case .string(let s): return s
        case .array(let items): return MustacheJSONArray(array: items)
        case .object(let o): return MustacheJSONObject(object: o)
        }
    }
}

struct MustacheJSONObject: MustacheParent, MustacheCustomRenderable {
    let object: JSONObject
    func child(named name: String) -> Any? { TemplateName.lookup(object, name).flatMap(MustacheJSON.value) }
    var renderText: String { JSONWriter.string(.object(object)) }
    var isNull: Bool { false }
}

/// An array: a section iterates its items; printed as a variable it is compact JSON (without
/// this, swift-mustache prints Swift's description of `[Any]`).
struct MustacheJSONArray: MustacheSequence, MustacheCustomRenderable {
    let array: [JSONValue]
    func makeIterator() -> IndexingIterator<[Any]> { array.map { MustacheJSON.value($0) ?? "" }.makeIterator() }
    var renderText: String { JSONWriter.string(.array(array)) }
    var isNull: Bool { false }
}
