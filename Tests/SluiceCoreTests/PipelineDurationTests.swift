import XCTest
import RestartPolicy
@testable import SluiceCore

/// Durations in the pipeline file and the restart backoff built on them.
final class PipelineDurationTests: XCTestCase, PipelineFileTesting {
    // MARK: - Parsing

    func testConfigValuesMeanSeconds() {
        // The grammar itself is ConfigDuration's (ConfigValuesTests).
        let here = SourceLocation(file: "f", line: 1, column: 1)
        XCTAssertEqual(Duration(configValue: .int(3, here)), .seconds(3))
        XCTAssertEqual(Duration(configValue: .double(0.5, here)), .milliseconds(500))
        XCTAssertEqual(Duration(configValue: .string("2m", here)), .seconds(120))
        XCTAssertNil(Duration(configValue: .int(-3, here)))
        XCTAssertNil(Duration(configValue: .bool(true, here)))
    }

    func testDurationsInPipelineFile() throws {
        let spec = try parse(replacing: "checkpointing: { directory: /tmp/x }", with: """
        checkpointing: { directory: /tmp/x, interval: 1.5s, timeout: 2 }
        restart: { initial_delay: 250ms, max_delay: 1h, reset_after: 0.5 }
        """)
        XCTAssertEqual(spec.checkpointing.interval, .milliseconds(1500))
        XCTAssertEqual(spec.checkpointing.timeout, .seconds(2))
        XCTAssertEqual(spec.restart.initialDelay, .milliseconds(250))
        XCTAssertEqual(spec.restart.maxDelay, .seconds(3600))
        XCTAssertEqual(spec.restart.resetAfter, .milliseconds(500))
    }

    func testOffIsOnlyAllowedForInterval() throws {
        let errors = try parseErrors(replacing: "checkpointing: { directory: /tmp/x }",
                                     with: "checkpointing: { directory: /tmp/x, timeout: off }")
        XCTAssertEqual(errors.map(\.message), [
            "timeout must be a positive duration such as 250ms, 5s, 2m or 1h, got 'off'",
        ])
    }

    // MARK: - Restart backoff

    func testDelayGrowsByMultiplierAndIsCappedAtMaxDelay() {
        let strategy = RestartStrategy(initialDelay: .seconds(1), maxDelay: .seconds(30), multiplier: 2)
        XCTAssertEqual((0...8).map { strategy.delay(afterFailures: $0) },
                       [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16),
                        .seconds(30), .seconds(30), .seconds(30)])
        XCTAssertEqual(strategy.delay(afterFailures: 10_000), .seconds(30))
    }

    func testAHealthyWorkersDeathIsRestartedAtOnceAndACrashLoopBacksOff() {
        let strategy = RestartStrategy(initialDelay: .seconds(1), maxDelay: .seconds(30), multiplier: 2, resetAfter: .seconds(3))
        // Killed after a long healthy run, even after earlier quick deaths: no wait, count reset.
        XCTAssertEqual(strategy.afterDeath(ranFor: .seconds(3600), failures: 0).delay, .zero)
        XCTAssertEqual(strategy.afterDeath(ranFor: .seconds(3), failures: 5).failures, 0)
        // Dying again soon after starting: a crash loop, backing off further each time.
        var failures = 0
        var delays: [Duration] = []
        for _ in 1...4 {
            let next = strategy.afterDeath(ranFor: .milliseconds(200), failures: failures)
            failures = next.failures
            delays.append(next.delay)
        }
        XCTAssertEqual(delays, [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        XCTAssertEqual(failures, 4)
    }

    func testMultiplierOfOneKeepsDelayConstant() {
        let strategy = RestartStrategy(initialDelay: .milliseconds(500), maxDelay: .seconds(30), multiplier: 1)
        XCTAssertEqual(strategy.delay(afterFailures: 1), .milliseconds(500))
        XCTAssertEqual(strategy.delay(afterFailures: 50), .milliseconds(500))
    }
}
