import CCompression
import NIOCore

/// The payload codecs of the Pulsar protocol, through Debian's libraries: LZ4 (raw block, as
/// the official clients write it), ZLIB (zlib format), ZSTD (frame) and SNAPPY (raw format).
///
/// Stateless; any thread.
public enum CompressionCodec: String, CaseIterable, Sendable {
    case none, lz4, zlib, zstd, snappy

    var protocolValue: Pulsar_Proto_CompressionType {
        switch self {
        case .none: return .none
        case .lz4: return .lz4
        case .zlib: return .zlib
        case .zstd: return .zstd
        case .snappy: return .snappy
        }
    }

    init(_ type: Pulsar_Proto_CompressionType) {
        switch type {
        case .none: self = .none
        case .lz4: self = .lz4
        case .zlib: self = .zlib
        case .zstd: self = .zstd
        case .snappy: self = .snappy
        }
    }

    /// Compresses `input`.
    public func compress(_ input: ByteBuffer) throws -> ByteBuffer {
        if self == .none { return input }
        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let count = src.count
            let base = src.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            switch self {
            case .none:
                return input
            case .lz4:
                let bound = Int(LZ4_compressBound(Int32(count)))
                return try ByteBuffer.build(capacity: bound) { dst in
                    let n = LZ4_compress_default(base.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(count), Int32(bound))
                    guard n > 0 else { throw PulsarError.compression("LZ4 could not compress \(count) bytes") }
                    return Int(n)
                }
            case .zlib:
                let bound = Int(compressBound(uLong(count)))
                return try ByteBuffer.build(capacity: bound) { dst in
                    var length = uLongf(bound)
                    let status = compress2(dst.baseAddress!.assumingMemoryBound(to: Bytef.self), &length, base.assumingMemoryBound(to: Bytef.self), uLong(count), Z_DEFAULT_COMPRESSION)
                    guard status == Z_OK else { throw PulsarError.compression("zlib could not compress \(count) bytes (status \(status))") }
                    return Int(length)
                }
            case .zstd:
                let bound = ZSTD_compressBound(count)
                return try ByteBuffer.build(capacity: bound) { dst in
                    let n = ZSTD_compress(dst.baseAddress!, bound, base, count, 3)
                    guard ZSTD_isError(n) == 0 else { throw PulsarError.compression("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
                    return n
                }
            case .snappy:
                let bound = snappy_max_compressed_length(count)
                return try ByteBuffer.build(capacity: bound) { dst in
                    var length = bound
                    let status = snappy_compress(base.assumingMemoryBound(to: CChar.self), count, dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
                    guard status == SNAPPY_OK else { throw PulsarError.compression("snappy could not compress \(count) bytes") }
                    return length
                }
            }
        }
    }

    /// Decompresses `input` into exactly `uncompressedSize` bytes; a size mismatch or corrupt
    /// input is an error, never a crash.
    public func decompress(_ input: ByteBuffer, uncompressedSize: Int, limit: Int = 64 << 20) throws -> ByteBuffer {
        if self == .none { return input }
        guard uncompressedSize >= 0, uncompressedSize <= limit else {
            throw PulsarError.compression("uncompressed size \(uncompressedSize) is over the limit of \(limit) bytes")
        }
        return try input.withUnsafeReadableBytes { src -> ByteBuffer in
            let count = src.count
            let base = src.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            return try ByteBuffer.build(capacity: max(uncompressedSize, 1)) { dst in
                let out = dst.baseAddress!
                switch self {
                case .none:
                    return 0
                case .lz4:
                    let n = LZ4_decompress_safe(base.assumingMemoryBound(to: CChar.self), out.assumingMemoryBound(to: CChar.self), Int32(count), Int32(uncompressedSize))
                    guard n == uncompressedSize else { throw PulsarError.compression("LZ4 data is corrupt (\(n) of \(uncompressedSize) bytes)") }
                case .zlib:
                    var length = uLongf(uncompressedSize)
                    let status = uncompress(out.assumingMemoryBound(to: Bytef.self), &length, base.assumingMemoryBound(to: Bytef.self), uLong(count))
                    guard status == Z_OK, Int(length) == uncompressedSize else { throw PulsarError.compression("zlib data is corrupt (status \(status))") }
                case .zstd:
                    let n = ZSTD_decompress(out, uncompressedSize, base, count)
                    guard ZSTD_isError(n) == 0 else { throw PulsarError.compression("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
                    guard n == uncompressedSize else { throw PulsarError.compression("zstd produced \(n) bytes, expected \(uncompressedSize)") }
                case .snappy:
                    var length = uncompressedSize
                    var expected = 0
                    guard snappy_uncompressed_length(base.assumingMemoryBound(to: CChar.self), count, &expected) == SNAPPY_OK, expected == uncompressedSize else {
                        throw PulsarError.compression("snappy data is corrupt or not \(uncompressedSize) bytes")
                    }
                    guard snappy_uncompress(base.assumingMemoryBound(to: CChar.self), count, out.assumingMemoryBound(to: CChar.self), &length) == SNAPPY_OK else {
                        throw PulsarError.compression("snappy data is corrupt")
                    }
                }
                return uncompressedSize
            }
        }
    }
}

extension ByteBuffer {
    /// A buffer of `capacity` bytes filled by `body`, which returns how many it wrote.
    static func build(capacity: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { dst in
            try body(UnsafeMutableRawBufferPointer(rebasing: dst[0..<capacity]))
        }
        return buffer
    }
}
