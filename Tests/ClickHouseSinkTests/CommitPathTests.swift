import XCTest
@testable import ClickHouseSink

/// The commit path chosen for each server and table, and the settings every INSERT carries:
/// what the exactly-once path relies on is set explicitly, whatever the server's defaults.
final class CommitPathTests: XCTestCase {
    let mergeTree = CommitPath.TableFacts(engine: "MergeTree", createQuery: "CREATE TABLE t (x Int64) ENGINE = MergeTree ORDER BY x", serverWindow: 0)

    func testPathByServerAndTable() {
        XCTAssertEqual(choose("18.16.1", nil), .queryLog)
        XCTAssertEqual(choose("22.1.3.7", mergeTree), .queryLog, "before 22.2 there is no token")
        XCTAssertEqual(choose("22.2.2.1", mergeTree), .queryLog, "window 0: MergeTree keeps no block ids")
        var windowed = mergeTree
        windowed.createQuery += " SETTINGS non_replicated_deduplication_window = 100, index_granularity = 8192"
        XCTAssertEqual(choose("24.8.4.13", windowed), .deduplicationToken)
        var serverWindow = mergeTree
        serverWindow.serverWindow = 1000
        XCTAssertEqual(choose("26.2.1.1", serverWindow), .deduplicationToken)
        XCTAssertEqual(choose("24.3.1", .init(engine: "ReplicatedMergeTree", createQuery: "", serverWindow: 0)), .deduplicationToken)
        XCTAssertEqual(choose("24.3.1", .init(engine: "Log", createQuery: "", serverWindow: nil)), .queryLog)
    }

    func testSettingsOn18_16HaveNoSettingTheServerDoesNotKnow() {
        let settings = CommitPath.insertSettings(queryID: "q", version: [18, 16, 1], exactlyOnce: true, path: .queryLog)
        XCTAssertEqual(settings, ["query_id": "q", "log_queries": "1"])
    }

    func testSettingsOn22WithTheToken() {
        let settings = CommitPath.insertSettings(queryID: "q", version: [22, 8, 5], exactlyOnce: true, path: .deduplicationToken)
        XCTAssertEqual(settings, ["query_id": "q", "async_insert": "0", "insert_deduplication_token": "q", "insert_deduplicate": "1"])
    }

    func testSettingsOn24OnTheQueryLogPath() {
        let settings = CommitPath.insertSettings(queryID: "q", version: [24, 8, 4], exactlyOnce: true, path: .queryLog)
        XCTAssertEqual(settings, ["query_id": "q", "async_insert": "0", "log_queries": "1"])
    }

    func testSettingsOn26TurnAsyncInsertOffExplicitly() {
        // async_insert is on by default since 26.2; an async insert is acknowledged before it is
        // written, and async inserts with tokens have lost data (ClickHouse#111031).
        let token = CommitPath.insertSettings(queryID: "q", version: [26, 2, 1], exactlyOnce: true, path: .deduplicationToken)
        XCTAssertEqual(token["async_insert"], "0")
        XCTAssertEqual(token["insert_deduplicate"], "1")
        XCTAssertEqual(token["insert_deduplication_token"], "q")
        let atLeastOnce = CommitPath.insertSettings(queryID: "q", version: [26, 9, 1], exactlyOnce: false, path: .deduplicationToken)
        XCTAssertEqual(atLeastOnce, ["query_id": "q", "async_insert": "0"])
    }

    func testVersionParsing() {
        XCTAssertEqual(CommitPath.parseVersion("18.16.1"), [18, 16, 1])
        XCTAssertEqual(CommitPath.parseVersion("26.2.1.1-stable"), [26, 2, 1])
        XCTAssertEqual(CommitPath.tableSetting("non_replicated_deduplication_window", in: "SETTINGS non_replicated_deduplication_window = 42"), 42)
    }

    private func choose(_ version: String, _ facts: CommitPath.TableFacts?) -> CommitPath {
        CommitPath.choose(version: CommitPath.parseVersion(version), versionText: version, table: "db.t", facts: facts).0
    }
}
