/// What a client does with a LOOKUP_RESPONSE, decided without I/O: connect to the broker it
/// names, ask that broker again (a redirect), or use the service URL (a proxy, or a broker that
/// names no address for the client's scheme).
///
/// Over TLS only the broker's TLS URL (`brokerServiceUrlTls`) is followed, and over plaintext
/// only its plaintext URL: a connection is never downgraded nor upgraded behind the user's back.
enum LookupAnswer: Equatable {
    case connect(ServiceURL)
    case redirect(ServiceURL, authoritative: Bool)
    /// Use the service URL. `plaintextOnly` carries the plaintext URL a TLS client did not
    /// follow (a broker behind a TLS terminator knows only that one), for a log line.
    case serviceURL(plaintextOnly: String?)
    case failed(PulsarError)

    init(_ r: Pulsar_Proto_CommandLookupTopicResponse, serviceURL: ServiceURL) {
        if r.response == .failed || r.hasError {
            self = .failed(.server(code: "\(r.error)", message: r.message))
            return
        }
        let useTLS = serviceURL.usesTLS
        let advertised = useTLS ? (r.hasBrokerServiceURLTls ? r.brokerServiceURLTls : "") : (r.hasBrokerServiceURL ? r.brokerServiceURL : "")
        if r.proxyThroughServiceURL || advertised.isEmpty {
            let unfollowed = useTLS && !r.proxyThroughServiceURL && r.hasBrokerServiceURL && !r.brokerServiceURL.isEmpty
            self = .serviceURL(plaintextOnly: unfollowed ? r.brokerServiceURL : nil)
            return
        }
        guard let target = try? ServiceURL(advertised), target.usesTLS == useTLS else {
            self = .failed(.protocolViolation("lookup answered with broker URL '\(advertised)'"))
            return
        }
        self = r.response == .redirect ? .redirect(target, authoritative: r.authoritative) : .connect(target)
    }
}
