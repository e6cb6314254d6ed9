import CRC32C

/// Binary encoding of a ``CheckpointManifest`` into one self-verifying checkpoint file.
///
/// ## Format, version 2 (version 1 is read too: it lacks the layout block)
///
/// All integers are little endian. `string` is a u32 byte count followed by that many bytes
/// of UTF-8; `bytes` is a u32 byte count followed by that many raw bytes.
///
/// ```
/// offset   size  field
/// 0        8     magic "SLUICECK" (ASCII)
/// 8        4     u32 format version = 2
/// 12       8     u64 total file length in bytes, trailing checksum included
/// 20       8     u64 checkpoint id
/// 28       8     i64 creation time, milliseconds since the Unix epoch
/// 36       1     u8 kind: 0 = checkpoint, 1 = savepoint
///          var   string savepoint name            (only when kind = 1)
///          var   string pipeline name
///          4     u32 operator count
///          var   per operator: string operator name, string plugin, bytes state
///          4     u32 instance                      (version 2: the layout that wrote it)
///          4     u32 instance count
///          4     u32 parallelism (lanes per instance)
///          1     u8 flags: bit 0 = every sealed epoch of this savepoint was committed
/// len - 4  4     u32 CRC32C (Castagnoli) of bytes [0, len - 4)
/// ```
///
/// The recorded length detects a torn (truncated) file before anything else is trusted, and
/// the trailing CRC32C detects any single corrupted byte, since CRC-32C catches every burst
/// error up to 32 bits long. Decoding checks these before parsing the body, and the body
/// parser bounds-checks every read, so arbitrary bytes produce a ``CheckpointFormatError``
/// and never a crash.
///
/// Pure functions without shared state: any thread may call them.
public enum CheckpointCodec {
    // MARK: Layout constants

    /// The version this build writes; it reads this one and every earlier one.
    public static let formatVersion: UInt32 = 2
    static let flagEpochsCommitted: UInt8 = 1

    static let magic: [UInt8] = Array("SLUICECK".utf8)
    /// Magic, version and total length.
    static let headerSize = 8 + 4 + 8
    static let checksumSize = 4
    static let kindCheckpoint: UInt8 = 0
    static let kindSavepoint: UInt8 = 1

    // MARK: Encoding

    /// Encodes `manifest` as a complete checkpoint file. Any thread may call this.
    ///
    /// Traps if a single string or state exceeds 4 GiB, which the format cannot represent.
    public static func encode(_ manifest: CheckpointManifest) -> [UInt8] {
        var writer = CheckpointByteWriter(capacity: estimatedSize(of: manifest))
        writer.appendBytes(magic)
        writer.appendUInt32(formatVersion)
        let lengthOffset = writer.bytes.count
        writer.appendUInt64(0)  // patched below once the body size is known

        writer.appendUInt64(manifest.id)
        writer.appendInt64(manifest.createdAtMilliseconds)
        switch manifest.kind {
        case .checkpoint:
            writer.appendUInt8(kindCheckpoint)
        case let .savepoint(name):
            writer.appendUInt8(kindSavepoint)
            writer.appendString(name, named: "savepoint name")
        }
        writer.appendString(manifest.pipeline, named: "pipeline name")
        precondition(manifest.operators.count <= Int(UInt32.max), "too many operators for one checkpoint")
        writer.appendUInt32(UInt32(manifest.operators.count))
        for snapshot in manifest.operators {
            writer.appendString(snapshot.operatorName, named: "operator name")
            writer.appendString(snapshot.plugin, named: "plugin")
            writer.appendLengthPrefixed(snapshot.state, named: "operator state")
        }
        writer.appendUInt32(UInt32(manifest.layout.instance))
        writer.appendUInt32(UInt32(manifest.layout.instances))
        writer.appendUInt32(UInt32(manifest.layout.parallelism))
        writer.appendUInt8(manifest.epochsCommitted ? flagEpochsCommitted : 0)

        writer.patchUInt64(UInt64(writer.bytes.count + checksumSize), at: lengthOffset)
        writer.appendUInt32(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Upper bound of the encoded size, so the writer allocates once even for large states.
    private static func estimatedSize(of manifest: CheckpointManifest) -> Int {
        let fixed = headerSize + 8 + 8 + 1 + 4 + 4 + 4 + 4 + 13 + checksumSize
        var variable = manifest.pipeline.utf8.count
        if case let .savepoint(name) = manifest.kind { variable += name.utf8.count }
        for snapshot in manifest.operators {
            variable += 12 + snapshot.operatorName.utf8.count + snapshot.plugin.utf8.count + snapshot.state.count
        }
        return fixed + variable
    }
}
