import Foundation
import PluginABI

/// Every Arrow struct the checker hands a plugin, and how often its release callback ran.
///
/// The ABI moves batches: the receiver must call `release` exactly once, on any thread, before
/// the instance is destroyed. Structs are identified by a number stored in `private_data`
/// (never a pointer to freed memory), so a second release is detected and reported instead of
/// freeing twice. Thread-safe.
final class ReleaseLedger: @unchecked Sendable {
    static let shared = ReleaseLedger()

    /// Names a struct in messages. Kept as static strings and numbers, not a built string, so
    /// registering a struct allocates nothing that outlives its release: the leak check
    /// measures the heap around the plugin's calls, and the ledger must not show up in it.
    struct Label {
        var batch: StaticString
        var number: Int
        /// The column index, or -1 for the batch's struct itself.
        var column: Int
        var isSchema: Bool

        func text(columnNames: [String]) -> String {
            let part = isSchema ? "schema" : "array"
            let what = column < 0 ? "the struct \(part)" : "the \(part) of column '\(column < columnNames.count ? columnNames[column] : "#\(column)")'"
            return "\(what) of input batch \(number) (\(batch))"
        }
    }

    private struct Entry {
        var label: Label
        var releases: Int
        /// What to free at the first release.
        var allocations: [UnsafeMutableRawPointer]
        var children: [UnsafeMutablePointer<ArrowArray>]
        var schemaChildren: [UnsafeMutablePointer<ArrowSchema>]
    }

    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    private var nextID = 1
    /// Structs whose release ran more than once, or after the instance holding them was destroyed.
    private var violations: [String] = []
    /// Ids of structs still held by an instance that has been destroyed.
    private var orphaned = Set<Int>()
    /// The input columns' names, for labels.
    var columnNames: [String] = []

    init() { entries.reserveCapacity(1 << 16) }

    func register(label: Label, allocations: [UnsafeMutableRawPointer], children: [UnsafeMutablePointer<ArrowArray>] = [],
                  schemaChildren: [UnsafeMutablePointer<ArrowSchema>] = []) -> Int {
        lock.lock(); defer { lock.unlock() }
        let id = nextID
        nextID += 1
        entries[id] = Entry(label: label, releases: 0, allocations: allocations, children: children, schemaChildren: schemaChildren)
        return id
    }

    /// Records a release; returns what to release and free at the first one, nil otherwise.
    fileprivate func released(_ id: Int) -> (children: [UnsafeMutablePointer<ArrowArray>], schemaChildren: [UnsafeMutablePointer<ArrowSchema>], allocations: [UnsafeMutableRawPointer])? {
        lock.lock(); defer { lock.unlock() }
        guard var entry = entries[id] else {
            violations.append("a release callback ran with private_data the checker never handed out (\(id)); the plugin changed private_data or called a release it does not own")
            return nil
        }
        entry.releases += 1
        defer { entries[id] = entry }
        if entry.releases > 1 {
            violations.append("\(entry.label.text(columnNames: columnNames)) was released \(entry.releases) times; release exactly once")
            return nil
        }
        if orphaned.remove(id) != nil {
            violations.append("\(entry.label.text(columnNames: columnNames)) was released after its instance was destroyed; release before destroy returns")
        }
        let toFree = (entry.children, entry.schemaChildren, entry.allocations)
        entry.children = []; entry.schemaChildren = []; entry.allocations = []
        return toFree
    }

    /// The labels of `ids` that were never released; they are remembered as orphans so a later
    /// release is reported as coming after destroy.
    func unreleased(among ids: [Int]) -> [String] {
        lock.lock(); defer { lock.unlock() }
        var labels: [String] = []
        for id in ids where (entries[id]?.releases ?? 1) == 0 {
            labels.append(entries[id]!.label.text(columnNames: columnNames))
            orphaned.insert(id)
        }
        return labels
    }

    func releaseCount(_ id: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        return entries[id]?.releases ?? 0
    }

    /// Violations recorded since the last call.
    func takeViolations() -> [String] {
        lock.lock(); defer { lock.unlock() }
        defer { violations = [] }
        return violations
    }
}

/// The release callbacks of the checker's structs: count, then free once.
let releaseCheckerArray: @convention(c) (UnsafeMutablePointer<ArrowArray>?) -> Void = { array in
    guard let array else { return }
    let id = Int(bitPattern: array.pointee.private_data)
    if let owned = ReleaseLedger.shared.released(id) {
        for child in owned.children {
            if let release = child.pointee.release { release(child) }  // a child moved out has release NULL
            child.deallocate()
        }
        owned.allocations.forEach { free($0) }
    }
    array.pointee.release = nil
}

let releaseCheckerSchema: @convention(c) (UnsafeMutablePointer<ArrowSchema>?) -> Void = { schema in
    guard let schema else { return }
    let id = Int(bitPattern: schema.pointee.private_data)
    if let owned = ReleaseLedger.shared.released(id) {
        for child in owned.schemaChildren {
            if let release = child.pointee.release { release(child) }
            child.deallocate()
        }
        owned.allocations.forEach { free($0) }
    }
    schema.pointee.release = nil
}
