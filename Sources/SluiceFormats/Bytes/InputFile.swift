/// Opens an input for reading: gzip is recognised by its magic bytes (whatever the name says) and
/// inflated on the fly; the result can be peeked for format and dialect sniffing.
public enum InputFile {
    public struct Opened {
        /// The (decompressed) bytes, peekable.
        public var source: PeekableSource
        public var compressed: Bool
    }

    public static func open(path: String, displayName: String? = nil) throws(FormatError) -> Opened {
        let raw = PeekableSource(try FileByteSource(path: path, displayName: displayName))
        let magic = try raw.peek(2)
        if magic.elementsEqual([0x1F, 0x8B]) {
            return Opened(source: PeekableSource(try GzipSource(raw)), compressed: true)
        }
        return Opened(source: raw, compressed: false)
    }

    /// The format the content looks like: `<` opens XML, `{` JSON Lines, anything else CSV.
    public static func sniffFormat(_ source: PeekableSource) throws(FormatError) -> RecordFormat {
        var head = try source.peek(4096)
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head = head.dropFirst(3) }
        let first = head.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        switch first {
        case UInt8(ascii: "<")?: return .xml
        case UInt8(ascii: "{")?: return .jsonl
        default: return .csv
        }
    }
}
