import SluiceCore
import Foundation
import Glibc
import PluginABI

/// Loads plugin images and performs the ABI handshake.
///
/// Images are opened with `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE`: NOW so a missing symbol is
/// reported at load time rather than as a crash mid-stream; LOCAL so two plugins can carry
/// their own copies of the same library; NODELETE because the Swift runtime caches type
/// metadata and conformances from every image it has seen, and unmapping a Swift image leaves
/// those caches dangling. To run new code from a path that was loaded before, `load(_:freshCopy:)`
/// copies the file to a unique path first, and removes the copy as soon as it is mapped: the
/// mapping outlives the name, and a long-running worker that swaps sinks, or restarts, leaves
/// no files behind.
///
/// Call from one thread at a time (the host's main thread).
public enum PluginLoader {
    /// The ABI this host speaks.
    public static let hostABIVersion = UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR)

    /// Loads `path` and returns its descriptor after checking the handshake.
    /// - Parameter freshCopy: copy the file to a unique temporary path and load the copy, so a
    ///   rebuilt `.so` at a path loaded earlier brings its new code.
    public static func load(_ path: String, freshCopy: Bool = false) throws -> LoadedPlugin {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PluginLoadError(.notFound, "plugin file \(path) does not exist; check the path, or build the plugin first")
        }
        var loadPath = path
        if freshCopy { loadPath = try copyToUniquePath(path) }
        let opened = dlopen(loadPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)
        if freshCopy { unlink(loadPath) }

        guard let handle = opened else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            if isELF(path) {
                throw PluginLoadError(.notSharedObject, "cannot load plugin \(path): \(reason); it may be built for another system or need a library that is missing (check with `ldd \(path)`)")
            }
            throw PluginLoadError(.notSharedObject, "plugin file \(path) is not a shared object (\(reason)); build plugins with `cc -shared -fPIC` or as a SwiftPM `.dynamic` library")
        }
        guard let symbol = dlsym(handle, SLUICE_PLUGIN_ENTRY_SYMBOL) else {
            throw PluginLoadError(.missingEntrySymbol, "\(path) is a shared object but does not export `\(SLUICE_PLUGIN_ENTRY_SYMBOL)`, so it is not a sluice plugin; export that function (C: a non-static function; Swift: @_cdecl(\"\(SLUICE_PLUGIN_ENTRY_SYMBOL)\"))")
        }
        let entry = unsafeBitCast(symbol, to: sluice_plugin_entry_fn.self)
        var error = sluice_error()
        var descriptorPointer: UnsafePointer<sluice_plugin_descriptor>?
        let status = entry(hostABIVersion, &descriptorPointer, &error)
        guard status == SLUICE_OK else {
            let message = PluginErrorText.message(error)
            throw PluginLoadError(.handshakeRefused, "plugin \(path) refused to load into sluice ABI \(abiString(hostABIVersion)): \(message.isEmpty ? "no reason given" : message); rebuild the plugin against this sluice's sluice_plugin.h")
        }
        guard let descriptor = descriptorPointer else {
            throw PluginLoadError(.malformedDescriptor, "plugin \(path) accepted the handshake but returned no descriptor; this is a bug in the plugin")
        }
        return try validate(descriptor, originalPath: path)
    }

    /// Checks a descriptor's version, size and mandatory members.
    static func validate(_ descriptor: UnsafePointer<sluice_plugin_descriptor>, originalPath: String) throws -> LoadedPlugin {
        // Read the two leading fields first: the rest of the layout depends on them.
        let raw = UnsafeRawPointer(descriptor)
        let size = raw.load(as: UInt32.self)
        let abi = raw.load(fromByteOffset: 4, as: UInt32.self)
        if abi >> 16 != hostABIVersion >> 16 {
            let direction = abi >> 16 > hostABIVersion >> 16 ? "newer" : "older"
            throw PluginLoadError(.incompatibleABI, "plugin \(originalPath) was built for sluice ABI \(abiString(abi)), which is \(direction) than the ABI \(abiString(hostABIVersion)) this sluice speaks; rebuild the plugin against sluice_plugin.h \(hostABIVersion >> 16).x\(direction == "newer" ? " or upgrade sluice" : "")")
        }
        // Version 1.0 ends with notify_checkpoint_aborted; a smaller struct is corrupt.
        let minimumSize = MemoryLayout<sluice_plugin_descriptor>.offset(of: \.notify_checkpoint_aborted)! + MemoryLayout<UnsafeRawPointer>.size
        guard Int(size) >= minimumSize else {
            throw PluginLoadError(.malformedDescriptor, "plugin \(originalPath) declares a descriptor of \(size) bytes, smaller than the \(minimumSize) bytes of ABI 1.0; rebuild it against sluice_plugin.h")
        }
        // A descriptor from an older minor version (1.0 lacks `output_schema`) is shorter than
        // ours: copy the bytes it declares into a zeroed full-size descriptor, so no member
        // beyond its `struct_size` is ever read and every later hook reads as NULL. The copy
        // lives as long as the image: for the whole process.
        let descriptor = Int(size) >= MemoryLayout<sluice_plugin_descriptor>.size ? descriptor : {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<sluice_plugin_descriptor>.size,
                                                        alignment: MemoryLayout<sluice_plugin_descriptor>.alignment)
            copy.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<sluice_plugin_descriptor>.size)
            copy.copyMemory(from: raw, byteCount: Int(size))
            return UnsafePointer(copy.assumingMemoryBound(to: sluice_plugin_descriptor.self))
        }()
        let d = descriptor.pointee
        guard let kind = PluginKind(d.kind) else {
            throw PluginLoadError(.malformedDescriptor, "plugin \(originalPath) declares an unknown kind \(d.kind.rawValue); expected source (1), transform (2) or sink (3)")
        }
        let name = d.name.map { String(cString: $0) } ?? ""
        guard !name.isEmpty else {
            throw PluginLoadError(.malformedDescriptor, "plugin \(originalPath) has no name in its descriptor")
        }
        var missing: [String] = []
        if d.create == nil { missing.append("create") }
        if d.destroy == nil { missing.append("destroy") }
        switch kind {
        case .source where d.source_next == nil: missing.append("source_next")
        case .transform where d.transform_process == nil: missing.append("transform_process")
        case .sink where d.sink_write == nil: missing.append("sink_write")
        default: break
        }
        guard missing.isEmpty else {
            throw PluginLoadError(.malformedDescriptor, "plugin '\(name)' (\(originalPath)) is a \(kind.rawValue) but its descriptor lacks \(missing.joined(separator: ", ")); these hooks are required")
        }
        return LoadedPlugin(
            originalPath: originalPath, descriptor: descriptor, name: name,
            version: d.version.map { String(cString: $0) } ?? "unknown",
            summary: d.description.map { String(cString: $0) } ?? "",
            kind: kind, abiVersion: abi,
            configSchemaJSON: d.config_schema_json.map { String(cString: $0) })
    }

    /// Checks that a plugin can take the place `role` in a pipeline.
    public static func checkKind(_ plugin: LoadedPlugin, role: OperatorRole, operatorName: String, location: SourceLocation) throws {
        let expected = PluginKind(role: role)
        guard plugin.kind != expected else { return }
        throw PluginLoadError(.wrongKind, "\(location): plugin '\(plugin.name)' (\(plugin.originalPath)) is a \(plugin.kind.rawValue) but operator '\(operatorName)' needs a \(expected.rawValue); choose a \(expected.rawValue) plugin for this place")
    }

    // MARK: - Helpers

    static func abiString(_ version: UInt32) -> String { "\(version >> 16).\(version & 0xFFFF)" }

    private static func isELF(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return handle.readData(ofLength: 4) == Data([0x7F, 0x45, 0x4C, 0x46])
    }

    private static func copyToUniquePath(_ path: String) throws -> String {
        let copy = NSTemporaryDirectory() + "sluice-plugin-\(UUID().uuidString)-" + (path as NSString).lastPathComponent
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copy)
        } catch {
            throw PluginLoadError(.notFound, "cannot copy plugin \(path) to \(copy) for loading: \(error.localizedDescription)")
        }
        return copy
    }
}
