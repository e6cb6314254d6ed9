/// The one rule for names that become file names, metric labels and URL parts: pipeline,
/// operator and savepoint names, and the plugin part of a state folder.
///
/// 1 to 128 characters from `A-Z a-z 0-9 _ . -`, not starting with a dot: such a name can
/// neither escape its directory nor collide with hidden temporary files, and it reads the same
/// in every log, metric and path. ASCII only, so no two spellings of one name (Unicode
/// normalization) can exist side by side.
public enum SafeName {
    public static let maximumLength = 128

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumLength && !name.hasPrefix(".") && name.utf8.allSatisfy(isAllowed)
    }

    /// Why `name`, a `what` ("savepoint", "operator"), is refused, or nil when it is fine.
    public static func problem(_ name: String, describing what: String) -> String? {
        isValid(name) ? nil : "invalid \(what) name \"\(name)\": use 1 to \(maximumLength) characters from A-Z a-z 0-9 _ . - and do not start with a dot"
    }

    /// `text` with every character outside the rule replaced by `_` (and cut to the maximum
    /// length): a plugin's name as part of a folder name.
    public static func sanitized(_ text: String) -> String {
        let bytes = text.utf8.prefix(maximumLength).map { isAllowed($0) ? $0 : UInt8(ascii: "_") }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.hasPrefix(".") ? "_" + name.dropFirst() : name.isEmpty ? "_" : name
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
