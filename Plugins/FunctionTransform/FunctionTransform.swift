import Glibc
import PluginKit

/// `fn`: applies an exported C function from any shared library to every row, through libffi.
///
///     - fn:
///         library: libm.so.6
///         symbol: cbrt
///         signature: "double(double)"
///         args: [temperature]
///         output: temperature_cbrt
///
/// The call interface is prepared once per instance and the argument storage allocated once,
/// so a row costs one `ffi_call` and no allocation. Rows whose arguments do not fit the C
/// parameter (an int64 of 300 into int8_t, a string with a NUL byte) and string results that
/// are not UTF-8 are rejected through the dead-letter output with the reason.
///
/// Threads: `validate` and `outputSchema` on any thread; the instance on its operator thread.
final class FunctionTransform: TransformPlugin {
    typealias Config = FunctionConfig

    static let name = "fn"
    static let version = "1.0.0"
    static let description = "Applies a C function from a shared library to columns, through libffi"
    static var configSchema: String { FunctionConfig.schema }

    // MARK: - Checks without an instance

    /// Signature, arguments and literals, then the library, the symbol and the call interface.
    /// Loading the library runs its initializers: the only way to see its symbols.
    static func validate(_ config: Config) throws {
        let plan = try FunctionPlan(config)
        do {
            _ = try NativeFunction(library: config.library, symbol: config.symbol, signature: plan.signature, free: config.free)
        } catch let error as NativeFunction.LoadError {
            throw PluginError(error.description, configPath: error.configPath)
        }
    }

    /// The input with the output column appended or replaced; errors point at the `args` item.
    static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? {
        guard let input else { return nil }
        return try FunctionPlan(config).bind(input).output
    }

    // MARK: - Instance

    let plan: FunctionPlan
    let function: NativeFunction
    private let host: PluginHost?
    /// NUL-terminated copies of string literals, and per parameter a growable buffer into which
    /// string arguments are copied NUL-terminated (grown rarely, never per row).
    private var literalStrings: [UnsafeMutablePointer<CChar>] = []
    private let scratch: UnsafeMutablePointer<Scratch>
    /// The binding for the last input schema seen (schemas rarely change between batches).
    private var cached: (fields: [ArrowField], binding: FunctionPlan.Binding)?
    private var rejected: [Int] = []
    private var rejectReasons: [String] = []

    struct Scratch {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity: Int
    }

    convenience init(config: Config, host: PluginHost) throws {
        try self.init(config: config, optionalHost: host)
    }

    /// `host` nil: rejected rows throw instead (unit tests drive the plugin without a host).
    init(config: Config, optionalHost host: PluginHost?) throws {
        plan = try FunctionPlan(config)
        do {
            function = try NativeFunction(library: config.library, symbol: config.symbol, signature: plan.signature, free: config.free)
        } catch let error as NativeFunction.LoadError {
            throw PluginError(error.description, configPath: error.configPath)
        }
        self.host = host
        let count = plan.signature.parameters.count
        scratch = .allocate(capacity: max(1, count))
        scratch.initialize(repeating: Scratch(buffer: nil, capacity: 0), count: max(1, count))
        // Literals go into their slots once; column arguments overwrite only their own slots.
        for (i, argument) in config.args.enumerated() {
            guard case .literal(let literal) = argument else { continue }
            let parameter = plan.signature.parameters[i]
            if case .string(let text) = literal {
                let copy = strdup(text)!
                literalStrings.append(copy)
                function.slot(i).storeBytes(of: UnsafePointer(copy), as: UnsafePointer<CChar>.self)
            } else {
                let bits = try FunctionPlan.literalValue(literal, for: parameter)
                withUnsafeBytes(of: bits.littleEndian) { function.slot(i).copyMemory(from: $0.baseAddress!, byteCount: parameter.size) }
            }
        }
        rejected.reserveCapacity(64)
    }

    deinit {
        for s in literalStrings { free(s) }
        for i in 0..<max(1, plan.signature.parameters.count) { free(scratch[i].buffer) }
        scratch.deallocate()
    }

    // MARK: - Processing

    func process(_ batch: ArrowBatch) throws -> ArrowBatch {
        guard batch.isLive else { throw PluginError("fn received a released batch") }
        let fields = try ArrowField.fields(of: batch.schema)
        let binding: FunctionPlan.Binding
        if let cached, cached.fields == fields {
            binding = cached.binding
        } else {
            do {
                binding = try plan.bind(fields)
            } catch let error as PluginError {
                // The schema hook could not check this pipeline before it ran (an upstream
                // plugin does not declare its columns), so the first batch does.
                throw PluginError("checking the input's columns on the first batch (nothing upstream declared them before the run): \(error.message)",
                                  configPath: error.configPath)
            }
            cached = (fields, binding)
        }
        let length = Int(batch.array.pointee.length)
        var readers = try makeReaders(batch, binding: binding, length: length)
        rejected.removeAll(keepingCapacity: true)
        rejectReasons.removeAll(keepingCapacity: true)
        var result = ResultBuffer(type: plan.signature.result, length: length)
        readers.withUnsafeMutableBufferPointer { readers in
            run(readers, length: length, into: &result)
        }
        let column = result.finish(field: binding.output[binding.outputIndex])
        let output = ComposedBatch.make(input: batch, column: column, index: binding.outputIndex, replaces: binding.replaces)
        guard !rejected.isEmpty else { return output }
        for (row, reason) in zip(rejected, rejectReasons) {
            if let host {
                try host.reject(row: row, reason: reason)
            } else {
                throw PluginError("record \(row) rejected: \(reason)")
            }
        }
        return try ComposedBatch.dropping(rows: rejected, from: output)
    }

    /// The per-row loop: read the column arguments into their slots, call, store the result.
    private func run(_ readers: UnsafeMutableBufferPointer<ArgumentReader>, length: Int, into result: inout ResultBuffer) {
        if runDirect(readers, length: length, into: &result) { return }
        let callOnNull = plan.config.onNull == .call
        let checkNulls = readers.contains { $0.validity != nil }
        let function = self.function, freeResult = function.freeResult, returned = function.result
        rows: for row in 0..<length {
            if checkNulls {
                var anyNull = false
                for k in readers.indices where readers[k].isNull(row) {
                    anyNull = true
                    if callOnNull { readers[k].storeZero() }
                }
                if anyNull && !callOnNull {
                    result.appendNull(row)
                    continue rows
                }
                for k in readers.indices where !readers[k].isNull(row) {
                    if let failure = readers[k].load(row) { reject(row, failure, &result); continue rows }
                }
            } else {
                for k in readers.indices {
                    if let failure = readers[k].load(row) { reject(row, failure, &result); continue rows }
                }
            }
            function.call()
            if let failure = result.store(row, from: returned, free: freeResult) {
                reject(row, failure, &result)
            }
        }
    }

    /// The fast path, when no column argument has a null and each is already in its C type
    /// (a float64 column into double, int64 into int64_t...), and the result is 8 bytes wide
    /// (double, int64_t, uint64_t): libffi reads every argument straight from the column and
    /// writes the result straight into the output buffer, so a row is one `ffi_call` and a
    /// pointer increment. Returns false when the batch does not qualify.
    private func runDirect(_ readers: UnsafeMutableBufferPointer<ArgumentReader>, length: Int, into result: inout ResultBuffer) -> Bool {
        guard [.double, .int64, .uint64].contains(plan.signature.result),
              readers.allSatisfy({ if case .copy = $0.read { return $0.validity == nil } else { return false } }) else { return false }
        let function = self.function
        let pointers = function.argumentPointers
        let output = result.fixedValues
        defer { function.resetArgumentPointers() }
        if readers.count == 1, case .copy(let width) = readers[0].read {
            // One column argument (cbrt, a unit conversion...): no inner loop.
            let index = readers[0].index
            let base = readers[0].values! + readers[0].offset * width
            for row in 0..<length {
                pointers[index] = UnsafeMutableRawPointer(mutating: base + row * width)
                function.call(into: output + row * 8)
            }
            return true
        }
        for row in 0..<length {
            for reader in readers {
                guard case .copy(let width) = reader.read else { continue }
                pointers[reader.index] = UnsafeMutableRawPointer(mutating: reader.values! + (reader.offset + row) * width)
            }
            function.call(into: output + row * 8)
        }
        return true
    }

    private func reject(_ row: Int, _ failure: ArgumentReader.Failure, _ result: inout ResultBuffer) {
        result.appendNull(row)
        rejected.append(row)
        rejectReasons.append(describe(failure))
    }

    private func describe(_ failure: ArgumentReader.Failure) -> String {
        switch failure {
        case .outOfRangeSigned(let parameter, let value):
            return outOfRange(parameter, String(value))
        case .outOfRangeUnsigned(let parameter, let value):
            return outOfRange(parameter, String(value))
        case .nulByte(let parameter):
            return "args[\(parameter)]: the string contains a NUL byte, which a const char* parameter cannot carry"
        case .invalidUTF8:
            return "\(plan.config.symbol) returned a string that is not valid UTF-8"
        }
    }

    private func outOfRange(_ parameter: Int, _ value: String) -> String {
        let name: String
        if case .column(let column) = plan.config.args[parameter] { name = "column '\(column)'" } else { name = "args[\(parameter)]" }
        return "\(name) = \(value) does not fit parameter \(parameter + 1) (\(plan.signature.parameters[parameter].spelling)) of \(plan.config.symbol)"
    }

    private func makeReaders(_ batch: ArrowBatch, binding: FunctionPlan.Binding, length: Int) throws -> [ArgumentReader] {
        let array = batch.array.pointee
        var readers: [ArgumentReader] = []
        for (i, source) in binding.sources.enumerated() {
            guard case .column(let index, let read) = source else { continue }
            guard let child = array.children?[index]?.pointee, index < Int(array.n_children) else {
                throw PluginError("column \(index) of the input batch is missing")
            }
            let expectedBuffers = read == .bytes ? 3 : 2
            guard child.n_buffers == Int64(expectedBuffers), let buffers = child.buffers,
                  Int(child.length) >= length + Int(array.offset) else {
                throw PluginError("input column \(index) is malformed (\(child.n_buffers) buffers, \(child.length) rows for a batch of \(length))")
            }
            if length > 0 && buffers[1] == nil { throw PluginError("input column \(index) has no value buffer") }
            readers.append(ArgumentReader(
                read: read, parameter: plan.signature.parameters[i], index: i,
                slot: function.slot(i), scratch: scratch + i,
                validity: child.null_count == 0 ? nil : buffers[0]?.assumingMemoryBound(to: UInt8.self),
                values: buffers[1], data: read == .bytes ? buffers[2] : nil,
                offset: Int(child.offset) + Int(array.offset)))
        }
        return readers
    }
}

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func functionTransformEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(FunctionTransform.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
