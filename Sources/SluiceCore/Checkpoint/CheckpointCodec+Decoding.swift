import CRC32C

// MARK: - Decoding

extension CheckpointCodec {
    /// Decodes a checkpoint file produced by ``encode(_:)``. Any thread may call this.
    ///
    /// Checks run from cheapest and most telling to most detailed: signature, version, recorded
    /// length (a torn write shows up as ``CheckpointFormatError/truncated(expected:actual:)``),
    /// checksum, and only then the body, so a corrupted file is reported as corrupt rather than
    /// as whatever its damaged fields happen to look like.
    ///
    /// - Throws: ``CheckpointFormatError``; never traps, whatever `bytes` holds.
    public static func decode(_ bytes: [UInt8]) throws -> CheckpointManifest {
        let (totalLength, version) = try validateFrame(bytes)
        var reader = CheckpointByteReader(bytes, from: headerSize, to: totalLength - checksumSize)
        var manifest = try readBody(&reader)
        if version >= 2 { try readLayout(&reader, into: &manifest) }
        guard reader.remaining == 0 else {
            throw CheckpointFormatError.malformed("\(reader.remaining) unexpected bytes after the last operator at offset \(reader.position)")
        }
        return manifest
    }

    // MARK: Frame

    /// Checks signature, version, length and checksum; returns the validated total length and
    /// the format version.
    private static func validateFrame(_ bytes: [UInt8]) throws -> (length: Int, version: UInt32) {
        let signature = bytes.prefix(magic.count)
        guard signature.elementsEqual(magic.prefix(signature.count)) else {
            throw CheckpointFormatError.badMagic
        }
        guard bytes.count >= headerSize else {
            throw CheckpointFormatError.truncated(expected: headerSize, actual: bytes.count)
        }
        var header = CheckpointByteReader(bytes, from: magic.count, to: headerSize)
        let version = try header.readUInt32("format version")
        guard (1...formatVersion).contains(version) else {
            throw CheckpointFormatError.unsupportedVersion(version)
        }
        let recordedLength = try header.readUInt64("total length")
        // Smallest possible file: header, id, time, kind, empty pipeline name, zero operators, CRC.
        let minimumLength = headerSize + 8 + 8 + 1 + 4 + 4 + checksumSize
        guard recordedLength >= UInt64(minimumLength) else {
            throw CheckpointFormatError.malformed("recorded length \(recordedLength) is below the minimum of \(minimumLength) bytes")
        }
        guard recordedLength <= UInt64(bytes.count) else {
            throw CheckpointFormatError.truncated(expected: Int(clamping: recordedLength), actual: bytes.count)
        }
        let totalLength = Int(recordedLength)
        guard totalLength == bytes.count else {
            throw CheckpointFormatError.malformed("\(bytes.count - totalLength) bytes follow the recorded end of file at offset \(totalLength)")
        }

        let checksumOffset = totalLength - checksumSize
        var trailer = CheckpointByteReader(bytes, from: checksumOffset, to: totalLength)
        let stored = try trailer.readUInt32("checksum")
        let computed = CRC32C.checksum(bytes[0..<checksumOffset])
        guard stored == computed else {
            throw CheckpointFormatError.checksumMismatch(stored: stored, computed: computed)
        }
        return (totalLength, version)
    }

    // MARK: Body

    private static func readBody(_ reader: inout CheckpointByteReader) throws -> CheckpointManifest {
        let id = try reader.readUInt64("checkpoint id")
        let createdAt = try reader.readInt64("creation time")
        let kind: CheckpointKind
        switch try reader.readUInt8("kind") {
        case kindCheckpoint:
            kind = .checkpoint
        case kindSavepoint:
            kind = .savepoint(name: try reader.readString("savepoint name"))
        case let other:
            throw CheckpointFormatError.malformed("unknown kind \(other) at offset \(reader.position - 1)")
        }
        let pipeline = try reader.readString("pipeline name")
        let operatorCount = try reader.readUInt32("operator count")

        var operators: [OperatorSnapshot] = []
        // Every operator takes at least three u32 length prefixes, so a forged count cannot
        // make this reserve more than the input could describe.
        operators.reserveCapacity(min(Int(operatorCount), reader.remaining / 12))
        for index in 0..<Int(operatorCount) {
            let name = try reader.readString("operator \(index) name")
            let plugin = try reader.readString("operator \(index) plugin")
            let state = try reader.readBytes("operator \(index) state")
            operators.append(OperatorSnapshot(operatorName: name, plugin: plugin, state: state))
        }
        return CheckpointManifest(
            id: id,
            pipeline: pipeline,
            kind: kind,
            createdAtMilliseconds: createdAt,
            operators: operators
        )
    }

    /// Version 2's layout block; a version 1 file was written by one instance with one lane.
    private static func readLayout(_ reader: inout CheckpointByteReader, into manifest: inout CheckpointManifest) throws {
        let instance = Int(try reader.readUInt32("instance"))
        let instances = Int(try reader.readUInt32("instance count"))
        let parallelism = Int(try reader.readUInt32("parallelism"))
        let flags = try reader.readUInt8("flags")
        guard instances >= 1, instance < instances, parallelism >= 1 else {
            throw CheckpointFormatError.malformed("layout instance \(instance) of \(instances) with parallelism \(parallelism) is impossible")
        }
        guard flags & ~flagEpochsCommitted == 0 else {
            throw CheckpointFormatError.malformed("unknown flags \(flags)")
        }
        manifest.layout = PipelineLayout(instance: instance, instances: instances, parallelism: parallelism)
        manifest.epochsCommitted = flags & flagEpochsCommitted != 0
    }
}
