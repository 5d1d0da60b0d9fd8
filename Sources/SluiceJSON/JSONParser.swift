/// A strict RFC 8259 parser over UTF-8 bytes: no trailing commas, no comments, no leading zeros,
/// no raw control characters in strings, valid UTF-8 only, and a nesting limit so hostile input
/// cannot exhaust the stack.
public struct JSONParser {
    /// Deepest nesting of arrays and objects accepted.
    public static let defaultMaxDepth = 512

    /// What a `\uD800`-style escape of an unpaired surrogate becomes. No Unicode string can hold
    /// one, so reading input data refuses it (a replaced cell would be a silent change); text
    /// from the service may take U+FFFD.
    public enum LoneSurrogate: Sendable {
        case reject, replace
    }

    /// Parses one complete JSON text; anything but whitespace after the value is an error.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth, loneSurrogates: LoneSurrogate = .replace) throws(JSONParseError) -> JSONValue {
        let array = Array(bytes)
        let result = array.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, maxDepth: maxDepth, loneSurrogates: loneSurrogates) }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    public static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth, loneSurrogates: LoneSurrogate = .replace) throws(JSONParseError) -> JSONValue {
        var parser = Cursor(bytes: buffer, maxDepth: maxDepth, loneSurrogates: loneSurrogates)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != buffer.count { throw JSONParseError("unexpected data after the JSON value", offset: parser.index) }
        return value
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        let loneSurrogates: LoneSurrogate
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, loneSurrogates: LoneSurrogate) {
            self.bytes = bytes
            self.maxDepth = maxDepth
            self.loneSurrogates = loneSurrogates
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard index < bytes.count else { throw JSONParseError("unexpected end of input", offset: index) }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw JSONParseError("unexpected character", offset: index)
            }
        }

        mutating func expectLiteral(_ literal: String) throws(JSONParseError) {
            let expected = Array(literal.utf8)
            let count = expected.count
            guard index + count <= bytes.count else { throw JSONParseError("invalid literal", offset: index) }
            for i in 0..<count where bytes[index + i] != expected[i] {
                throw JSONParseError("invalid literal", offset: index + i)
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > maxDepth { throw JSONParseError("nesting deeper than \(maxDepth) levels", offset: index) }
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw JSONParseError("expected a string key", offset: index)
                }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw JSONParseError("expected ':' after object key", offset: index)
                }
                index += 1
                skipWhitespace()
                object.append(key, try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw JSONParseError("unterminated object", offset: index) }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                throw JSONParseError("expected ',' or '}' in object", offset: index)
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
            if depth > maxDepth { throw JSONParseError("nesting deeper than \(maxDepth) levels", offset: index) }
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw JSONParseError("unterminated array", offset: index) }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw JSONParseError("expected ',' or ']' in array", offset: index)
            }
        }

        mutating func parseNumber() throws(JSONParseError) -> String {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONParseError("invalid number", offset: index) }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw JSONParseError("leading zero in number", offset: index) }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw JSONParseError("invalid fraction", offset: index) }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw JSONParseError("invalid exponent", offset: index) }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

        mutating func parseString() throws(JSONParseError) -> String {
            let start = index
            index += 1
            // Fast path: no escapes, ASCII only.
            var scan = index
            var ascii = true
            while scan < bytes.count {
                let byte = bytes[scan]
                if byte == UInt8(ascii: "\"") {
                    let raw = UnsafeBufferPointer(rebasing: bytes[index..<scan])
                    let string: String
                    if ascii {
                        string = String(decoding: raw, as: UTF8.self)
                    } else if let valid = String(validating: raw, as: UTF8.self) {
                        string = valid
                    } else {
                        throw JSONParseError("invalid UTF-8 in string", offset: index)
                    }
                    index = scan + 1
                    return string
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw JSONParseError("control character in string", offset: scan) }
                if byte >= 0x80 { ascii = false }
                scan += 1
            }
            if scan >= bytes.count { throw JSONParseError("unterminated string", offset: start) }
            // Slow path with escapes.
            var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[index..<scan]))
            index = scan
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    guard let string = String(validating: out, as: UTF8.self) else {
                        throw JSONParseError("invalid UTF-8 in string", offset: start)
                    }
                    return string
                }
                if byte < 0x20 { throw JSONParseError("control character in string", offset: index) }
                if byte != UInt8(ascii: "\\") {
                    out.append(byte)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    let escapeStart = index - 2
                    var scalar = try parseHex4()
                    var lone = false
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            let save = index
                            index += 2
                            let low = try parseHex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = save
                                lone = true
                            }
                        } else {
                            lone = true
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        lone = true
                    }
                    if lone {
                        if loneSurrogates == .reject { throw JSONParseError("unpaired surrogate escape (no Unicode text can hold it)", offset: escapeStart) }
                        scalar = 0xFFFD
                    }
                    appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
                default:
                    throw JSONParseError("invalid escape in string", offset: index - 1)
                }
            }
            throw JSONParseError("unterminated string", offset: start)
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw JSONParseError("invalid \\u escape", offset: index) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw JSONParseError("invalid \\u escape", offset: index)
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
            for unit in UTF8.encode(scalar)! { out.append(unit) }
        }
    }
}
