import Foundation
import XCTest
@testable import FunctionTransform
import PluginKit

/// Libraries the tests call into, compiled once per test run with `cc -shared`.
enum FnFixtures {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let directory: String = {
        let dir = NSTemporaryDirectory() + "sluice-fn-unit-\(getpid())"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Tests/Fixtures/fn/types.c: a function per supported type.
    static let types: String = compile(packageRoot + "/Tests/Fixtures/fn/types.c", "libfntypes.so")
    /// Examples/calibration/calibrate.c: the example library.
    static let calibration: String = compile(packageRoot + "/Examples/calibration/calibrate.c", "libcalibrate.so")

    static func compile(_ source: String, _ name: String) -> String {
        let output = directory + "/" + name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-o", output, source]
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "cc failed for \(source)")
        return output
    }
}

/// Column values for building test batches: nil is a null.
enum TestColumn {
    case int8([Int8?]), int16([Int16?]), int32([Int32?]), int64([Int64?])
    case uint8([UInt8?]), uint16([UInt16?]), uint32([UInt32?]), uint64([UInt64?])
    case float32([Float?]), float64([Double?]), bool([Bool?]), utf8([String?])

    var format: ArrowFormat {
        switch self {
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .boolean
        case .utf8: return .utf8
        }
    }

    func fill(_ b: ArrowColumnBuilder) {
        func each<T>(_ values: [T?], _ append: (T) -> Void) { for v in values { if let v { append(v) } else { b.appendNull() } } }
        switch self {
        case .int8(let v): each(v) { b.append(Int64($0)) }
        case .int16(let v): each(v) { b.append(Int64($0)) }
        case .int32(let v): each(v) { b.append(Int64($0)) }
        case .int64(let v): each(v) { b.append($0) }
        case .uint8(let v): each(v) { b.append(Int64($0)) }
        case .uint16(let v): each(v) { b.append(Int64($0)) }
        case .uint32(let v): each(v) { b.append(Int64($0)) }
        case .uint64(let v): each(v) { b.append($0) }
        case .float32(let v): each(v) { b.append(Double($0)) }
        case .float64(let v): each(v) { b.append($0) }
        case .bool(let v): each(v) { b.append($0) }
        case .utf8(let v): each(v) { b.append($0) }
        }
    }
}

func makeBatch(_ columns: [(String, TestColumn)]) -> ArrowBatch {
    let builders = columns.map { name, column -> ArrowColumnBuilder in
        let b = ArrowColumnBuilder(name: name, format: column.format, nullable: true)
        column.fill(b)
        return b
    }
    return ArrowBatchBuilder(columns: builders).finish()
}

/// Reads a column of a batch back as Swift values (nil for null), for assertions.
func values(_ batch: ArrowBatch, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [AnyHashable?] {
    let view = try batch.view()
    guard let column = view.column(named: name) else {
        XCTFail("no column \(name) in \(view.columns.map(\.name))", file: file, line: line)
        return []
    }
    return (0..<view.length).map { row -> AnyHashable? in
        if column.isNull(row) { return nil }
        switch column.format {
        case .int8: return column.fixed(row, as: Int8.self)
        case .int16: return column.fixed(row, as: Int16.self)
        case .int32: return column.fixed(row, as: Int32.self)
        case .int64: return column.fixed(row, as: Int64.self)
        case .uint8: return column.fixed(row, as: UInt8.self)
        case .uint16: return column.fixed(row, as: UInt16.self)
        case .uint32: return column.fixed(row, as: UInt32.self)
        case .uint64: return column.fixed(row, as: UInt64.self)
        case .float32: return column.fixed(row, as: Float.self)
        case .float64: return column.fixed(row, as: Double.self)
        case .boolean: return column.bool(row)
        case .utf8: return column.string(row)
        default: return "unsupported"
        }
    }
}

/// A config from JSON, as the host hands it over.
func config(_ json: String) throws -> FunctionConfig {
    try JSONDecoder().decode(FunctionConfig.self, from: Data(json.utf8))
}
