import SluiceJSON

/// Escaping and naming rules shared by the XML writers.
enum XMLText {
    /// Character data: `&`, `<`, `>` (for `]]>`) and CR escaped. In an attribute value (double
    /// quotes): `&`, `<`, `"`, and tab, LF, CR as character references, so a reader's
    /// attribute-value normalisation gives back the same string.
    static func appendEscaped(_ text: String, inAttribute: Bool = false, to out: inout [UInt8]) {
        for b in text.utf8 {
            let reference: String? = switch b {
            case UInt8(ascii: "&"): "&amp;"
            case UInt8(ascii: "<"): "&lt;"
            case 0x0D: "&#13;"
            case UInt8(ascii: ">") where !inAttribute: "&gt;"
            case UInt8(ascii: "\"") where inAttribute: "&quot;"
            case 0x09 where inAttribute: "&#9;"
            case 0x0A where inAttribute: "&#10;"
            default: nil
            }
            if let reference { out.append(contentsOf: reference.utf8) } else { out.append(b) }
        }
    }

    /// A field name as an element name: characters outside XML's name characters become `_`,
    /// and a name that cannot start an element (digit, `-`, `.`, empty) gets a leading `_`.
    static func elementName(_ field: String) -> String {
        var scalars = String.UnicodeScalarView()
        for s in field.unicodeScalars {
            let v = s.value
            let ok = (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x5F || v == 0x2D || v == 0x2E || v >= 0xC0
            scalars.append(ok ? s : "_")
        }
        var name = String(scalars)
        if let first = name.unicodeScalars.first {
            if (first.value >= 0x30 && first.value <= 0x39) || first == "-" || first == "." { name = "_" + name }
        } else {
            name = "_"
        }
        return name
    }

    /// A field as an element: objects nest, arrays repeat the element, null is an empty element.
    static func appendElement(name: String, value: JSONValue, indent: String?, step: String, to out: inout [UInt8]) {
        if case .array(let items) = value {
            for item in items { appendElement(name: name, value: item, indent: indent, step: step, to: &out) }
            return
        }
        if let indent { out.append(contentsOf: indent.utf8) }
        let tag = elementName(name)
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: tag.utf8)
        switch value {
        case .null:
            out.append(contentsOf: "/>".utf8)
            return
        case .object(let object):
            out.append(UInt8(ascii: ">"))
            let inner = indent.map { $0 + step }
            for (key, child) in object {
                appendElement(name: key, value: child, indent: inner, step: step, to: &out)
            }
            if let indent { out.append(contentsOf: indent.utf8) }
        case .string(let s):
            out.append(UInt8(ascii: ">"))
            appendEscaped(s, to: &out)
        case .number(let n):
            out.append(UInt8(ascii: ">"))
            out.append(contentsOf: n.utf8)
        case .bool(let b):
            out.append(UInt8(ascii: ">"))
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .array:
            break
        }
        out.append(contentsOf: "</".utf8)
        out.append(contentsOf: tag.utf8)
        out.append(UInt8(ascii: ">"))
    }
}
