import Glibc

/// A growable `malloc`ed byte buffer whose storage can be handed to an exported Arrow array
/// without a copy. Builders append into it; `take()` gives up ownership of the memory.
///
/// Not thread-safe; used by one thread at a time.
struct ArrowBuffer {
    private(set) var pointer: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0

    init(reserving bytes: Int = 0) {
        if bytes > 0 { grow(to: bytes) }
    }

    mutating func append(_ source: UnsafeRawPointer, count n: Int) {
        reserve(n)
        (pointer! + count).copyMemory(from: source, byteCount: n)
        count += n
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        (pointer! + count).storeBytes(of: value, as: T.self)
        count += MemoryLayout<T>.size
    }

    mutating func append(_ value: Double) {
        reserve(8)
        (pointer! + count).storeBytes(of: value, as: Double.self)
        count += 8
    }

    mutating func append(_ value: Float) {
        reserve(4)
        (pointer! + count).storeBytes(of: value, as: Float.self)
        count += 4
    }

    /// Appends `n` zero bytes.
    mutating func appendZeros(_ n: Int) {
        reserve(n)
        memset(pointer! + count, 0, n)
        count += n
    }

    /// Makes room for `n` more bytes, doubling so appends are amortised O(1).
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(to: max(64, max(capacity * 2, count + n))) }
    }

    private mutating func grow(to newCapacity: Int) {
        guard let grown = realloc(pointer, newCapacity) else { fatalError("out of memory growing an Arrow buffer to \(newCapacity) bytes") }
        pointer = grown
        capacity = newCapacity
    }

    /// Hands the memory to the caller (who must `free` it) and leaves the buffer empty.
    mutating func take() -> UnsafeMutableRawPointer? {
        defer { pointer = nil; count = 0; capacity = 0 }
        return pointer
    }

    func free() { Glibc.free(pointer) }
}
