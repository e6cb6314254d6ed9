import Foundation
import PluginABI

/// The C table of the staging service (`sluice_staging_api`) for one plugin instance: every
/// callback finds the instance's ``StagingArea`` through `host_data` (the ``HostContext``).
/// Lives as long as the instance.
final class StagingAPIStorage {
    let api: UnsafeMutablePointer<sluice_staging_api>
    private let location: UnsafeMutablePointer<CChar>

    init(location text: String) {
        location = strdup(text)!
        api = .allocate(capacity: 1)
        api.initialize(to: sluice_staging_api(
            struct_size: UInt32(MemoryLayout<sluice_staging_api>.size),
            location: UnsafePointer(location),
            create: { data, name, writer, error in
                StagingAPIStorage.call(data, error) { area in
                    let made = try area.makeWriter(name: name.map { String(cString: $0) })
                    writer?.pointee = OpaquePointer(Unmanaged.passRetained(WriterBox(made)).toOpaque())
                }
            },
            write: { data, writer, bytes, length, error in
                StagingAPIStorage.call(data, error) { _ in
                    guard let writer else { throw StagingError("no writer") }
                    let box = Unmanaged<WriterBox>.fromOpaque(UnsafeRawPointer(writer)).takeUnretainedValue()
                    try box.writer.write(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length))
                }
            },
            seal: { data, writer, name, error in
                StagingAPIStorage.call(data, error) { _ in
                    guard let writer else { throw StagingError("no writer") }
                    let box = Unmanaged<WriterBox>.fromOpaque(UnsafeRawPointer(writer)).takeRetainedValue()
                    try box.writer.seal(as: name.map { String(cString: $0) })
                }
            },
            abandon: { _, writer in
                guard let writer else { return }
                Unmanaged<WriterBox>.fromOpaque(UnsafeRawPointer(writer)).takeRetainedValue().writer.abandon()
            },
            size: { data, name, size, error in
                var found = true
                let status = StagingAPIStorage.call(data, error) { area in
                    guard let name else { throw StagingError("no name") }
                    if let bytes = try area.size(String(cString: name)) { size?.pointee = UInt64(bytes) } else { found = false }
                }
                return status == SLUICE_OK && !found ? SLUICE_NO_DATA : status
            },
            read: { data, name, offset, buffer, capacity, length, error in
                StagingAPIStorage.call(data, error) { area in
                    guard let name else { throw StagingError("no name") }
                    let count = try area.read(String(cString: name), offset: Int(offset),
                                              into: UnsafeMutableRawBufferPointer(start: buffer, count: buffer == nil ? 0 : capacity))
                    length?.pointee = count
                }
            },
            list: { data, each, context, error in
                StagingAPIStorage.call(data, error) { area in
                    for object in try area.list() { each?(context, object.name, UInt64(object.size)) }
                }
            },
            remove: { data, name, error in
                StagingAPIStorage.call(data, error) { area in
                    guard let name else { throw StagingError("no name") }
                    try area.remove(String(cString: name))
                }
            }))
    }

    deinit {
        api.deallocate()
        free(location)
    }

    final class WriterBox {
        let writer: any StagingWriter
        init(_ writer: any StagingWriter) { self.writer = writer }
    }

    /// Runs `body` on the instance's staging area, turning a thrown error into SLUICE_ERROR
    /// with its message.
    private static func call(_ data: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<sluice_error>?,
                             _ body: (any StagingArea) throws -> Void) -> sluice_status {
        guard let data, let area = Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue().staging else {
            fill(out, "this instance has no staging area")
            return SLUICE_ERROR
        }
        do {
            try body(area)
            return SLUICE_OK
        } catch {
            fill(out, "staging in \(area.location): \(error)")
            return SLUICE_ERROR
        }
    }

    private static func fill(_ out: UnsafeMutablePointer<sluice_error>?, _ message: String) {
        guard let out else { return }
        withUnsafeMutableBytes(of: &out.pointee.message) { raw in
            let bytes = Array(message.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }
}
