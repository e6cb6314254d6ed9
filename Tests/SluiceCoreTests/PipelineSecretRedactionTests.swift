import XCTest
@testable import SluiceCore

/// Secrets in config never appear in messages or logged JSON.
final class PipelineSecretRedactionTests: XCTestCase, PipelineFileTesting {
    func testSecretKeysAreRecognised() {
        for key in ["password", "PASSWORD", "passwd", "token", "access_token", "secret", "client-secret", "api_key",
                    "apikey", "apiKey", "api-key", "credential", "credentials", "private_key", "clickhouse_password",
                    "ClickhousePassword"] {
            XCTAssertTrue(SecretRedaction.isSecretKey(key), key)
        }
        for key in ["user", "directory", "password_file_mode_hint", "tokenizer", "count"] {
            XCTAssertFalse(SecretRedaction.isSecretKey(key), key)
        }
    }

    func testRedactedJSONHidesSecretValuesAtAnyDepth() throws {
        let spec = try parse(replacing: "sink: { plugin: out }", with: """
        sink:
          plugin: out
          config:
            user: admin
            clickhouse_password: hunter2
            auth: { token: [abc, def], region: eu }
        """)
        XCTAssertEqual(SecretRedaction.redactedJSON(spec.sink.config),
                       #"{"user":"admin","clickhouse_password":"***","auth":{"token":"***","region":"eu"}}"#)
        // The plugin itself still gets the real values.
        XCTAssertTrue(spec.sink.configJSON.contains("hunter2"))
    }

    func testWrongTypedSecretIsNotPrintedBySchemaErrors() throws {
        let spec = try parse(replacing: "sink: { plugin: out }",
                             with: "sink: { plugin: out, config: { password: [1], token: 'swordfish', api_key: 's3cr3t' } }")
        let schema = """
        { "type": "object", "properties": {
            "password": { "type": "string" },
            "token": { "type": "string", "enum": ["a", "b"] },
            "api_key": { "type": "string", "minLength": 10 } } }
        """
        let errors = ConfigSchemaValidator.validate(spec.sink.config, schemaJSON: schema, operatorName: spec.sink.label)
        XCTAssertEqual(errors.map(\.message), [
            "sink 'sink': 'password' must be string, got array",
            "sink 'sink': 'token' must be one of 'a', 'b'",
            "sink 'sink': 'api_key' must be at least 10 characters long",
        ])
        for error in errors {
            for secret in ["[1]", "swordfish", "s3cr3t"] {
                XCTAssertFalse(error.description.contains(secret), error.description)
            }
        }
    }

    func testSecretsNestedUnderSecretKeysAreHiddenToo() {
        let here = SourceLocation(file: "f", line: 1, column: 1)
        let config = ConfigValue.object([
            (key: "credentials", keyLocation: here, value: .object([
                (key: "user", keyLocation: here, value: .string("hunter2", here)),
            ], here)),
        ], here)
        let errors = ConfigSchemaValidator.validate(
            config, schemaJSON: #"{"properties": {"credentials": {"properties": {"user": {"enum": ["x"]}}}}}"#,
            operatorName: "source 'in'")
        XCTAssertEqual(errors.map(\.message), ["source 'in': 'credentials.user' must be one of 'x'"])
    }

    func testLoaderMessagesHideSecretValues() throws {
        // A pipeline-level key never holds a secret, but the rule is general: the decoder
        // describes values under secret-looking keys by type only.
        let value = ConfigValue.string("hunter2", SourceLocation(file: "f", line: 1, column: 1))
        XCTAssertFalse(value.messageDescription(isSecret: SecretRedaction.isSecretKey("db_password")).contains("hunter2"))
        XCTAssertEqual(value.messageDescription(isSecret: false), "'hunter2'")
    }
}
