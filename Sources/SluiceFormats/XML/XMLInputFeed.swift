import CLibXML2

/// What libxml2's read callback pulls from: the byte source, the first error it raised, and the
/// byte offsets where recent lines start (libxml2 reports lines and columns, we report bytes).
final class XMLInputFeed {
    let source: any ByteSource
    var error: FormatError?
    /// The first error libxml2 reported: message, line, column.
    var parseError: (message: String, line: Int, column: Int)?
    private(set) var offset: Int64 = 0
    /// Start offsets of lines `firstLine ..< firstLine + lineStarts.count`, the most recent ones only.
    private var lineStarts: [Int64] = [0]
    private var firstLine = 1
    private let keptLines = 1 << 16

    /// Set when the document is kept for the preserving writer (and entities are not expanded,
    /// which would make elements the raw bytes do not show).
    var namespaceScan: XMLNamespaceDeclarationScan?

    init(source: any ByteSource) { self.source = source }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int32 {
        var source = self.source
        do {
            let n = try source.read(into: buffer)
            namespaceScan?.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            for i in 0..<n where buffer[i] == 0x0A { lineStarts.append(offset + Int64(i) + 1) }
            offset += Int64(n)
            if lineStarts.count > 2 * keptLines {
                firstLine += lineStarts.count - keptLines
                lineStarts.removeFirst(lineStarts.count - keptLines)
            }
            return Int32(n)
        } catch {
            self.error = error
            return -1
        }
    }

    /// Byte offset of `line`, `column` (1-based), when the line is recent enough to be known.
    func byteOffset(line: Int, column: Int = 1) -> Int64? {
        let index = line - firstLine
        guard line > 0, index >= 0, index < lineStarts.count else { return nil }
        return lineStarts[index] + Int64(max(column, 1) - 1)
    }
}

/// libxml2 callbacks: C function pointers, so they find their state through the context pointer.
enum XMLCallbacks {
    static let read: xmlInputReadCallback = { context, buffer, length in
        guard let context, let buffer, length > 0 else { return 0 }
        let feed = Unmanaged<XMLInputFeed>.fromOpaque(context).takeUnretainedValue()
        return feed.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
    }

    static let close: xmlInputCloseCallback = { _ in 0 }

    static let validityDomains: Set<Int32> = [Int32(XML_FROM_VALID.rawValue), Int32(XML_FROM_DTD.rawValue)]

    static let error: xmlStructuredErrorFunc = { context, error in
        guard let context, let error else { return }
        let feed = Unmanaged<XMLInputFeed>.fromOpaque(context).takeUnretainedValue()
        guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, feed.parseError == nil else { return }
        // Validity diagnostics (an `xml:id` that is not an NCName, DTD constraints) do not make a
        // document ill-formed: Python, browsers and libxml2's own reader go on. Only
        // well-formedness and namespace errors stop the run (issue 10.3).
        if error.pointee.level == XML_ERR_ERROR, Self.validityDomains.contains(error.pointee.domain) { return }
        var message = error.pointee.message.map { String(cString: $0) } ?? "malformed XML"
        while message.last == "\n" { message.removeLast() }
        feed.parseError = (message, Int(error.pointee.line), Int(error.pointee.int2))
    }

    /// Refuses every external entity and DTD, whatever the parser options: a data file never
    /// makes Sluice read another file or the network.
    static let refuseExternalEntities: xmlExternalEntityLoader = { _, _, _ in nil }

    /// Installs the process-wide guards once.
    static let installed: Void = {
        xmlInitParser()
        xmlSetExternalEntityLoader(refuseExternalEntities)
        sluice_xml_silence_generic_errors()
    }()
}
