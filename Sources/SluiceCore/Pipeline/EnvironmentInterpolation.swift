import Foundation

/// `${VAR}` substitution in scalar values, so one pipeline file can serve several environments
/// and keep secrets out of the file.
///
/// - `${VAR}` is the variable's value; it is an error when the variable is unset.
/// - `${VAR:-default}` is the value, or `default` (which may be empty) when the variable is
///   unset or empty, as in the shell.
/// - `$${` is a literal `${`; any other `$` is literal too.
enum EnvironmentInterpolation {
    /// Why a scalar could not be interpolated; the message is complete and safe to show (it
    /// names variables, never their values).
    struct Failure: Error, Equatable {
        var message: String
    }

    /// `text` with every reference replaced by its value from `environment`.
    static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        // Fast path: most scalars contain no "$" at all.
        guard text.contains("$") else { return .success(text) }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("${") {
                output += "${"
                rest = afterDollar.dropFirst(2)
            } else if afterDollar.hasPrefix("{") {
                guard let close = afterDollar.firstIndex(of: "}") else {
                    return .failure(Failure(message: "unterminated '${' in value; write '$${' for a literal '${'"))
                }
                let reference = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
                switch value(of: reference, environment: environment) {
                case let .success(value): output += value
                case let .failure(failure): return .failure(failure)
                }
                rest = afterDollar[afterDollar.index(after: close)...]
            } else {
                output += "$"
                rest = afterDollar
            }
        }
        output += rest
        return .success(output)
    }

    // MARK: - References

    /// The value of the text between `${` and `}`: `NAME` or `NAME:-default`.
    private static func value(of reference: Substring, environment: [String: String]) -> Result<String, Failure> {
        let name: Substring
        let fallback: Substring?
        if let separator = reference.range(of: ":-") {
            name = reference[..<separator.lowerBound]
            fallback = reference[separator.upperBound...]
        } else {
            name = reference
            fallback = nil
        }
        guard isVariableName(name) else {
            // The reference is not echoed: it may be part of a secret that merely contains "${".
            return .failure(Failure(message: "invalid '${...}' reference in value; write ${NAME} or "
                + "${NAME:-default} with NAME made of letters, digits and '_', or '$${' for a literal '${'"))
        }
        if let fallback {
            // Like the shell's ":-", an empty value counts as unset.
            if let value = environment[String(name)], !value.isEmpty { return .success(value) }
            return .success(String(fallback))
        }
        guard let value = environment[String(name)] else {
            return .failure(Failure(
                message: "environment variable \(name) is not set; set it or write ${\(name):-default}"
            ))
        }
        return .success(value)
    }

    /// Whether `name` is a portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    private static func isVariableName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
