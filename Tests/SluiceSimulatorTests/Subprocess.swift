import Foundation

/// Runs a command to completion on its own thread, so waiting for it never blocks one of the
/// few cooperative threads the in-process simulator needs (there are as many as cores).
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
    }

    static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    process.arguments = arguments
                    if let environment { process.environment = environment }
                    let out = Pipe()
                    process.standardOutput = out
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}
