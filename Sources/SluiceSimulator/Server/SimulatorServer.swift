import NIOCore
import NIOHTTP1
import NIOPosix

/// Puts a `Simulator` on a loopback socket (HTTP/1.1, keep-alive), with transport-level faults:
/// dropped connections, truncated bodies, slow first bytes.
public enum SimulatorServer {
    /// Largest request body accepted (the real service's limit is far above any prompt we send).
    static let maxBodyBytes = 64 << 20

    /// Binds `host:port` (port 0 picks a free one), runs `body` with the bound simulator, then
    /// stops serving. Connections still open are closed when `body` returns.
    public static func withRunning<Result: Sendable>(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
        host: String = "127.0.0.1",
        port: Int = 0,
        _ body: (RunningSimulator) async throws -> Result
    ) async throws -> Result {
        let simulator = Simulator(configuration: configuration)
        let server = try await bind(simulator, host: host, port: port)
        let running = RunningSimulator(simulator: simulator, host: host, port: server.channel.localAddress?.port ?? port)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await serve(server, simulator: simulator) }
            do {
                let result = try await body(running)
                group.cancelAll()
                try? await server.channel.close()
                return result
            } catch {
                group.cancelAll()
                try? await server.channel.close()
                throw error
            }
        }
    }

    /// Serves until the task is cancelled: for `sluice simulate`, which runs until interrupted.
    public static func run(_ configuration: SimulatorConfiguration, host: String, port: Int, onBound: @Sendable (RunningSimulator) -> Void) async throws {
        let simulator = Simulator(configuration: configuration)
        let server = try await bind(simulator, host: host, port: port)
        onBound(RunningSimulator(simulator: simulator, host: host, port: server.channel.localAddress?.port ?? port))
        try await withTaskCancellationHandler {
            try await serve(server, simulator: simulator)
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    static func bind(_ simulator: Simulator, host: String, port: Int) async throws -> NIOAsyncChannel<Connection, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Serves until the server channel closes (or this task is cancelled, which closes it).
    ///
    /// The accept loop runs in a task of its own that is never cancelled: a cancelled NIO inbound
    /// stream drops the connections it had already accepted, and NIO traps on an `NIOAsyncChannel`
    /// released without `executeThenClose` ("Deinited NIOAsyncWriter without calling finish()").
    /// Closing the server channel instead ends the loop after it has taken every accepted
    /// connection; then the connections still open are closed by cancelling their handlers.
    static func serve(_ server: NIOAsyncChannel<Connection, Never>, simulator: Simulator) async throws {
        let acceptor = Task {
            await withDiscardingTaskGroup { group in
                try? await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await handle(connection, simulator: simulator) }
                    }
                }
                group.cancelAll()
            }
        }
        await withTaskCancellationHandler {
            await acceptor.value
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    static func handle(_ connection: Connection, simulator: Simulator) async {
        try? await withTaskCancellationHandler {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                    case .body(var chunk):
                        guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else { return }
                        body.writeBuffer(&chunk)
                    case .end:
                        guard let requestHead = head else { return }
                        let (path, query) = SimHTTPRequest.splitTarget(requestHead.uri)
                        var headers: [String: String] = [:]
                        for (name, value) in requestHead.headers { headers[name.lowercased()] = value }
                        let request = SimHTTPRequest(method: requestHead.method.rawValue, path: path, query: query, headers: headers,
                                                     body: body.readBytes(length: body.readableBytes) ?? [])
                        let response = await simulator.handle(request)
                        let keepAlive = requestHead.isKeepAlive
                        guard try await write(response, keepAlive: keepAlive, version: requestHead.version, to: outbound) else { return }
                        if !keepAlive { return }
                        head = nil
                    }
                }
            }
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }

    /// Writes the response as its delivery says; false when the connection must close now.
    static func write(_ response: SimHTTPResponse, keepAlive: Bool, version: HTTPVersion,
                      to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws -> Bool {
        switch response.delivery {
        case .drop:
            return false
        case .slowFirstByte(let seconds):
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        case .normal, .truncate:
            break
        }
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        headers.replaceOrAdd(name: "Server", value: "sluice-simulator")
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        try await outbound.write(.head(head))
        if response.delivery == .truncate {
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body.prefix(response.body.count / 2)))))
            return false
        }
        try await outbound.write(contentsOf: [.body(.byteBuffer(ByteBuffer(bytes: response.body))), .end(nil)])
        return true
    }
}

/// A simulator bound to a socket: where to reach it, and its in-process API.
public struct RunningSimulator: Sendable {
    public let simulator: Simulator
    public let host: String
    public let port: Int

    /// `http://127.0.0.1:PORT`: what `--endpoint` and `GOOGLE_GEMINI_BASE_URL` take.
    public var baseURL: String { "http://\(host):\(port)" }
}
