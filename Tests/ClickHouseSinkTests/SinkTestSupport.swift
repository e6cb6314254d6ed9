import Foundation
import PluginTestSupport
@_exported import ServiceTestSupport
import XCTest
@testable import ClickHouseSink
import PluginKit

/// Log lines the sinks of a test wrote through the host API, across instances.
enum CapturedLog {
    static let shared = CapturedLines()
}

/// Decodes and validates a sink configuration from JSON, as the host hands it over.
func sinkConfig(_ json: String) throws -> ClickHouseSink.Config {
    let config = try decodedSinkConfig(json)
    try ClickHouseSink.validate(config)
    return config
}

/// Decodes a sink configuration without validating it.
func decodedSinkConfig(_ json: String) throws -> ClickHouseSink.Config {
    try JSONDecoder().decode(ClickHouseSink.Config.self, from: Data(json.utf8))
}
