import CLibXML2
import SluiceJSON

/// Streams records out of an XML document with libxml2's pull reader (`xmlTextReader`): memory
/// holds one record, never the document. A record is an element named by `recordElement`
/// (default: the first child element of the root, and its siblings of that name). Its fields are
/// its attributes, then its child elements by name: text for a plain child, an object for a child
/// with attributes or children (its text under `_text`), an array for a repeated child. An
/// attribute whose name a child element also has is `@name`.
///
/// Secure by default: no network, no external entity or DTD is ever loaded (a process-wide loader
/// refuses them), and a DOCTYPE that declares entities is refused unless `allowEntities`, in
/// which case libxml2's own expansion limits stop entity bombs.
public final class XMLRecordReader: RecordReader {
    public let options: ReaderOptions
    public var columns: [String]? { nil }
    public var name: String { feed.source.name }
    /// Set when the reader was asked to keep the document for the preserving writer.
    public let capture: XMLDocumentCapture?
    /// The record element's name, once known.
    public private(set) var recordElement: String?
    public private(set) var warnings: [String] = []
    /// Elements outside records by name, for the message when `--record-element` matches none.
    private var otherElements: [String: Int] = [:]
    private var otherOrder: [String] = []

    private let feed: XMLInputFeed
    private let reader: xmlTextReaderPtr
    private var recordCount = 0
    private var started = false
    /// Elements met so far, in document order: the index of the current one plus one.
    private var elements = 0

    private struct Frame {
        var name: String
        var attributes: [(String, String)] = []
        var children = JSONObject()
        var repeated: Set<String> = []
        var text = ""
    }

    public init(_ source: any ByteSource, options: ReaderOptions = ReaderOptions(), captureDocument: Bool = false) throws(FormatError) {
        _ = XMLCallbacks.installed
        self.options = options
        let peekable = source as? PeekableSource ?? PeekableSource(source)
        let head = try peekable.peek(XMLPrologScan.sampleSize)
        let scan = XMLPrologScan(head, complete: head.count < XMLPrologScan.sampleSize)
        if scan.declaresEntities, !options.allowEntities {
            throw FormatError(.invalidXML, XMLPrologScan.entitiesRefused, file: source.name, line: scan.entityLine, byteOffset: scan.entityOffset)
        }
        recordElement = options.recordElement ?? scan.repeatedChild
        if options.recordElement == nil, let doubt = scan.doubt { warnings.append("\(source.name): \(doubt)") }
        capture = captureDocument ? XMLDocumentCapture() : nil
        feed = XMLInputFeed(source: peekable)
        if captureDocument, !options.allowEntities { feed.namespaceScan = XMLNamespaceDeclarationScan() }
        var flags = XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue
        if options.allowEntities { flags |= XML_PARSE_NOENT.rawValue }
        let context = Unmanaged.passUnretained(feed).toOpaque()
        guard let reader = xmlReaderForIO(XMLCallbacks.read, XMLCallbacks.close, context, source.name, nil, Int32(flags)) else {
            throw FormatError(.io, "libxml2 cannot start a reader", file: source.name)
        }
        self.reader = reader
        xmlTextReaderSetStructuredErrorHandler(reader, XMLCallbacks.error, context)
    }

    deinit { xmlFreeTextReader(reader) }

    public func next() throws(FormatError) -> Record? {
        while true {
            guard try advance() else {
                if recordCount == 0, let asked = options.recordElement { throw noSuchElement(asked) }
                return nil
            }
            let type = xmlTextReaderNodeType(reader)
            let depth = xmlTextReaderDepth(reader)
            if type == Int32(XML_READER_TYPE_ELEMENT.rawValue) {
                if isRecordStart(depth: depth) { return try readRecord(depth: depth) }
                if recordCount == 0, options.recordElement != nil { noteElement() }
            }
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) { try checkDoctype() }
            if let capture { serializeCurrent(into: &capture.bytes, topLevel: depth == 0) }
        }
    }

    /// One step of the pull reader; false at the end of the document.
    private func advance() throws(FormatError) -> Bool {
        let status = xmlTextReaderRead(reader)
        if let error = feed.error { throw error }
        if let (message, line, column) = feed.parseError {
            throw FormatError(.invalidXML, "malformed XML at line \(line), column \(column): \(message)", file: name, line: line, byteOffset: feed.byteOffset(line: line, column: column))
        }
        if status < 0 {
            // libxml2 stopped without a structured error: an input encoding failure (bytes that
            // are not valid in the declared encoding) is reported only to its generic handler.
            let line = Int(xmlTextReaderGetParserLineNumber(reader))
            let column = Int(xmlTextReaderGetParserColumnNumber(reader))
            let encoding = xmlTextReaderConstEncoding(reader).map { " (\(String(cString: $0)))" } ?? ""
            throw FormatError(.invalidXML, "libxml2 stopped reading near line \(line), column \(column): most often bytes that are not valid in the document's declared encoding\(encoding)",
                              file: name, line: line > 0 ? line : nil, byteOffset: feed.byteOffset(line: line, column: column))
        }
        if status == 1, xmlTextReaderNodeType(reader) == Int32(XML_READER_TYPE_ELEMENT.rawValue) { elements += 1 }
        if !started, status == 1 {
            started = true
            if let capture { writeDeclaration(into: &capture.bytes) }
        }
        if status == 0, let capture, capture.bytes.last != 0x0A { capture.bytes.append(0x0A) }
        return status == 1
    }

    /// Counts an element outside records (bounded: the first 200 names), for `noSuchElement`.
    private func noteElement() {
        let name = currentName
        if let n = otherElements[name] { otherElements[name] = n + 1 } else if otherOrder.count < 200 {
            otherElements[name] = 1
            otherOrder.append(name)
        }
    }

    /// `--record-element` matched nothing: name it and the elements the document has (issue 10.5).
    private func noSuchElement(_ asked: String) -> FormatError {
        let found = otherOrder.prefix(20).map { "<\($0)> (\(otherElements[$0]!))" }.joined(separator: ", ")
        return FormatError(.noSuchRecordElement, "--record-element \(asked) matches no element of the document; its elements are \(found.isEmpty ? "none" : found)\(otherOrder.count > 20 ? ", …" : "")",
                           file: name)
    }

    private func isRecordStart(depth: Int32) -> Bool {
        if options.recordElement != nil {
            return currentName == recordElement || text(xmlTextReaderConstLocalName(reader)) == recordElement
        }
        guard depth == 1 else { return false }
        if recordElement == nil { recordElement = currentName }
        return currentName == recordElement
    }

    private var currentName: String { text(xmlTextReaderConstName(reader)) }

    /// Every string libxml2 hands out goes through here. Its accessors are imported as implicitly
    /// unwrapped pointers, and `String(cString:)` on one that is NULL (a node kind without that
    /// property, a failed allocation inside libxml2) is a runtime trap (issue 10.6): taking an
    /// Optional makes that trap impossible, NULL reads as "".
    private func text(_ pointer: UnsafePointer<xmlChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    private func readRecord(depth recordDepth: Int32) throws(FormatError) -> Record {
        recordCount += 1
        let line = Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader)))
        let offset = feed.byteOffset(line: line) ?? Int64(xmlTextReaderByteConsumed(reader))
        var problem: FormatError?
        var recordBytes = 0
        if let capture {
            capture.recordStart = capture.bytes.count
            capture.childIndent = nil
            capture.closingIndent = nil
        }
        var lastWhitespace: String?
        var stack = [Frame(name: currentName, attributes: attributes())]
        let recordName = stack[0].name
        if let capture { appendStartTag(into: &capture.bytes, name: recordName, attributes: stack[0].attributes, forceOpen: true) }
        var empty = xmlTextReaderIsEmptyElement(reader) == 1
        while !empty {
            guard try advance() else {
                throw FormatError(.invalidXML, "the document ends inside record \(recordCount)", file: name, record: recordCount, line: line, byteOffset: offset)
            }
            let type = xmlTextReaderNodeType(reader)
            let depth = xmlTextReaderDepth(reader)
            var element: Frame?
            switch UInt32(type) {
            case XML_READER_TYPE_ELEMENT.rawValue:
                if depth == recordDepth + 1 {
                    if capture?.childIndent == nil { capture?.childIndent = lastWhitespace ?? "" }
                }
                lastWhitespace = nil
                let frame = Frame(name: currentName, attributes: attributes())
                element = frame
                recordBytes += frame.name.utf8.count + frame.attributes.reduce(0) { $0 + $1.1.utf8.count }
                if xmlTextReaderIsEmptyElement(reader) == 1 {
                    add(value(of: frame), named: frame.name, to: &stack[stack.count - 1])
                } else {
                    stack.append(frame)
                }
            case XML_READER_TYPE_END_ELEMENT.rawValue:
                if depth == recordDepth {
                    empty = true
                    capture?.closingIndent = lastWhitespace
                    break
                }
                lastWhitespace = nil
                // The reader's depths keep the stack balanced in a well-formed document; should
                // they ever disagree, that is an error for this record, not a trap.
                guard stack.count > 1 else {
                    throw FormatError(.invalidXML, "unbalanced end tag </\(currentName)> inside record \(recordCount)", file: name, record: recordCount, line: line, byteOffset: offset)
                }
                let frame = stack.removeLast()
                add(value(of: frame), named: frame.name, to: &stack[stack.count - 1])
            case XML_READER_TYPE_TEXT.rawValue, XML_READER_TYPE_CDATA.rawValue,
                 XML_READER_TYPE_WHITESPACE.rawValue, XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue:
                let text = text(xmlTextReaderConstValue(reader))
                recordBytes += text.utf8.count
                if recordBytes <= options.limits.maxRecordBytes {
                    stack[stack.count - 1].text += text
                }
                let blank = text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
                lastWhitespace = blank && depth == recordDepth + 1 ? text : nil
            default:
                lastWhitespace = nil
            }
            if recordBytes > options.limits.maxRecordBytes, problem == nil {
                problem = FormatError(.recordTooLarge, "the record is larger than \(options.limits.maxRecordBytes) bytes (raise --max-record-bytes if this is expected)",
                                      file: name, record: recordCount, line: line, byteOffset: offset)
            }
            if let capture, problem == nil, !empty { serializeCurrent(into: &capture.bytes, topLevel: false, element: element) }
        }
        if var problem {
            capture?.dropRecord()
            problem.text = "<\(recordName) …>"
            throw problem
        }
        if let capture {
            if let closing = capture.closingIndent, capture.bytes.count - capture.recordStart >= closing.utf8.count {
                capture.bytes.removeLast(closing.utf8.count)
            }
            capture.pendingEndTag = Array("</\(recordName)>".utf8)
        }
        var fields = JSONObject()
        switch value(of: stack[0]) {
        case .object(let object): fields = object
        case .string(let text) where !text.isEmpty: fields.append("_text", .string(text))
        default: break
        }
        return Record(number: recordCount, byteOffset: offset, line: line, fields: fields)
    }

    /// The current element's attributes (namespace declarations included), reader left on the element.
    private func attributes() -> [(String, String)] {
        guard xmlTextReaderHasAttributes(reader) == 1 else { return [] }
        var result: [(String, String)] = []
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            result.append((text(xmlTextReaderConstName(reader)), text(xmlTextReaderConstValue(reader))))
        }
        xmlTextReaderMoveToElement(reader)
        return result
    }

    private func value(of frame: Frame) -> JSONValue {
        let attributes = frame.attributes.filter { $0.0 != "xmlns" && !$0.0.hasPrefix("xmlns:") }
        if attributes.isEmpty, frame.children.isEmpty { return .string(frame.text) }
        var object = JSONObject()
        for (key, value) in attributes { object.append(frame.children[key] == nil ? key : "@" + key, .string(value)) }
        for (key, value) in frame.children { object.append(key, value) }
        if frame.text.utf8.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D }) {
            object.append("_text", .string(frame.text))
        }
        return .object(object)
    }

    private func add(_ value: JSONValue, named name: String, to frame: inout Frame) {
        if frame.repeated.contains(name), case .array(var items)? = frame.children[name] {
            items.append(value)
            frame.children[name] = .array(items)
        } else if let existing = frame.children[name] {
            frame.children[name] = .array([existing, value])
            frame.repeated.insert(name)
        } else {
            frame.children.append(name, value)
        }
    }

    private func checkDoctype() throws(FormatError) {
        guard !options.allowEntities, let node = xmlTextReaderCurrentNode(reader), node.pointee.type == XML_DTD_NODE else { return }
        let dtd = UnsafeMutableRawPointer(node).assumingMemoryBound(to: xmlDtd.self)
        if dtd.pointee.entities != nil {
            let line = Int(xmlGetLineNo(node))
            throw FormatError(.invalidXML, XMLPrologScan.entitiesRefused, file: name, line: line, byteOffset: feed.byteOffset(line: line))
        }
    }

    // MARK: - Serialization for the preserving writer

    private func writeDeclaration(into out: inout [UInt8]) {
        // libxml2 hands out UTF-8 whatever the input's encoding, so the output declares UTF-8.
        let version = xmlTextReaderConstXmlVersion(reader).map { String(cString: $0) } ?? "1.0"
        out.append(contentsOf: "<?xml version=\"\(version)\" encoding=\"UTF-8\"".utf8)
        switch xmlTextReaderStandalone(reader) {
        case 1: out.append(contentsOf: " standalone=\"yes\"".utf8)
        case 0: out.append(contentsOf: " standalone=\"no\"".utf8)
        default: break
        }
        out.append(contentsOf: "?>\n".utf8)
    }

    private func appendStartTag(into out: inout [UInt8], name: String, attributes: [(String, String)], forceOpen: Bool) {
        out.append(UInt8(ascii: "<"))
        out.append(contentsOf: name.utf8)
        let xmlns = feed.namespaceScan?.take(elements - 1)
        for (i, (key, value)) in attributes.enumerated() {
            if let xmlns, xmlns.position == i {
                out.append(0x20)
                out.append(contentsOf: xmlns.text.utf8)
            }
            out.append(0x20)
            out.append(contentsOf: key.utf8)
            out.append(contentsOf: "=\"".utf8)
            XMLText.appendEscaped(value, inAttribute: true, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        if let xmlns, xmlns.position >= attributes.count {
            out.append(0x20)
            out.append(contentsOf: xmlns.text.utf8)
        }
        out.append(contentsOf: (!forceOpen && xmlTextReaderIsEmptyElement(reader) == 1 ? "/>" : ">").utf8)
    }

    /// Serializes the node the reader is on (not records' own start and end tags). `element`:
    /// the element's name and attributes when the caller has read them already.
    private func serializeCurrent(into out: inout [UInt8], topLevel: Bool, element: Frame? = nil) {
        let type = UInt32(xmlTextReaderNodeType(reader))
        switch type {
        case XML_READER_TYPE_ELEMENT.rawValue:
            appendStartTag(into: &out, name: element?.name ?? currentName, attributes: element?.attributes ?? attributes(), forceOpen: false)
        case XML_READER_TYPE_END_ELEMENT.rawValue:
            out.append(contentsOf: "</".utf8)
            out.append(contentsOf: currentName.utf8)
            out.append(UInt8(ascii: ">"))
        case XML_READER_TYPE_TEXT.rawValue:
            XMLText.appendEscaped(text(xmlTextReaderConstValue(reader)), to: &out)
        case XML_READER_TYPE_WHITESPACE.rawValue, XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue:
            out.append(contentsOf: text(xmlTextReaderConstValue(reader)).utf8)
        case XML_READER_TYPE_CDATA.rawValue:
            out.append(contentsOf: "<![CDATA[".utf8)
            out.append(contentsOf: text(xmlTextReaderConstValue(reader)).utf8)
            out.append(contentsOf: "]]>".utf8)
        case XML_READER_TYPE_COMMENT.rawValue:
            out.append(contentsOf: "<!--".utf8)
            out.append(contentsOf: text(xmlTextReaderConstValue(reader)).utf8)
            out.append(contentsOf: "-->".utf8)
        case XML_READER_TYPE_PROCESSING_INSTRUCTION.rawValue:
            out.append(contentsOf: "<?".utf8)
            out.append(contentsOf: currentName.utf8)
            let data = text(xmlTextReaderConstValue(reader))
            if !data.isEmpty {
                out.append(0x20)
                out.append(contentsOf: data.utf8)
            }
            out.append(contentsOf: "?>".utf8)
        case XML_READER_TYPE_DOCUMENT_TYPE.rawValue:
            if let node = xmlTextReaderCurrentNode(reader), let buffer = xmlBufferCreate() {
                xmlNodeDump(buffer, node.pointee.doc, node, 0, 0)
                if let content = xmlBufferContent(buffer) { out.append(contentsOf: String(cString: content).utf8) }
                xmlBufferFree(buffer)
            }
        default:
            return
        }
        // The reader does not report whitespace between top-level nodes: one newline stands for it.
        if topLevel, type != XML_READER_TYPE_ELEMENT.rawValue || xmlTextReaderIsEmptyElement(reader) == 1 { out.append(0x0A) }
    }
}
