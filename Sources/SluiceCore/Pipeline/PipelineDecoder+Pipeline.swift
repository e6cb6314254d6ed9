import Foundation

/// Decoding the top level of a pipeline file.
extension PipelineDecoder {
    /// The keys a pipeline file may have at the top level.
    static let topLevelKeys = [
        "name", "source", "transforms", "sink", "dead_letter", "checkpointing", "restart", "queue_capacity",
        "chain_transforms", "parallelism", "admin", "status_interval",
    ]

    /// The pipeline `root` describes, with placeholders where it has errors; `nil` when `root`
    /// is not a mapping, since nothing else can be checked then.
    mutating func decodePipeline(_ root: ConfigValue, file: String) -> PipelineSpec? {
        guard let top = section(root, name: "the pipeline file", keyLocation: nil, knownKeys: Self.topLevelKeys) else {
            return nil
        }
        let name = string("name", in: top, required: true)
        if !name.isEmpty, let value = top["name"] { checkName(name, key: "name", value: value) }

        let source = requiredOperator("source", role: .source, in: top)
        let transforms = transforms(in: top)
        let sink = requiredOperator("sink", role: .sink, in: top)
        let deadLetter = top.entries.first { $0.key == "dead_letter" }.map {
            decodeOperator($0.value, role: .deadLetter, sectionName: "dead_letter", keyLocation: $0.keyLocation)
        }
        checkUniqueNames([source] + transforms + [sink] + (deadLetter.map { [$0] } ?? []))

        let checkpointing = checkpointSettings(in: top)
        let restart = restartStrategy(in: top)
        let queueCapacity = integer("queue_capacity", in: top, range: 1...65536, rangeText: "from 1 to 65536",
                                    fallback: PipelineSpec.defaultQueueCapacity)
        let chainTransforms = boolean("chain_transforms", in: top, fallback: false)
        let parallelism = integer("parallelism", in: top, range: 1...256, rangeText: "from 1 to 256", fallback: 1)
        let admin = adminSettings(in: top)
        let statusInterval = duration("status_interval", in: top, positive: true, fallback: PipelineSpec.defaultStatusInterval)
        return PipelineSpec(
            name: name,
            source: source.spec,
            transforms: transforms.map(\.spec),
            sink: sink.spec,
            deadLetter: deadLetter?.spec,
            checkpointing: checkpointing,
            restart: restart,
            queueCapacity: queueCapacity,
            chainTransforms: chainTransforms,
            parallelism: parallelism,
            admin: admin,
            statusInterval: statusInterval,
            file: file
        )
    }

    // MARK: - Names

    /// Reports a pipeline or operator name that is not usable in file names and metrics
    /// (`SafeName`, the one rule for names).
    mutating func checkName(_ name: String, key: String, value: ConfigValue) {
        if !SafeName.isValid(name) {
            reportInvalid(key, value, expected: "1 to \(SafeName.maximumLength) of A-Z a-z 0-9 _ . - (ASCII), not starting with a dot")
        }
    }

    /// Reports every operator whose name an earlier operator already uses.
    private mutating func checkUniqueNames(_ operators: [(spec: OperatorSpec, nameLocation: SourceLocation)]) {
        var firstUse: [String: (label: String, location: SourceLocation)] = [:]
        for entry in operators {
            let name = entry.spec.name
            if let first = firstUse[name] {
                report("duplicate operator name '\(name)': \(first.label) at \(first.location) already uses it; "
                       + "give each operator a unique 'name:'", at: entry.nameLocation)
            } else {
                firstUse[name] = (entry.spec.label, entry.nameLocation)
            }
        }
    }

    // MARK: - Operator sections

    /// The operator under the required top-level `key`.
    private mutating func requiredOperator(
        _ key: String, role: OperatorRole, in top: Section
    ) -> (spec: OperatorSpec, nameLocation: SourceLocation) {
        guard let entry = top.entries.first(where: { $0.key == key }) else {
            reportMissing(key, in: top)
            // A placeholder that keeps decoding going; the error stops it from being used.
            let placeholder = OperatorSpec(role: role, name: role.defaultName, plugin: "",
                                           pluginLocation: top.location, config: .object([], top.location))
            return (placeholder, top.location)
        }
        return decodeOperator(entry.value, role: role, sectionName: key, keyLocation: entry.keyLocation)
    }

    /// The operators of the optional `transforms:` list.
    private mutating func transforms(in top: Section) -> [(spec: OperatorSpec, nameLocation: SourceLocation)] {
        guard let value = top["transforms"] else { return [] }
        switch value {
        case .null:
            return []
        case let .array(items, _):
            return items.enumerated().map { index, item in
                decodeOperator(item, role: .transform(index + 1), sectionName: "transforms item \(index + 1)",
                               keyLocation: nil)
            }
        default:
            reportInvalid("transforms", value, expected: "a list")
            return []
        }
    }
}
