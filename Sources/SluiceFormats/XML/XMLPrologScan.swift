import CLibXML2

/// A look at the document's first 64 KiB before the streaming reader starts: entity
/// declarations are refused before libxml2 parses any of them, and the default record element
/// is the first child of the root whose name repeats (a `<meta>` before the records is not one).
struct XMLPrologScan {
    static let sampleSize = 1 << 16
    static let entitiesRefused = "the DOCTYPE declares entities, which Sluice refuses by default (entity bombs, external entities); pass --xml-entities to expand internal entities (external ones are never loaded)"

    var declaresEntities = false
    var entityLine: Int?
    var entityOffset: Int64?
    /// The record element a document with no `--record-element` gets; nil: the reader decides
    /// on the first child of the root.
    var repeatedChild: String?

    init(_ sample: some Collection<UInt8>, complete: Bool) {
        let bytes = Array(sample)
        if let at = Self.find(Array("<!ENTITY".utf8), in: bytes) {
            declaresEntities = true
            entityOffset = Int64(at)
            entityLine = 1 + bytes[..<at].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            return
        }
        repeatedChild = Self.firstRepeatedChild(bytes)
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

    /// Names of the root's children in the sample, read by a second libxml2 reader over memory
    /// (network and entities off); the first that repeats.
    static func firstRepeatedChild(_ bytes: [UInt8]) -> String? {
        _ = XMLCallbacks.installed
        let flags = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        return bytes.withUnsafeBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress,
                  let reader = base.withMemoryRebound(to: CChar.self, capacity: buffer.count, { xmlReaderForMemory($0, Int32(buffer.count), nil, nil, flags) }) else {
                return nil
            }
            defer { xmlFreeTextReader(reader) }
            xmlTextReaderSetStructuredErrorHandler(reader, { _, _ in }, nil)
            var seen = Set<String>()
            while xmlTextReaderRead(reader) == 1 {
                guard xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue), xmlTextReaderDepth(reader) == 1 else { continue }
                let name = String(cString: xmlTextReaderConstName(reader))
                if !seen.insert(name).inserted { return name }
                xmlTextReaderNext(reader)
                if xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue), xmlTextReaderDepth(reader) == 1 {
                    let next = String(cString: xmlTextReaderConstName(reader))
                    if !seen.insert(next).inserted { return next }
                }
            }
            return nil
        }
    }
}
