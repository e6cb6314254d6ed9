import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One admin request, fully read.
struct AdminRequest {
    let method: HTTPMethod
    let path: String
    let query: [String: String]
    let headers: HTTPHeaders
    let body: Data
}

/// One admin response.
struct AdminResponse {
    var status: HTTPResponseStatus
    var contentType: String
    var body: Data

    static func json(_ status: HTTPResponseStatus, _ object: Any) -> AdminResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
        return AdminResponse(status: status, contentType: "application/json", body: data + Data("\n".utf8))
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        .json(status, ["error": message])
    }

    static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String = "text/plain; charset=utf-8") -> AdminResponse {
        AdminResponse(status: status, contentType: contentType, body: Data(text.utf8))
    }
}

/// A small HTTP/1.1 server on SwiftNIO for the admin API. It only reads requests and writes
/// responses; what a request means is the `handler`'s business, which answers through a
/// callback from any thread (a swap answers once its checkpoint completed).
final class AdminHTTPServer {
    typealias Handler = (AdminRequest, @escaping (AdminResponse) -> Void) -> Void

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    /// Requests larger than this are refused (a sink's YAML block is small).
    static let maximumBodyBytes = 1 << 20

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    func start(host: String, port: Int, handler: @escaping Handler) throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(RequestHandler(handler: handler))
                }
            }
        let channel = try bootstrap.bind(host: host, port: port).wait()
        self.channel = channel
        return channel.localAddress?.port ?? port
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Collects one request, hands it to the handler, writes the answer.
    private final class RequestHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let handler: Handler
        private var head: HTTPRequestHead?
        private var body = Data()
        private var tooLarge = false

        init(handler: @escaping Handler) { self.handler = handler }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = Data()
                tooLarge = false
            case .body(var buffer):
                if body.count + buffer.readableBytes > AdminHTTPServer.maximumBodyBytes { tooLarge = true }
                if !tooLarge, let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
            case .end:
                guard let head else { return }
                let keepAlive = head.isKeepAlive
                let loop = context.eventLoop
                let respond: (AdminResponse) -> Void = { response in
                    loop.execute { self.write(response, keepAlive: keepAlive, context: context) }
                }
                if tooLarge {
                    respond(.error(.payloadTooLarge, "request body over \(AdminHTTPServer.maximumBodyBytes) bytes"))
                    return
                }
                let (path, query) = AdminHTTPServer.split(head.uri)
                handler(AdminRequest(method: head.method, path: path, query: query, headers: head.headers, body: body), respond)
            }
        }

        private func write(_ response: AdminResponse, keepAlive: Bool, context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: response.contentType)
            headers.add(name: "Content-Length", value: String(response.body.count))
            if response.status == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Bearer") }
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
        }
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            query[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return (String(uri[..<mark]), query)
    }
}
