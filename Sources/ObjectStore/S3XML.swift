import Foundation

/// The little of S3's XML answers the client reads: the text of elements by name, in document
/// order, entities decoded. S3's answers are flat enough (ListBucketResult's Contents, Error's
/// Code and Message, InitiateMultipartUploadResult's UploadId) that no general parser is needed.
enum S3XML {
    /// The texts of every `<name>...</name>` element in `xml`, in order.
    static func values(_ name: String, in xml: Substring) -> [String] {
        sections(name, in: xml).map(decode)
    }

    static func value(_ name: String, in xml: Substring) -> String? { values(name, in: xml).first }

    /// The sections `<name>...</name>` themselves (for repeated groups such as Contents).
    static func sections(_ name: String, in xml: Substring) -> [Substring] {
        var found: [Substring] = []
        let open = "<\(name)>", close = "</\(name)>"
        var rest = xml[...]
        while let start = rest.range(of: open) {
            guard let end = rest[start.upperBound...].range(of: close) else { break }
            found.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return found
    }

    /// An ISO 8601 time as S3 and STS write it ("2026-11-27T02:40:21.000Z", fractions optional).
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// XML's five entities and numeric character references.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == "&", let semicolon = text[i...].firstIndex(of: ";") {
                let entity = text[text.index(after: i)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = UnicodeScalar(code) { replacement = String(scalar) }
                    else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = UnicodeScalar(code) { replacement = String(scalar) }
                }
                if let replacement {
                    out += replacement
                    i = text.index(after: semicolon)
                    continue
                }
            }
            out.append(text[i])
            i = text.index(after: i)
        }
        return out
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
