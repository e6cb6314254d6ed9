import RestartPolicy
import XCTest
@testable import ProcessSupervision

/// The command line `sluice run` writes for `sluice-supervisor` reads back as written.
final class SupervisorArgumentsTests: XCTestCase {
    func testEveryFieldRoundTrips() throws {
        let written = SupervisorArguments(
            restart: RestartStrategy(initialDelay: .milliseconds(250), maxDelay: .seconds(3600), multiplier: 1.5,
                                     maxRestarts: 7, resetAfter: .nanoseconds(1_500_000_001)),
            firstStart: ["--from-savepoint", "before upgrade"],
            rerun: ["/opt/sluice/bin/sluice", "run", "p.yaml", "--watch", "--instance", "0/1"],
            worker: ["/opt/sluice/bin/sluice", "worker", "p.yaml", "--", "--first", ""])
        XCTAssertEqual(try SupervisorArguments.decode(written.encoded()), written)
    }

    func testDefaultsWithoutWatchOrSavepoint() throws {
        let written = SupervisorArguments(restart: RestartStrategy(), worker: ["/bin/sluice", "worker", "p.yaml"])
        let read = try SupervisorArguments.decode(written.encoded())
        XCTAssertEqual(read, written)
        XCTAssertNil(read.rerun)
        XCTAssertNil(read.restart.maxRestarts)
    }

    func testWrongCommandLinesAreRefusedWithTheReason() {
        func refusal(_ arguments: [String]) -> String {
            do {
                _ = try SupervisorArguments.decode(arguments)
                return "accepted"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(refusal(["--initial-delay-ns", "1"]), "no worker command (expected -- WORKER ARG...)")
        XCTAssertEqual(refusal(["--"]), "no worker command after --")
        XCTAssertEqual(refusal(["--multiplier", "0.5", "--", "w"]), "--multiplier '0.5' is not a number of at least 1")
        XCTAssertEqual(refusal(["--max-delay-ns", "-3", "--", "w"]), "--max-delay-ns '-3' is not a count of nanoseconds")
        XCTAssertEqual(refusal(["--max-restarts"]), "--max-restarts needs a value")
        XCTAssertEqual(refusal(["--watch", "--", "w"]), "unknown argument '--watch'")
    }
}
