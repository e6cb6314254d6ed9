import RestartPolicy

/// Decoding the `checkpointing:` and `restart:` sections.
extension PipelineDecoder {
    /// The keys of `checkpointing:`.
    static let checkpointKeys = ["interval", "directory", "retained", "mode", "timeout", "s3", "local_directory"]
    /// The keys of `checkpointing.s3:`.
    static let objectStoreKeys = ["endpoint", "region", "path_style"]
    /// The keys of `restart:`.
    static let restartKeys = ["initial_delay", "max_delay", "multiplier", "max_restarts", "reset_after"]
    /// The keys of `admin:`.
    static let adminKeys = ["address", "token_env", "token_file"]

    // MARK: - Admin

    /// The optional `admin:` section; nil when absent.
    mutating func adminSettings(in top: Section) -> AdminSettings? {
        guard let entry = top.entries.first(where: { $0.key == "admin" }),
              let section = section(entry.value, name: "admin", keyLocation: entry.keyLocation, knownKeys: Self.adminKeys)
        else { return nil }
        let settings = AdminSettings(
            address: string("address", in: section, required: false, fallback: AdminSettings.defaultAddress),
            tokenEnvironment: string("token_env", in: section, required: false, fallback: AdminSettings.defaultTokenEnvironment),
            tokenFile: section["token_file"] == nil ? nil : string("token_file", in: section, required: false))
        if settings.hostAndPort == nil, let value = section["address"] {
            reportInvalid("address", value, expected: "host:port, such as 127.0.0.1:7464")
        }
        return settings
    }

    // MARK: - Checkpointing

    /// The required `checkpointing:` section.
    mutating func checkpointSettings(in top: Section) -> CheckpointSettings {
        guard let entry = top.entries.first(where: { $0.key == "checkpointing" }) else {
            reportMissing("checkpointing", in: top)
            return CheckpointSettings(directory: "")
        }
        guard let section = section(entry.value, name: "checkpointing", keyLocation: entry.keyLocation,
                                    knownKeys: Self.checkpointKeys)
        else { return CheckpointSettings(directory: "") }

        let defaults = CheckpointSettings(directory: "")
        let interval: Duration?
        if case .string("off", _)? = section["interval"] {
            interval = nil
        } else {
            interval = duration("interval", in: section, positive: true, alternatives: ", or off",
                                fallback: CheckpointSettings.defaultInterval)
        }
        let directory = string("directory", in: section, required: true)
        return CheckpointSettings(
            interval: interval,
            directory: directory,
            retained: integer("retained", in: section, range: 1...Int.max, rangeText: ">= 1",
                              fallback: defaults.retained),
            mode: choice("mode", in: section, fallback: defaults.mode),
            timeout: duration("timeout", in: section, positive: true, fallback: defaults.timeout),
            objectStore: objectStoreSettings(in: section, directory: directory),
            localDirectory: section["local_directory"] == nil ? nil : string("local_directory", in: section, required: false)
        )
    }

    /// `checkpointing.s3`, which only an `s3://` directory may have; an `s3://` directory
    /// without it takes every setting from the environment.
    private mutating func objectStoreSettings(in checkpointing: Section, directory: String) -> ObjectStoreSettings? {
        let isObjectStore = directory.hasPrefix("s3://")
        if directory.contains("://") && !isObjectStore, let value = checkpointing["directory"] {
            reportInvalid("directory", value, expected: "a local path or an s3://bucket/prefix URL")
        }
        if isObjectStore, let value = checkpointing["directory"] {
            let bucket = directory.dropFirst("s3://".count).prefix { $0 != "/" }
            if bucket.isEmpty || !bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }) {
                reportInvalid("directory", value, expected: "s3://bucket/prefix with a bucket name of lowercase letters, digits, '-' and '.'")
            }
        }
        guard let entry = checkpointing.entries.first(where: { $0.key == "s3" }) else {
            return isObjectStore ? ObjectStoreSettings() : nil
        }
        guard isObjectStore else {
            report("checkpointing.s3 applies only to an s3:// directory; remove it or set directory: s3://bucket/prefix", at: entry.keyLocation)
            return nil
        }
        guard let section = section(entry.value, name: "checkpointing.s3", keyLocation: entry.keyLocation, knownKeys: Self.objectStoreKeys) else {
            return ObjectStoreSettings()
        }
        var settings = ObjectStoreSettings()
        if section["endpoint"] != nil {
            let endpoint = string("endpoint", in: section, required: false)
            if !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")), let value = section["endpoint"] {
                reportInvalid("endpoint", value, expected: "an http(s)://host[:port] URL")
            }
            settings.endpoint = endpoint
        }
        if section["region"] != nil { settings.region = string("region", in: section, required: false) }
        if let value = section["path_style"] {
            if case let .bool(flag, _) = value { settings.pathStyle = flag } else { reportInvalid("path_style", value, expected: "true or false") }
        }
        return settings
    }

    // MARK: - Restart

    /// The optional `restart:` section.
    mutating func restartStrategy(in top: Section) -> RestartStrategy {
        let defaults = RestartStrategy()
        guard let entry = top.entries.first(where: { $0.key == "restart" }),
              let section = section(entry.value, name: "restart", keyLocation: entry.keyLocation,
                                    knownKeys: Self.restartKeys)
        else { return defaults }

        let strategy = RestartStrategy(
            initialDelay: duration("initial_delay", in: section, positive: false, fallback: defaults.initialDelay),
            maxDelay: duration("max_delay", in: section, positive: false, fallback: defaults.maxDelay),
            multiplier: number("multiplier", in: section, minimum: 1, rangeText: ">= 1", fallback: defaults.multiplier),
            maxRestarts: section["max_restarts"].map { _ in
                integer("max_restarts", in: section, range: 0...Int.max, rangeText: ">= 0", fallback: 0)
            },
            resetAfter: duration("reset_after", in: section, positive: false, fallback: defaults.resetAfter)
        )
        // The backoff only grows, so a cap below the first delay would make no sense.
        if strategy.maxDelay < strategy.initialDelay {
            report("max_delay must not be shorter than initial_delay",
                   at: section["max_delay"]?.location ?? section.location)
        }
        return strategy
    }
}
