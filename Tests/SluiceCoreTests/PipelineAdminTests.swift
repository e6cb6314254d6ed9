import XCTest
@testable import SluiceCore

/// The `admin:` section, `status_interval`, and parsing a lone sink block for a swap.
final class PipelineAdminTests: XCTestCase, PipelineFileTesting {
    func testAdminIsOffByDefaultAndDefaultsToLoopback() throws {
        XCTAssertNil(try parse(replacing: "name: p", with: "name: p").admin)
        let admin = try XCTUnwrap(try parse(replacing: "name: p", with: "name: p\nadmin: {}").admin)
        XCTAssertEqual(admin.address, "127.0.0.1:7464")
        XCTAssertEqual(admin.tokenEnvironment, "SLUICE_ADMIN_TOKEN")
        XCTAssertNil(admin.tokenFile)
        XCTAssertEqual(admin.hostAndPort?.host, "127.0.0.1")
        XCTAssertEqual(admin.hostAndPort?.port, 7464)
    }

    func testAdminSettingsAndStatusInterval() throws {
        let spec = try parse(replacing: "name: p", with: "name: p\nadmin: { address: \"[::1]:9000\", token_file: /run/t }\nstatus_interval: 2s")
        XCTAssertEqual(spec.admin?.hostAndPort?.host, "::1")
        XCTAssertEqual(spec.admin?.hostAndPort?.port, 9000)
        XCTAssertEqual(spec.admin?.tokenFile, "/run/t")
        XCTAssertEqual(spec.statusInterval, .seconds(2))
    }

    func testBadAdminAddressAndUnknownKeyAreLocated() throws {
        let errors = try parseErrors(replacing: "name: p", with: "name: p\nadmin: { address: nowhere, tokn_env: X }")
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:2:19: address must be host:port, such as 127.0.0.1:7464, got 'nowhere'",
            "p.yaml:2:28: unknown key 'tokn_env' in admin; did you mean 'token_env'? Known keys: address, token_env, token_file",
        ])
    }

    func testSinkBlockForASwap() throws {
        let whole = try PipelineLoader.parseOperator(yaml: "plugin: file-sink\nconfig: { directory: /x }", file: "b.yaml", plugin: nil,
                                                     role: .sink, name: "out", environment: [:])
        XCTAssertEqual(whole.plugin, "file-sink")
        XCTAssertEqual(whole.name, "out", "the operator keeps its name")
        XCTAssertEqual(whole.configJSON, #"{"directory":"/x"}"#)

        let configOnly = try PipelineLoader.parseOperator(yaml: "directory: ${DIR}", file: "c.yaml", plugin: "file-sink",
                                                          role: .sink, name: "out", environment: ["DIR": "/y"])
        XCTAssertEqual(configOnly.plugin, "file-sink")
        XCTAssertEqual(configOnly.configJSON, #"{"directory":"/y"}"#)

        XCTAssertThrowsError(try PipelineLoader.parseOperator(yaml: "directory: /z", file: "d.yaml", plugin: nil, role: .sink,
                                                              name: "out", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("no plugin given"), "\(error)")
        }
        XCTAssertThrowsError(try PipelineLoader.parseOperator(yaml: "plugin: x\nconfg: {}", file: "e.yaml", plugin: nil, role: .sink,
                                                              name: "out", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("e.yaml:2:1: unknown key 'confg'"), "\(error)")
        }
    }
}
