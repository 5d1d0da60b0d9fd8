import Foundation


/// Copies standard input to a file so it can be read twice (dispatch pass, merge pass).
public enum StdinSpool {
    public static func spool(to path: String) throws(EngineError) -> String {
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw EngineError(.failure, "cannot create \(path) to hold standard input")
        }
        defer { try? out.close() }
        let input = FileHandle.standardInput
        while true {
            let chunk = input.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            do { try out.write(contentsOf: chunk) } catch { throw EngineError(.failure, "cannot spool standard input to \(path): \(error)") }
        }
        do { try out.synchronize() } catch {}
        return path
    }
}
