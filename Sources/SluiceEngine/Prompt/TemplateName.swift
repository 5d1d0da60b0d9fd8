import SluiceFormats
import SluiceJSON

/// Field names as a template can spell them. Mustache names are ASCII letters, digits and
/// `_-?*` (a dot separates path steps), so a field called `Company Name`, `x:weight`, `@id` or
/// `prix (€)` is reachable as `Company_Name`, `x_weight`, `_id`, `prix____`: every other
/// character becomes `_`. The exact name wins; otherwise the first field whose spelled name
/// matches.
enum TemplateName {
    static func of(_ key: String) -> String {
        var out = ""
        out.reserveCapacity(key.utf8.count)
        for scalar in key.unicodeScalars {
            let v = scalar.value
            let ok = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F || v == 0x2D
            out.unicodeScalars.append(ok ? scalar : "_")
        }
        return out
    }

    static func lookup(_ object: JSONObject, _ name: String) -> JSONValue? {
        if let exact = object[name] { return exact }
        for (key, value) in object where of(key) == name { return value }
        return nil
    }

    /// The value at a dotted template path (`address.city`, `items.0.sku`, `x_weight._text`).
    static func resolve(_ path: String, in record: Record) -> JSONValue? {
        if let direct = lookup(record.fields, path) { return direct }  // a field whose name holds dots
        var node: JSONValue = .object(record.fields)
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            let name = String(part)
            switch node {
            case .object(let object):
                guard let next = lookup(object, name) else { return nil }
                node = next
            case .array(let items):
                guard let index = Int(name), items.indices.contains(index) else { return nil }
                node = items[index]
            default:
                return nil
            }
        }
        return node
    }
}
