import Glibc

/// A growable `malloc`ed byte buffer whose storage can be handed to an exported Arrow array
/// without a copy. Builders append into it; `take()` gives up ownership of the memory.
///
/// Not thread-safe; used by one thread at a time.
struct ArrowBuffer {
    private(set) var pointer: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0
    /// The bytes the buffer held when it was last taken: builders make batches of similar
    /// sizes, so the next one starts at that size (an eighth more) instead of doubling up to
    /// it from 64 bytes, with a realloc and a copy at each step.
    private var lastTaken = 0

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
        guard count + n > capacity else { return }
        let first = capacity == 0 ? lastTaken + lastTaken / 8 : 0
        grow(to: max(64, capacity * 2, count + n, first))
    }

    private mutating func grow(to newCapacity: Int) {
        guard let grown = realloc(pointer, newCapacity) else { fatalError("out of memory growing an Arrow buffer to \(newCapacity) bytes") }
        pointer = grown
        capacity = newCapacity
    }

    /// Hands the memory to the caller (who must `free` it) and leaves the buffer empty.
    mutating func take() -> UnsafeMutableRawPointer? {
        defer { lastTaken = count; pointer = nil; count = 0; capacity = 0 }
        return pointer
    }

    func free() { Glibc.free(pointer) }
}
