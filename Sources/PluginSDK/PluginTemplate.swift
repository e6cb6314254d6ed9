/// The skeletons `sluice plugins new` writes: a plugin of one kind in one language, with its
/// build file, the header or its bindings, a README and a test that runs `sluice plugins check`.
///
/// Templates are text with `{{name}}`, `{{ident}}`, `{{Type}}` and `{{kind}}` placeholders and
/// line-level kind sections: `{{#sink}}` ... `{{/sink}}` keeps its lines for sinks only,
/// `{{^sink}}` ... `{{/sink}}` for every other kind. Pure.
public enum PluginTemplate {
    public enum Language: String, CaseIterable, Sendable { case c, cpp, rust, swift }
    public enum Kind: String, CaseIterable, Sendable { case source, transform, sink }

    public struct File: Equatable, Sendable {
        public let path: String
        public let contents: String
        public let executable: Bool
    }

    public struct TemplateError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Why `name` cannot name a plugin, or nil: lowercase letters, digits and '-', starting
    /// with a letter (it becomes a file name, a C identifier and a Rust crate name).
    public static func nameProblem(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else {
            return "a plugin name starts with a lowercase letter"
        }
        guard name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }),
              !name.hasSuffix("-"), !name.contains("--") else {
            return "a plugin name has lowercase letters, digits and single '-' between them (e.g. my-sink)"
        }
        return name.count <= 64 ? nil : "a plugin name has at most 64 characters"
    }

    /// `my-sink` -> `my_sink`.
    static func identifier(_ name: String) -> String { name.replacingAll("-", with: "_") }

    /// `my-sink` -> `MySink`.
    static func typeName(_ name: String) -> String {
        name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The files of a new plugin, paths relative to its folder.
    public static func files(name: String, kind: Kind, language: Language) throws -> [File] {
        if let problem = nameProblem(name) { throw TemplateError(description: "'\(name)': \(problem)") }
        var files = try TemplateManifest.templates(for: language).map { template in
            File(path: template.path, contents: try render(template.text, name: name, kind: kind),
                 executable: template.path.hasSuffix(".sh"))
        }
        if let headerPath = TemplateManifest.headerPath(for: language) {
            files.append(File(path: headerPath, contents: PluginHeader.text, executable: false))
        }
        return files
    }

    /// Fills placeholders and keeps the sections that apply to `kind`.
    public static func render(_ text: String, name: String, kind: Kind) throws -> String {
        var output: [Substring] = []
        var section: (kind: String, keep: Bool, line: Int)?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingSpaces()
            if trimmed.hasPrefix("{{#") || trimmed.hasPrefix("{{^"), trimmed.hasSuffix("}}") {
                let sectionKind = String(trimmed.dropFirst(3).dropLast(2))
                guard Kind(rawValue: sectionKind) != nil else { throw TemplateError(description: "line \(number + 1): unknown section '\(sectionKind)'") }
                guard section == nil else { throw TemplateError(description: "line \(number + 1): sections do not nest (one opened on line \(section!.line))") }
                let matches = sectionKind == kind.rawValue
                section = (sectionKind, trimmed.hasPrefix("{{#") ? matches : !matches, number + 1)
                continue
            }
            if trimmed.hasPrefix("{{/"), trimmed.hasSuffix("}}") {
                let sectionKind = String(trimmed.dropFirst(3).dropLast(2))
                guard let open = section, open.kind == sectionKind else {
                    throw TemplateError(description: "line \(number + 1): {{/\(sectionKind)}} closes no open section")
                }
                section = nil
                continue
            }
            if section?.keep == false { continue }
            output.append(line)
        }
        if let section { throw TemplateError(description: "the section opened on line \(section.line) is never closed") }
        return output.joined(separator: "\n")
            .replacingAll("{{name}}", with: name)
            .replacingAll("{{ident}}", with: identifier(name))
            .replacingAll("{{Type}}", with: typeName(name))
            .replacingAll("{{kind}}", with: kind.rawValue)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation in this module).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    /// The first range of `target` (no Foundation in this module).
    fileprivate func range(of target: String) -> Range<Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
