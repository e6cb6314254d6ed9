import Glibc

/// The `restart:` section: exponential backoff for restarting a failed pipeline worker.
public struct RestartStrategy: Sendable, Equatable {
    /// Wait before the first restart.
    public var initialDelay: Duration
    /// Upper bound of the wait, however many failures there were.
    public var maxDelay: Duration
    /// Factor applied to the wait after each further failure (at least 1).
    public var multiplier: Double
    /// Restarts allowed before giving up; `nil` means unlimited.
    public var maxRestarts: Int?
    /// A worker that ran at least this long before it died was healthy: it is restarted at
    /// once and the count of failures starts over. One that dies sooner is in a crash loop, and
    /// only then do restarts wait (`initialDelay`, growing by `multiplier`).
    public var resetAfter: Duration

    /// Creates a strategy; every parameter defaults to the documented value.
    public init(
        initialDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(30),
        multiplier: Double = 2.0,
        maxRestarts: Int? = nil,
        resetAfter: Duration = .seconds(3)
    ) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.maxRestarts = maxRestarts
        self.resetAfter = resetAfter
    }

    // MARK: - Backoff

    /// What to do after a worker died having run `ranFor`, when `failures` workers before it
    /// died quickly in a row: the new count of quick failures, and the wait before the restart.
    /// A healthy worker's death costs no wait: recovery starts at once; a crash loop backs off.
    public func afterDeath(ranFor: Duration, failures: Int) -> (failures: Int, delay: Duration) {
        if ranFor >= resetAfter { return (0, .zero) }
        return (failures + 1, delay(afterFailures: failures + 1))
    }

    /// The wait before the restart that follows the `n`th consecutive failure:
    /// `initialDelay * multiplier^(n-1)`, capped at `maxDelay`; zero when `n < 1`.
    public func delay(afterFailures n: Int) -> Duration {
        guard n >= 1 else { return .zero }
        // Computed in floating point because the exponent can be large enough to overflow any
        // integer representation; the cap brings it back into range.
        let seconds = initialDelay.fractionalSeconds * pow(multiplier, Double(n - 1))
        guard seconds.isFinite, seconds < maxDelay.fractionalSeconds else { return maxDelay }
        return .seconds(seconds)
    }
}

extension Duration {
    /// The duration as fractional seconds, for the backoff's arithmetic and for messages.
    public var fractionalSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
