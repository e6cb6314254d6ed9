import ConfigValues

/// Durations in the pipeline file follow the one grammar every configuration shares
/// (`ConfigDuration`): a number of seconds, or "250ms", "5s", "2m", "1h", "1.5s".
extension Duration {
    /// The duration a config value stands for; nil for anything that is not one.
    init?(configValue: ConfigValue) {
        let parsed: ConfigDuration?
        switch configValue {
        case let .int(seconds, _): parsed = ConfigDuration(seconds: Double(seconds))
        case let .double(seconds, _): parsed = ConfigDuration(seconds: seconds)
        case let .string(text, _): parsed = ConfigDuration(text: text)
        default: parsed = nil
        }
        guard let parsed else { return nil }
        self = parsed.duration
    }
}
