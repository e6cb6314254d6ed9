import DurableFiles
import Foundation
import CFFI
import Glibc
import PluginKit

/// A C function resolved from a shared library, with its libffi call interface prepared once
/// and argument storage allocated once: calling it allocates nothing.
///
/// `library` is a path (anything with a `/`, relative to the working directory) or a name
/// the dynamic loader finds (`libm.so.6`). It is opened with `RTLD_NOW | RTLD_LOCAL`: a
/// missing dependency fails at once, and its symbols do not leak into other libraries. The
/// handle is never closed (like plugin images: a library's code may be referenced by
/// results, and reopening is cheap).
///
/// One instance belongs to one operator thread (its argument slots are shared state).
final class NativeFunction {
    let signature: Signature
    let symbol: String
    /// The function's address, as libffi wants it.
    private let function: @convention(c) () -> Void
    /// For `const char*` results with `free:`.
    let freeResult: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?

    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    /// One 16-byte, 16-aligned slot per parameter; `argumentPointers[i]` points at slot i.
    let slots: UnsafeMutableRawPointer
    let argumentPointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Where libffi writes the result (integers narrower than `ffi_arg` are widened to it).
    let result: UnsafeMutableRawPointer

    static let slotSize = 16

    /// Why a library, symbol or call interface is unusable; `configPath` says which key.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
        let configPath: String
    }

    init(library: String, symbol: String, signature: Signature, free freeSymbol: String?) throws {
        self.signature = signature
        self.symbol = symbol
        let handle = try NativeFunction.open(library)
        guard let address = NativeFunction.lookup(symbol, in: handle) else {
            throw LoadError(description: "library '\(library)' has no exported symbol '\(symbol)'; check the name (C++ functions need extern \"C\"; list them with `nm -D --defined-only \(library)`)",
                            configPath: "/symbol")
        }
        function = unsafeBitCast(address, to: (@convention(c) () -> Void).self)
        if let freeSymbol {
            // The library's own deallocator first; `free` itself comes from libc anyway.
            guard let address = NativeFunction.lookup(freeSymbol, in: handle) ?? dlsym(UnsafeMutableRawPointer(bitPattern: 0), freeSymbol) else {
                throw LoadError(description: "no symbol '\(freeSymbol)' (named by free:) in '\(library)' or the process; name the function that frees the strings '\(symbol)' returns",
                                configPath: "/free")
            }
            freeResult = unsafeBitCast(address, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        } else {
            freeResult = nil
        }

        let count = signature.parameters.count
        cif = .allocate(capacity: 1)
        argumentTypes = .allocate(capacity: max(1, count))
        for (i, type) in signature.parameters.enumerated() { argumentTypes[i] = type.ffiType }
        slots = .allocate(byteCount: max(1, count) * NativeFunction.slotSize, alignment: 16)
        slots.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * NativeFunction.slotSize)
        argumentPointers = .allocate(capacity: max(1, count))
        for i in 0..<count { argumentPointers[i] = slots + i * NativeFunction.slotSize }
        result = .allocate(byteCount: 16, alignment: 16)
        result.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
        let status = sluice_ffi_prep_cif(cif, UInt32(count), signature.result.ffiType, argumentTypes)
        guard status == FFI_OK else {
            throw LoadError(description: "libffi cannot prepare a call to \(signature.description) (status \(status.rawValue))", configPath: "/signature")
        }
    }

    deinit {
        cif.deallocate()
        argumentTypes.deallocate()
        slots.deallocate()
        argumentPointers.deallocate()
        result.deallocate()
    }

    /// The slot of parameter `index`.
    @inline(__always)
    func slot(_ index: Int) -> UnsafeMutableRawPointer { slots + index * NativeFunction.slotSize }

    /// Calls the function with the values in the slots; the result is in `result`.
    @inline(__always)
    func call() {
        ffi_call(cif, function, result, argumentPointers)
    }

    /// Calls the function with the arguments `argumentPointers` points at (which the fast
    /// path aims straight at column values), writing the result to `destination` (at least
    /// 8 bytes: libffi widens small integers to `ffi_arg`).
    @inline(__always)
    func call(into destination: UnsafeMutableRawPointer) {
        ffi_call(cif, function, destination, argumentPointers)
    }

    /// Points every argument back at its own slot (after the fast path aimed some elsewhere).
    func resetArgumentPointers() {
        for i in 0..<signature.parameters.count { argumentPointers[i] = slots + i * NativeFunction.slotSize }
    }

    // MARK: - Loading

    /// Opens a library: a path, a name the dynamic loader finds, or a name of a library beside
    /// this plugin (`calibrate` finds libcalibrate.so in the folder of libSluiceFn.so, where the
    /// package builds its example library).
    static func open(_ library: String) throws -> UnsafeMutableRawPointer {
        dlerror()
        if let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) { return handle }
        let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
        if !library.contains("/"), let folder = pluginDirectory() {
            for candidate in ["lib\(library).so", library] where FileManager.default.fileExists(atPath: folder + "/" + candidate) {
                if let handle = dlopen(folder + "/" + candidate, RTLD_NOW | RTLD_LOCAL) { return handle }
            }
        }
        let hint = library.contains("/")
            ? "check the path (a relative path starts at the working directory) and that the file is a shared library for this machine"
            : "give a path to the .so, a name the dynamic loader finds (a soname such as libm.so.6; see `ldconfig -p`), or NAME for a libNAME.so beside the fn plugin"
        throw LoadError(description: "cannot load library '\(library)': \(reason); \(hint)", configPath: "/library")
    }

    /// The folder of the shared object this code is in: the mapping of /proc/self/maps that
    /// holds this image's `#dsohandle` (Glibc's Swift module does not export `dladdr`).
    private static func pluginDirectory() -> String? {
        let address = UInt(bitPattern: #dsohandle)
        guard let maps = DurableFile.text("/proc/self/maps") else { return nil }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let dash = fields[0].firstIndex(of: "-"),
                  let start = UInt(fields[0][..<dash], radix: 16),
                  let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  start <= address, address < end else { continue }
            let path = fields[5].trimmingCharacters(in: .whitespaces)
            return path.hasPrefix("/") ? (path as NSString).deletingLastPathComponent : nil
        }
        return nil
    }

    static func lookup(_ symbol: String, in handle: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        dlerror()
        return dlsym(handle, symbol)
    }
}
