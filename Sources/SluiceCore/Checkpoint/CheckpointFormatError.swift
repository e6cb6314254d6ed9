/// Why bytes could not be decoded as a checkpoint file.
///
/// A value type; any thread may use it.
public enum CheckpointFormatError: Error, Equatable, CustomStringConvertible {
    /// The file is shorter than its header or its recorded length says: typically a torn write.
    case truncated(expected: Int, actual: Int)
    /// The file does not start with `SLUICECK`; it is not a checkpoint file.
    case badMagic
    /// Written by a format version this build cannot read.
    case unsupportedVersion(UInt32)
    /// The bytes changed after they were written (disk or copy corruption).
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// The checksum matched but the content is inconsistent; only a writer bug produces this.
    case malformed(String)

    public var description: String {
        switch self {
        case let .truncated(expected, actual):
            return "truncated checkpoint file: expected \(expected) bytes, found \(actual) (torn or partial write)"
        case .badMagic:
            return "not a checkpoint file: missing the SLUICECK signature"
        case let .unsupportedVersion(version):
            return "unsupported checkpoint format version \(version) (this build reads version \(CheckpointCodec.formatVersion))"
        case let .checksumMismatch(stored, computed):
            return "checkpoint file is corrupt: stored CRC32C \(hex(stored)) but content hashes to \(hex(computed))"
        case let .malformed(detail):
            return "malformed checkpoint file: \(detail)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
