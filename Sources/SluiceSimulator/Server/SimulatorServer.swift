import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// Puts a `Simulator` on a loopback socket, with transport-level faults: dropped connections,
/// truncated bodies, slow first bytes. Cleartext serves HTTP/1.1 (keep-alive); with a
/// `SimulatorTLS` identity it serves TLS and negotiates HTTP/2 or HTTP/1.1 by ALPN, as the real
/// endpoint does. Over HTTP/2 a fault acts on its stream: a drop or a truncation resets the
/// stream, the other requests on the connection go on.
public enum SimulatorServer {
    /// Largest request body accepted (the real service's limit is far above any prompt we send).
    static let maxBodyBytes = 64 << 20

    /// Binds `host:port` (port 0 picks a free one), runs `body` with the bound simulator, then
    /// stops serving. Connections still open are closed when `body` returns.
    public static func withRunning<Result: Sendable>(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: SimulatorTLS? = nil,
        _ body: (RunningSimulator) async throws -> Result
    ) async throws -> Result {
        let simulator = Simulator(configuration: configuration)
        let server = try await bind(simulator, host: host, port: port, tls: tls)
        let running = RunningSimulator(simulator: simulator, host: host, port: server.channel.localAddress?.port ?? port, tls: tls)
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
    public static func run(_ configuration: SimulatorConfiguration, host: String, port: Int, tls: SimulatorTLS? = nil,
                           onBound: @Sendable (RunningSimulator) -> Void) async throws {
        let simulator = Simulator(configuration: configuration)
        let server = try await bind(simulator, host: host, port: port, tls: tls)
        onBound(RunningSimulator(simulator: simulator, host: host, port: server.channel.localAddress?.port ?? port, tls: tls))
        try await withTaskCancellationHandler {
            try await serve(server, simulator: simulator)
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Negotiated = NIONegotiatedHTTPVersion<Connection, (Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>)>

    /// An accepted connection: cleartext HTTP/1.1 at once, or TLS whose protocol ALPN decides.
    enum Accepted: Sendable {
        case cleartext(Connection)
        case tls(EventLoopFuture<Negotiated>, id: Int)
    }

    static func bind(_ simulator: Simulator, host: String, port: Int, tls: SimulatorTLS?) async throws -> NIOAsyncChannel<Accepted, Never> {
        let sslContext = try tls.map(makeSSLContext)
        simulator.recordTransport {
            $0.tls = tls != nil
            $0.maxConcurrentStreams = tls?.maxConcurrentStreams ?? 0
        }
        var settings = NIOHTTP2Handler.Configuration()
        settings.connection.initialSettings = nioDefaultSettings.filter { $0.parameter != .maxConcurrentStreams }
            + [HTTP2Setting(parameter: .maxConcurrentStreams, value: tls?.maxConcurrentStreams ?? 100)]
        let http2 = settings
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                guard let sslContext else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return Accepted.cleartext(try Connection(wrappingChannelSynchronously: channel))
                    }
                }
                do {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                let id = simulator.recordTransport { $0.newConnectionID() }
                let counter = StreamCounter(simulator: simulator, connection: id)
                return channel.configureAsyncHTTPServerPipeline(streamDelegate: counter, http2Configuration: http2) { connection in
                    connection.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: connection) }
                } http2ConnectionInitializer: { connection in
                    connection.eventLoop.makeSucceededFuture(connection)
                } http2StreamInitializer: { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                        return try Connection(wrappingChannelSynchronously: stream)
                    }
                }.map { Accepted.tls($0, id: id) }
            }
    }

    static func makeSSLContext(_ tls: SimulatorTLS) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.applicationProtocols = tls.applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }

    /// Serves until the server channel closes (or this task is cancelled, which closes it).
    ///
    /// The accept loop runs in a task of its own that is never cancelled: a cancelled NIO inbound
    /// stream drops the connections it had already accepted, and NIO traps on an `NIOAsyncChannel`
    /// released without `executeThenClose` ("Deinited NIOAsyncWriter without calling finish()").
    /// Closing the server channel instead ends the loop after it has taken every accepted
    /// connection; then the connections still open are closed by cancelling their handlers.
    static func serve(_ server: NIOAsyncChannel<Accepted, Never>, simulator: Simulator) async throws {
        let acceptor = Task {
            await withDiscardingTaskGroup { group in
                try? await server.executeThenClose { connections in
                    for try await accepted in connections {
                        group.addTask { await handle(accepted, simulator: simulator) }
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

    static func handle(_ accepted: Accepted, simulator: Simulator) async {
        switch accepted {
        case .cleartext(let connection):
            let id = simulator.recordTransport {
                $0.opened(.http1)
                return $0.newConnectionID()
            }
            await handle(connection, simulator: simulator, http2: false)
            simulator.recordTransport { $0.closed(connection: id) }
        case .tls(let negotiation, let id):
            let negotiated: Negotiated
            do {
                negotiated = try await negotiation.get()
            } catch {
                simulator.recordTransport { $0.failedHandshakes += 1 }
                return
            }
            switch negotiated {
            case .http1_1(let connection):
                simulator.recordTransport { $0.opened(.http1) }
                await handle(connection, simulator: simulator, http2: false)
                simulator.recordTransport { $0.closed(connection: id) }
            case .http2(let (channel, multiplexer)):
                simulator.recordTransport { $0.opened(.h2) }
                await serveStreams(multiplexer, on: channel, simulator: simulator)
                simulator.recordTransport { $0.closed(connection: id) }
            }
        }
    }

    /// One task per HTTP/2 stream, each a single request; ends when the connection does.
    static func serveStreams(_ multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>, on channel: Channel, simulator: Simulator) async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                do {
                    for try await stream in multiplexer.inbound {
                        group.addTask { await handle(stream, simulator: simulator, http2: true) }
                    }
                } catch {}
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Reads requests off an HTTP/1.1 connection (several, with keep-alive) or an HTTP/2 stream
    /// (one) and writes the simulator's answers back.
    static func handle(_ connection: Connection, simulator: Simulator, http2: Bool) async {
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
                        let keepAlive = !http2 && requestHead.isKeepAlive
                        guard try await write(response, keepAlive: keepAlive, http2: http2, version: requestHead.version, to: outbound) else { return }
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
    /// HTTP/2 has no `Connection` header (its framing ends each response).
    static func write(_ response: SimHTTPResponse, keepAlive: Bool, http2: Bool, version: HTTPVersion,
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
        if !http2 { headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close") }
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

/// Counts the streams of one HTTP/2 connection into the simulator's transport stats.
struct StreamCounter: NIOHTTP2StreamDelegate {
    let simulator: Simulator
    let connection: Int

    func streamCreated(_ id: HTTP2StreamID, channel: Channel) {
        simulator.recordTransport { $0.streamOpened(on: connection) }
    }

    func streamClosed(_ id: HTTP2StreamID, channel: Channel) {
        simulator.recordTransport { $0.streamClosed(on: connection) }
    }
}

/// A simulator bound to a socket: where to reach it, and its in-process API.
public struct RunningSimulator: Sendable {
    public let simulator: Simulator
    public let host: String
    public let port: Int
    /// The identity it serves TLS with; nil: cleartext HTTP/1.1.
    public let tls: SimulatorTLS?

    /// `http(s)://127.0.0.1:PORT`: what `--endpoint` and `GOOGLE_GEMINI_BASE_URL` take.
    public var baseURL: String { "\(tls == nil ? "http" : "https")://\(host):\(port)" }
}
