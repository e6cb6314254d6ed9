/// The checkpoint state of a two-phase-commit sink that has nothing else to keep: the ids of
/// its sealed, uncommitted epochs, ascending, each as 8 bytes little endian.
public enum PendingEpochs {
    public static func encode(_ epochs: [UInt64]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(epochs.count * 8)
        for epoch in epochs { withUnsafeBytes(of: epoch.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// `sink` names the plugin in the error for a state that is not a list of ids.
    public static func decode(_ bytes: [UInt8], sink: String) throws -> [UInt64] {
        guard bytes.count % 8 == 0 else {
            throw PluginError("the \(sink) state in this checkpoint has \(bytes.count) bytes, not a multiple of 8: it is not a list of epochs")
        }
        return stride(from: 0, to: bytes.count, by: 8).map { start in
            (0..<8).reduce(UInt64(0)) { value, byte in value | UInt64(bytes[start + byte]) << (8 * UInt64(byte)) }
        }
    }
}
