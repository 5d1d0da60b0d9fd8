import CLibXML2

/// A look at the document's first 64 KiB before the streaming reader starts: entity
/// declarations are refused before libxml2 parses any of them, and the default record element
/// is the child of the root whose name repeats most (a `<meta>` before the records is not one).
struct XMLPrologScan {
    static let sampleSize = 1 << 16
    static let entitiesRefused = "the DOCTYPE declares entities, which Sluice refuses by default (entity bombs, external entities); pass --xml-entities to expand internal entities (external ones are never loaded)"

    var declaresEntities = false
    var entityLine: Int?
    var entityOffset: Int64?
    /// The record element a document with no `--record-element` gets: the root's child whose
    /// name repeats most in the sample (an Atom feed's `entry`, not its two `link`s; a `<meta>`
    /// before the records is never one); nil: the reader decides on the first child of the root.
    var repeatedChild: String?
    /// Why the default may be wrong (one `<channel>` holding many `<item>`s), for a warning.
    var doubt: String?

    init(_ sample: some Collection<UInt8>, complete: Bool) {
        let bytes = Array(sample)
        if let at = Self.find(Array("<!ENTITY".utf8), in: bytes) {
            declaresEntities = true
            entityOffset = Int64(at)
            entityLine = 1 + bytes[..<at].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            return
        }
        let shape = Self.shape(bytes)
        repeatedChild = shape.mostRepeated
        doubt = Self.doubt(about: repeatedChild ?? shape.children.first?.name, in: shape)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// The root's children in the sample, counted by a second libxml2 reader over memory
    /// (network and entities off), with the elements that repeat inside one of them.
    struct Shape {
        /// Root children's names in first-seen order, with counts.
        var children: [(name: String, count: Int)] = []
        /// Per root child's name: the elements that repeat directly inside one of them, with the largest count.
        var repeatedInside: [String: [(name: String, count: Int)]] = [:]

        /// The name that repeats most among the root's children (ties: the first seen); nil when none repeats.
        var mostRepeated: String? {
            var best: (name: String, count: Int)?
            for c in children where c.count > 1 && c.count > (best?.count ?? 0) { best = c }
            return best?.name
        }
    }

    static func shape(_ bytes: [UInt8]) -> Shape {
        _ = XMLCallbacks.installed
        let flags = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        var shape = Shape()
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress,
                  let reader = base.withMemoryRebound(to: CChar.self, capacity: buffer.count, { xmlReaderForMemory($0, Int32(buffer.count), nil, nil, flags) }) else {
                return
            }
            defer { xmlFreeTextReader(reader) }
            xmlTextReaderSetStructuredErrorHandler(reader, { _, _ in }, nil)
            var index: [String: Int] = [:]
            var parent: String?
            // First-seen order, not a Dictionary's: the warning names the same elements in the
            // same order on every run.
            var inside: [(name: String, count: Int)] = []
            var insideIndex: [String: Int] = [:]
            func closeParent() {
                defer { inside.removeAll(); insideIndex.removeAll() }
                guard let parent else { return }
                for (name, count) in inside where count > 1 {
                    var list = shape.repeatedInside[parent, default: []]
                    if let i = list.firstIndex(where: { $0.name == name }) { list[i].count = max(list[i].count, count) } else { list.append((name, count)) }
                    shape.repeatedInside[parent] = list
                }
            }
            while xmlTextReaderRead(reader) == 1 {
                guard xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue), let raw = xmlTextReaderConstName(reader) else { continue }
                let depth = xmlTextReaderDepth(reader)
                let name = String(cString: raw)
                if depth == 1 {
                    closeParent()
                    parent = name
                    if let i = index[name] { shape.children[i].count += 1 } else {
                        index[name] = shape.children.count
                        shape.children.append((name, 1))
                    }
                } else if depth == 2 {
                    if let i = insideIndex[name] { inside[i].count += 1 } else {
                        insideIndex[name] = inside.count
                        inside.append((name, 1))
                    }
                }
            }
            closeParent()
        }
        return shape
    }

    /// A doubt about the default record element, naming the alternatives; nil when the choice is clear.
    static func doubt(about element: String?, in shape: Shape) -> String? {
        guard let element, let chosen = shape.children.first(where: { $0.name == element }), chosen.count < 2 else { return nil }
        var alternatives: [String] = []
        for c in shape.children where c.name != element && c.count > 1 { alternatives.append("<\(c.name)> (\(c.count) under the root)") }
        for c in shape.repeatedInside[element] ?? [] { alternatives.append("<\(c.name)> (\(c.count) inside <\(element)>)") }
        guard !alternatives.isEmpty else { return nil }
        return "the default record element is <\(element)>, which the start of the document has only once; elements that repeat: \(alternatives.joined(separator: ", ")). Pass --record-element NAME if the records are one of those"
    }
}
