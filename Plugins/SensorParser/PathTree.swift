/// The configured JSON paths as a tree keyed by object keys, so the scanner descends only into
/// objects that hold wanted fields and skips everything else without building anything.
final class PathNode {
    /// Children by key bytes; a short array beats hashing for the handful of keys per level.
    private(set) var children: [(key: [UInt8], node: PathNode)] = []
    /// The output field this key's value goes to, when it is a leaf.
    var fieldIndex: Int?

    /// Finds or adds the child for `key`.
    func child(_ key: String) -> PathNode {
        let bytes = Array(key.utf8)
        if let existing = children.first(where: { $0.key == bytes }) { return existing.node }
        let node = PathNode()
        children.append((bytes, node))
        return node
    }

    var isObject: Bool { !children.isEmpty }

    /// Builds the tree; fails when one path is both a value and an object ("a" and "a.b").
    static func build(_ fields: [FieldSpec]) throws -> PathNode {
        let root = PathNode()
        for (index, field) in fields.enumerated() {
            var node = root
            for (depth, key) in field.path.enumerated() {
                if node.fieldIndex != nil {
                    throw PathConflict(message: "path '\(field.path.joined(separator: "."))' of column '\(field.name)' goes inside '\(field.path.prefix(depth).joined(separator: "."))', which another column reads as a value")
                }
                node = node.child(key)
            }
            if node.fieldIndex != nil || node.isObject {
                throw PathConflict(message: "path '\(field.path.joined(separator: "."))' of column '\(field.name)' is already used by another column")
            }
            node.fieldIndex = index
        }
        return root
    }
}

struct PathConflict: Error { let message: String }

import Glibc

/// The path tree flattened into plain buffers for the scanner's hot loop: node `n`'s children
/// are entries `[first[n], first[n] + count[n])`, each a key (offset and length into `keys`)
/// and a child node. No reference counting while scanning.
final class PathTable {
    static let root: Int32 = 0
    static let none: Int32 = -1

    private let first: UnsafeMutablePointer<Int32>
    private let count: UnsafeMutablePointer<Int32>
    private let field: UnsafeMutablePointer<Int32>
    private let keyOffset: UnsafeMutablePointer<Int32>
    private let keyLength: UnsafeMutablePointer<Int32>
    private let child: UnsafeMutablePointer<Int32>
    private let keys: UnsafeMutablePointer<UInt8>
    /// Per node: the entry expected next (the one after the last match).
    private let next: UnsafeMutablePointer<Int32>
    /// Per entry: the key is printable ASCII without `"` or `\`, so the same bytes followed by
    /// a quote in a message can only be that key, unescaped (`lookupInPlace`).
    private let plain: UnsafeMutablePointer<Bool>
    /// Per node: every key under it is plain.
    private let onlyPlain: UnsafeMutablePointer<Bool>
    /// Per entry: the first eight bytes a message holds where this key is written (the key,
    /// then its closing quote when it is shorter than eight bytes), and which of them to
    /// compare: a key's in-place test is one load of the message's bytes, shared by every
    /// entry tried, an AND and a comparison. Zero mask and a non-zero prefix for a key that is
    /// not plain, which never matches in place.
    private let prefix: UnsafeMutablePointer<UInt64>
    private let prefixMask: UnsafeMutablePointer<UInt64>

    init(_ tree: PathNode) {
        // Breadth-first numbering, so each node's children are contiguous.
        var nodes: [PathNode] = [tree]
        var entries: [(key: [UInt8], child: Int32)] = []
        var firsts: [Int32] = [], counts: [Int32] = []
        var n = 0
        while n < nodes.count {
            firsts.append(Int32(entries.count))
            counts.append(Int32(nodes[n].children.count))
            for (key, node) in nodes[n].children {
                entries.append((key, Int32(nodes.count)))
                nodes.append(node)
            }
            n += 1
        }
        first = .allocate(capacity: nodes.count)
        first.initialize(from: firsts, count: nodes.count)
        count = .allocate(capacity: nodes.count)
        count.initialize(from: counts, count: nodes.count)
        next = .allocate(capacity: nodes.count)
        next.initialize(from: firsts, count: nodes.count)
        field = .allocate(capacity: nodes.count)
        field.initialize(from: nodes.map { Int32($0.fieldIndex ?? -1) }, count: nodes.count)
        let allKeys = entries.flatMap(\.key)
        keys = .allocate(capacity: max(1, allKeys.count))
        keys.initialize(from: allKeys, count: allKeys.count)
        keyOffset = .allocate(capacity: max(1, entries.count))
        keyLength = .allocate(capacity: max(1, entries.count))
        child = .allocate(capacity: max(1, entries.count))
        plain = .allocate(capacity: max(1, entries.count))
        plain.initialize(repeating: false, count: max(1, entries.count))
        var offset: Int32 = 0
        for (i, entry) in entries.enumerated() {
            keyOffset[i] = offset
            keyLength[i] = Int32(entry.key.count)
            child[i] = entry.child
            plain[i] = entry.key.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            offset += Int32(entry.key.count)
        }
        prefix = .allocate(capacity: max(1, entries.count))
        prefixMask = .allocate(capacity: max(1, entries.count))
        for (i, entry) in entries.enumerated() {
            let written = Array((entry.key + [UInt8(ascii: "\"")]).prefix(8))
            var word: UInt64 = 0, mask: UInt64 = 0
            for (k, byte) in written.enumerated() {
                word |= UInt64(byte) << (8 * k)
                mask |= 0xFF << (8 * k)
            }
            prefix[i] = plain[i] ? word.littleEndian : 1
            prefixMask[i] = plain[i] ? mask.littleEndian : 0
        }
        onlyPlain = .allocate(capacity: nodes.count)
        for n in 0..<nodes.count {
            onlyPlain[n] = (firsts[n]..<(firsts[n] + counts[n])).allSatisfy { plain[Int($0)] }
        }
    }

    deinit {
        [first, count, field, keyOffset, keyLength, child, next].forEach { $0.deallocate() }
        plain.deallocate()
        onlyPlain.deallocate()
        prefix.deallocate()
        prefixMask.deallocate()
        keys.deallocate()
    }

    /// The child of `node` under the `length` key bytes at `key`, or `none`.
    ///
    /// Producers write keys in a stable order, so the entry after the last match is tried
    /// first; the rest are scanned only when that guess is wrong.
    @inline(__always)
    func lookup(_ node: Int32, _ key: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        let n = Int(node)
        let start = Int(first[n]), end = start + Int(count[n])
        let guess = expectedEntry(n)
        if guess < end && matches(guess, key, length) {
            next[n] = Int32(guess + 1)
            return child[guess]
        }
        for e in start..<end where e != guess && matches(e, key, length) {
            next[n] = Int32(e + 1)
            return child[e]
        }
        return PathTable.none
    }

    /// The child of `node` whose key, followed by its closing quote, is the bytes at `key` (just
    /// after an opening quote, `available` of them), tried in place: the key expected next (the
    /// one after the last match) first, then the others. Only plain keys are tried: their bytes
    /// followed by a quote can only be that key, unescaped. Skips scanning the key for its end,
    /// escapes and UTF-8, which a plain key needs none of. Nil when none matches (then scan the
    /// key; `lookup` it only when `hasOnlyPlainKeys` is false or it had escapes).
    @inline(__always)
    func lookupInPlace(_ node: Int32, _ key: UnsafePointer<UInt8>, _ available: Int) -> (child: Int32, length: Int)? {
        let n = Int(node)
        let start = Int(first[n]), end = start + Int(count[n])
        let guess = expectedEntry(n)
        // Eight bytes are there in any message with more to come after the key (`":`, a
        // value, `}`); nearer the end, the keys are compared byte by byte.
        guard available >= 8 else {
            if guess < end, let length = matchesInPlace(guess, key, available) {
                next[n] = Int32(guess + 1)
                return (child[guess], length)
            }
            for e in start..<end where e != guess {
                if let length = matchesInPlace(e, key, available) {
                    next[n] = Int32(e + 1)
                    return (child[e], length)
                }
            }
            return nil
        }
        let word = UnsafeRawPointer(key).loadUnaligned(as: UInt64.self)
        if guess < end, word & prefixMask[guess] == prefix[guess], let length = restMatchesInPlace(guess, key, available) {
            next[n] = Int32(guess + 1)
            return (child[guess], length)
        }
        for e in start..<end where e != guess && word & prefixMask[e] == prefix[e] {
            if let length = restMatchesInPlace(e, key, available) {
                next[n] = Int32(e + 1)
                return (child[e], length)
            }
        }
        return nil
    }

    /// After the first eight bytes matched entry `e`'s prefix: its length when the rest of the
    /// key and the closing quote follow (nothing more to compare for a key under eight bytes).
    @inline(__always)
    private func restMatchesInPlace(_ e: Int, _ key: UnsafePointer<UInt8>, _ available: Int) -> Int? {
        let length = Int(keyLength[e])
        if length < 8 { return length }
        guard length < available, key[length] == UInt8(ascii: "\""), matches(e, key, length) else { return nil }
        return length
    }

    /// Every key under `node` is plain, so an unescaped key `lookupInPlace` did not find is not
    /// wanted there.
    @inline(__always)
    func hasOnlyPlainKeys(_ node: Int32) -> Bool { onlyPlain[Int(node)] }

    @inline(__always)
    private func matchesInPlace(_ e: Int, _ key: UnsafePointer<UInt8>, _ available: Int) -> Int? {
        let length = Int(keyLength[e])
        guard plain[e], length < available, key[length] == UInt8(ascii: "\""), matches(e, key, length) else { return nil }
        return length
    }

    /// The entry after the last match under node `n`; after the last entry, the first: the
    /// next message starts over, so its first key is the one expected.
    @inline(__always)
    private func expectedEntry(_ n: Int) -> Int {
        let guess = Int(next[n])
        return guess < Int(first[n]) + Int(count[n]) ? guess : Int(first[n])
    }

    @inline(__always)
    private func matches(_ e: Int, _ key: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard Int(keyLength[e]) == length else { return false }
        let candidate = keys + Int(keyOffset[e])
        var k = 0
        while k + 8 <= length {
            if UnsafeRawPointer(candidate + k).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(key + k).loadUnaligned(as: UInt64.self) { return false }
            k += 8
        }
        while k < length {
            if candidate[k] != key[k] { return false }
            k += 1
        }
        return true
    }

    @inline(__always)
    func fieldIndex(_ node: Int32) -> Int? {
        let f = field[Int(node)]
        return f < 0 ? nil : Int(f)
    }

    @inline(__always)
    func isObject(_ node: Int32) -> Bool { count[Int(node)] > 0 }
}
