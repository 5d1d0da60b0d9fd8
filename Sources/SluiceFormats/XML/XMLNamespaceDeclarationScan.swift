/// Finds the `xmlns:xml` declarations of a document in its raw bytes, as they stream past:
/// libxml2 drops that (always redundant) declaration from the elements it reports, and the
/// preserving writer must write it back (issue 10.7). A pure state machine over start tags,
/// comments, CDATA, processing instructions and the DOCTYPE; start tags are numbered in
/// document order, as the reader meets elements.
struct XMLNamespaceDeclarationScan {
    /// Per start tag (0-based, in document order) holding one: its text and how many
    /// attributes precede it.
    private(set) var found: [Int: (text: String, position: Int)] = [:]

    private enum State { case text, open, bang, comment, cdata, pi, declaration, endTag, startTag }
    private var state = State.text
    private var tags = 0
    /// The current start tag's bytes (kept up to `maxTag`), or the `<!` prefix being identified.
    private var buffer: [UInt8] = []
    private var quote: UInt8 = 0
    /// Trailing bytes matched of the current construct's terminator (`-->`, `]]>`, `?>`).
    private var matched = 0
    private var bracketDepth = 0
    private let maxTag = 1 << 20

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i < bytes.count {
            if state == .text {
                // Character data is most of a document: skip to the next markup at once.
                guard let lt = bytes[i...].firstIndex(of: UInt8(ascii: "<")) else { return }
                i = lt
            }
            step(bytes[i])
            i += 1
        }
    }

    private mutating func step(_ b: UInt8) {
        switch state {
        case .text:
            if b == UInt8(ascii: "<") { state = .open }
        case .open:
            switch b {
            case UInt8(ascii: "!"): state = .bang; buffer.removeAll(keepingCapacity: true)
            case UInt8(ascii: "?"): state = .pi; matched = 0
            case UInt8(ascii: "/"): state = .endTag
            default: state = .startTag; quote = 0; buffer = [b]
            }
        case .bang:
            buffer.append(b)
            if buffer == Array("--".utf8) { state = .comment; matched = 0 }
            else if buffer == Array("[CDATA[".utf8) { state = .cdata; matched = 0 }
            else if buffer.count >= 7 || !(Array("[CDATA[".utf8).starts(with: buffer) || Array("--".utf8).starts(with: buffer)) {
                state = .declaration; quote = 0; bracketDepth = 0
                stepDeclaration(b)
            }
        case .comment: if ends(b, "-->") { state = .text }
        case .cdata: if ends(b, "]]>") { state = .text }
        case .pi: if ends(b, "?>") { state = .text }
        case .endTag: if b == UInt8(ascii: ">") { state = .text }
        case .declaration: stepDeclaration(b)
        case .startTag:
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: ">") {
                finishTag()
                state = .text
                return
            }
            if buffer.count < maxTag { buffer.append(b) }
        }
    }

    /// `<!DOCTYPE … [ … ]>` and its declarations: quoted strings and the internal subset skipped.
    private mutating func stepDeclaration(_ b: UInt8) {
        if quote != 0 {
            if b == quote { quote = 0 }
        } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            quote = b
        } else if b == UInt8(ascii: "[") {
            bracketDepth += 1
        } else if b == UInt8(ascii: "]") {
            bracketDepth = max(0, bracketDepth - 1)
        } else if b == UInt8(ascii: ">"), bracketDepth == 0 {
            state = .text
        }
    }

    private mutating func ends(_ b: UInt8, _ terminator: StaticString) -> Bool {
        let t = UnsafeRawBufferPointer(start: terminator.utf8Start, count: terminator.utf8CodeUnitCount)
        if b == t[matched] {
            matched += 1
            if matched == t.count { matched = 0; return true }
        } else {
            matched = b == t[0] ? 1 : 0
        }
        return false
    }

    /// A start tag ended: number it, and keep its `xmlns:xml` attribute if it has one.
    private mutating func finishTag() {
        defer { tags += 1 }
        if buffer.last == UInt8(ascii: "/") { buffer.removeLast() }
        let needle = Array("xmlns:xml".utf8)
        guard buffer.count > needle.count else { return }
        // Attributes: whitespace, a name, optional spaces, '=', optional spaces, a quoted value.
        var i = 0
        while i < buffer.count, !isSpace(buffer[i]) { i += 1 }  // the element name
        var position = 0
        while i < buffer.count {
            while i < buffer.count, isSpace(buffer[i]) { i += 1 }
            let nameStart = i
            while i < buffer.count, !isSpace(buffer[i]), buffer[i] != UInt8(ascii: "=") { i += 1 }
            let name = buffer[nameStart..<i]
            while i < buffer.count, isSpace(buffer[i]) { i += 1 }
            guard i < buffer.count, buffer[i] == UInt8(ascii: "=") else { return }
            i += 1
            while i < buffer.count, isSpace(buffer[i]) { i += 1 }
            guard i < buffer.count, buffer[i] == UInt8(ascii: "\"") || buffer[i] == UInt8(ascii: "'") else { return }
            let q = buffer[i]
            i += 1
            while i < buffer.count, buffer[i] != q { i += 1 }
            guard i < buffer.count else { return }
            i += 1
            if name.elementsEqual(needle) {
                found[tags] = (String(decoding: buffer[nameStart..<i], as: UTF8.self), position)
                return
            }
            position += 1
        }
    }

    private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// The declaration of start tag `index`, removed once asked for (memory stays bounded).
    mutating func take(_ index: Int) -> (text: String, position: Int)? { found.removeValue(forKey: index) }
}
