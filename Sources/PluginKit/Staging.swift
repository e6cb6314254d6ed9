import DurableFiles
import PluginABI

/// The operator's durable staging (`sluice_host_api.staging`, ABI 1.2), wrapped for Swift:
/// named, immutable objects that become visible whole when sealed and live where the
/// pipeline's checkpoints live (a local directory or object storage). On a host without the
/// service the same objects are files in `state_dir`.
///
/// Any thread; a writer is used by one thread at a time.
public final class Staging: @unchecked Sendable {
    // @unchecked: immutable; the host's table may be called from any thread (ABI).
    private enum Backend {
        case host(UnsafePointer<sluice_staging_api>, UnsafeMutableRawPointer?)
        case directory(StagedObjectDirectory)
    }
    private let backend: Backend
    /// A directory or an s3:// URL, for messages.
    public let location: String

    convenience init(host: PluginHost) throws {
        if let api = host.stagingAPI {
            self.init(backend: .host(api, host.api.pointee.host_data), location: String(cString: api.pointee.location))
        } else {
            try self.init(directory: host.stateDirectory)
        }
    }

    /// Staged objects as files in `directory` (what a host without the service gets; tests).
    public convenience init(directory: String) throws {
        self.init(backend: .directory(try StagedObjectDirectory(directory: directory)), location: directory)
    }

    private init(backend: Backend, location: String) {
        self.backend = backend
        self.location = location
    }

    /// An object being written; dropped without `seal`, it is abandoned.
    public final class Writer {
        private enum State {
            case host(UnsafePointer<sluice_staging_api>, UnsafeMutableRawPointer?, OpaquePointer)
            case directory(StagedObjectDirectory.Writer)
            case done
        }
        private var state: State
        /// Bytes written so far.
        public private(set) var count = 0

        fileprivate init(_ staging: Staging, name: String?) throws {
            switch staging.backend {
            case let .host(api, data):
                var writer: OpaquePointer?
                var error = sluice_error()
                let status = name.withOptionalCString { api.pointee.create(data, $0, &writer, &error) }
                guard status == SLUICE_OK, let writer else { throw PluginError(Self.message(error)) }
                state = .host(api, data, writer)
            case let .directory(objects):
                state = .directory(try objects.makeWriter(name: name))
            }
        }

        deinit { abandon() }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            switch state {
            case let .host(api, data, writer):
                var error = sluice_error()
                let status = api.pointee.write(data, writer, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &error)
                guard status == SLUICE_OK else { throw PluginError(Self.message(error)) }
            case let .directory(writer):
                try writer.write(bytes)
            case .done:
                throw PluginError("a staged object was written after it was sealed or abandoned")
            }
            count += bytes.count
        }

        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

        /// Durable and visible as `name` (nil: the name given at creation) once this returns.
        public func seal(as name: String? = nil) throws {
            let current = state
            state = .done
            switch current {
            case let .host(api, data, writer):
                var error = sluice_error()
                let status = name.withOptionalCString { api.pointee.seal(data, writer, $0, &error) }
                guard status == SLUICE_OK else { throw PluginError(Self.message(error)) }
            case let .directory(writer):
                try writer.seal(as: name)
            case .done:
                throw PluginError("a staged object was sealed twice")
            }
        }

        public func abandon() {
            let current = state
            state = .done
            switch current {
            case let .host(api, data, writer): api.pointee.abandon(data, writer)
            case let .directory(writer): writer.abandon()
            case .done: break
            }
        }

        static func message(_ error: sluice_error) -> String {
            var copy = error
            return withUnsafeBytes(of: &copy.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
    }

    /// Starts an object, named now (large objects then stream straight to it) or when sealed.
    public func makeWriter(name: String? = nil) throws -> Writer { try Writer(self, name: name) }

    /// The size of a sealed object; nil when there is none.
    public func size(_ name: String) throws -> Int? {
        switch backend {
        case let .host(api, data):
            var size: UInt64 = 0
            var error = sluice_error()
            let status = api.pointee.size(data, name, &size, &error)
            if status == SLUICE_NO_DATA { return nil }
            guard status == SLUICE_OK else { throw PluginError(Writer.message(error)) }
            return Int(size)
        case let .directory(objects):
            return try objects.size(name)
        }
    }

    /// Reads into `buffer` from `offset`: the count read, 0 at the end.
    public func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch backend {
        case let .host(api, data):
            var length = 0
            var error = sluice_error()
            let status = api.pointee.read(data, name, UInt64(offset), buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, &length, &error)
            guard status == SLUICE_OK else { throw PluginError(Writer.message(error)) }
            return length
        case let .directory(objects):
            return try objects.read(name, offset: offset, into: buffer)
        }
    }

    /// A whole sealed object (for objects known to be small).
    public func readAll(_ name: String) throws -> [UInt8] {
        guard let size = try size(name) else { throw PluginError("staged object \(name) does not exist in \(location)") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = try bytes.withUnsafeMutableBytes { try read(name, offset: done, into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            if n == 0 { throw PluginError("staged object \(name) in \(location) ended after \(done) of \(size) bytes") }
            done += n
        }
        return bytes
    }

    /// Sealed objects, in name order.
    public func list() throws -> [(name: String, size: Int)] {
        switch backend {
        case let .host(api, data):
            final class Collected { var objects: [(name: String, size: Int)] = [] }
            let collected = Collected()
            var error = sluice_error()
            let status = withExtendedLifetime(collected) {
                api.pointee.list(data, { context, name, size in
                    guard let context, let name else { return }
                    Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue().objects.append((String(cString: name), Int(size)))
                }, Unmanaged.passUnretained(collected).toOpaque(), &error)
            }
            guard status == SLUICE_OK else { throw PluginError(Writer.message(error)) }
            return collected.objects
        case let .directory(objects):
            return try objects.list()
        }
    }

    public func exists(_ name: String) throws -> Bool { try size(name) != nil }

    /// Deletes a sealed object durably; an absent one is no error.
    public func remove(_ name: String) throws {
        switch backend {
        case let .host(api, data):
            var error = sluice_error()
            guard api.pointee.remove(data, name, &error) == SLUICE_OK else { throw PluginError(Writer.message(error)) }
        case let .directory(objects):
            try objects.remove(name)
        }
    }
}

private extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let text): return try text.withCString(body)
        case .none: return try body(nil)
        }
    }
}
