import Foundation
import Glibc
import CCheckProbes

/// What the checker observes of its own process around a plugin call: readable memory, the
/// heap in use, open descriptors and sockets, threads, and files in a directory. These are how
/// "without side effects", "must free" and "must not connect" become checkable.
enum MemoryProbe {
    /// Whether `count` bytes from `pointer` can be read, asked of the kernel (a read through
    /// `process_vm_readv` of our own pid fails with EFAULT instead of faulting).
    static func isReadable(_ pointer: UnsafeRawPointer, count: Int) -> Bool {
        count <= 0 || sluice_check_readable(pointer, count) == 1
    }

    /// Bytes of heap in use (glibc's count of allocated chunks), for leak checks over many
    /// repetitions of one call.
    static func heapInUse() -> Int { Int(sluice_check_heap_in_use()) }
}

/// Descriptors, sockets and threads of this process.
struct ResourceCount: Equatable {
    var descriptors: Int
    var sockets: Int
    var threads: Int

    static func now() -> ResourceCount {
        var descriptors = 0, sockets = 0
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for entry in entries {
            descriptors += 1
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry), target.hasPrefix("socket:") {
                sockets += 1
            }
        }
        let threads = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).count
        return ResourceCount(descriptors: descriptors, sockets: sockets, threads: threads)
    }
}

/// Every path under a directory, for "created no file" checks.
enum DirectoryListing {
    static func paths(under directory: String) -> Set<String> {
        var found = Set<String>()
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return found }
        while let path = enumerator.nextObject() as? String { found.insert(path) }
        return found
    }
}
