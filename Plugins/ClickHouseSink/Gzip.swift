import CCompression

/// gzip for request bodies (`Content-Encoding: gzip`, which every ClickHouse HTTP server
/// accepts). Pure function; any thread.
enum Gzip {
    static func compress<C: RandomAccessCollection>(_ input: C, level: Int32 = 1) throws -> [UInt8] where C.Element == UInt8 {
        if let result = try input.withContiguousStorageIfAvailable({ try compress(UnsafeRawBufferPointer($0), level: level) }) {
            return result
        }
        return try Array(input).withUnsafeBytes { try compress($0, level: level) }
    }

    static func compress(_ source: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
        var stream = z_stream()
        var status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw ClickHouseError.local("cannot start gzip compression (zlib status \(status))") }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(source.count))) + 64)
        let produced: Int = output.withUnsafeMutableBytes { destination in
            stream.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(source.count)
            stream.next_out = destination.bindMemory(to: Bytef.self).baseAddress
            stream.avail_out = uInt(destination.count)
            status = deflate(&stream, Z_FINISH)
            return destination.count - Int(stream.avail_out)
        }
        guard status == Z_STREAM_END else { throw ClickHouseError.local("gzip compression failed (zlib status \(status))") }
        output.removeSubrange(produced...)
        return output
    }
}

/// gzip compression of a stream given in chunks (a staged block sent from its file). One
/// request at a time; `end` frees zlib's state.
// @unchecked Sendable: zlib's state is used by one request at a time, on the event loop that
// streams the request body, and handed between threads only before and after it.
final class GzipStream: @unchecked Sendable {
    private var stream = z_stream()
    private var ended = false

    init(level: Int32 = 1) throws {
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw ClickHouseError.local("cannot start gzip compression (zlib status \(status))") }
    }

    /// Compresses `input`; with `finish`, also ends the stream. Returns what zlib produced.
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool) throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: Swift.max(64 << 10, input.count / 2))
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        while true {
            var status: Int32 = Z_OK
            let produced: Int = chunk.withUnsafeMutableBytes { destination in
                stream.next_out = destination.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(destination.count)
                status = deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                return destination.count - Int(stream.avail_out)
            }
            if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                throw ClickHouseError.local("gzip compression failed (zlib status \(status))")
            }
            output.append(contentsOf: chunk[0..<produced])
            if finish ? status == Z_STREAM_END : (stream.avail_in == 0 && stream.avail_out > 0) { break }
        }
        return output
    }

    func end() {
        guard !ended else { return }
        ended = true
        deflateEnd(&stream)
    }

    deinit { end() }
}
