import Glibc
import PluginABI

// Exporting Swift-built columns as Arrow C structs. Every exported struct carries a `release`
// callback and a `private_data` box holding what it owns; releasing the parent releases its
// children, as the C Data Interface requires.

/// The finished storage of one column, ready to export. Buffers are `malloc`ed and owned.
struct ArrowColumnStorage {
    var name: String
    var format: ArrowFormat
    var nullable: Bool
    var length: Int
    var nullCount: Int
    /// validity bitmap (or nil), then values/offsets, then character data for strings.
    var buffers: [UnsafeMutableRawPointer?]
}

// MARK: - Schema

private final class SchemaOwner {
    let format: UnsafeMutablePointer<CChar>
    let name: UnsafeMutablePointer<CChar>
    let children: UnsafeMutablePointer<UnsafeMutablePointer<ArrowSchema>?>?
    let childCount: Int

    init(format: String, name: String, childCount: Int) {
        self.format = strdup(format)
        self.name = strdup(name)
        self.childCount = childCount
        if childCount > 0 {
            children = .allocate(capacity: childCount)
            for i in 0..<childCount {
                let child = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
                child.initialize(to: ArrowSchema())
                children![i] = child
            }
        } else {
            children = nil
        }
    }

    deinit {
        for i in 0..<childCount {
            let child = children![i]!
            if let release = child.pointee.release { release(child) }
            child.deallocate()
        }
        children?.deallocate()
        free(format)
        free(name)
    }
}

private func releaseSchema(_ schema: UnsafeMutablePointer<ArrowSchema>?) {
    guard let schema, let box = schema.pointee.private_data else { return }
    Unmanaged<SchemaOwner>.fromOpaque(box).release()
    schema.pointee.release = nil
    schema.pointee.private_data = nil
}

private func fillSchema(_ out: UnsafeMutablePointer<ArrowSchema>, format: String, name: String, flags: Int64, childCount: Int) -> SchemaOwner {
    let owner = SchemaOwner(format: format, name: name, childCount: childCount)
    out.pointee = ArrowSchema(
        format: UnsafePointer(owner.format), name: UnsafePointer(owner.name), metadata: nil, flags: flags,
        n_children: Int64(childCount), children: owner.children, dictionary: nil,
        release: releaseSchema, private_data: Unmanaged.passRetained(owner).toOpaque())
    return owner
}

// MARK: - Array

private final class ArrayOwner {
    let buffers: UnsafeMutablePointer<UnsafeRawPointer?>
    let bufferCount: Int
    let children: UnsafeMutablePointer<UnsafeMutablePointer<ArrowArray>?>?
    let childCount: Int

    init(buffers owned: [UnsafeMutableRawPointer?], childCount: Int) {
        bufferCount = owned.count
        buffers = .allocate(capacity: max(1, owned.count))
        for (i, b) in owned.enumerated() { buffers[i] = UnsafeRawPointer(b) }
        self.childCount = childCount
        if childCount > 0 {
            children = .allocate(capacity: childCount)
            for i in 0..<childCount {
                let child = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
                child.initialize(to: ArrowArray())
                children![i] = child
            }
        } else {
            children = nil
        }
    }

    deinit {
        for i in 0..<childCount {
            let child = children![i]!
            if let release = child.pointee.release { release(child) }
            child.deallocate()
        }
        children?.deallocate()
        for i in 0..<bufferCount { free(UnsafeMutableRawPointer(mutating: buffers[i])) }
        buffers.deallocate()
    }
}

private func releaseArray(_ array: UnsafeMutablePointer<ArrowArray>?) {
    guard let array, let box = array.pointee.private_data else { return }
    Unmanaged<ArrayOwner>.fromOpaque(box).release()
    array.pointee.release = nil
    array.pointee.private_data = nil
}

private func fillArray(_ out: UnsafeMutablePointer<ArrowArray>, length: Int, nullCount: Int, buffers: [UnsafeMutableRawPointer?], childCount: Int) -> ArrayOwner {
    let owner = ArrayOwner(buffers: buffers, childCount: childCount)
    out.pointee = ArrowArray(
        length: Int64(length), null_count: Int64(nullCount), offset: 0, n_buffers: Int64(buffers.count),
        n_children: Int64(childCount), buffers: owner.buffers,
        children: owner.children, dictionary: nil,
        release: releaseArray, private_data: Unmanaged.passRetained(owner).toOpaque())
    return owner
}

// MARK: - Batch

enum ArrowExporter {
    /// Exports a schema without data (`ArrowField.export`): a "+s" struct of `fields`.
    static func exportSchema(fields: [ArrowField], schema: UnsafeMutablePointer<ArrowSchema>) {
        let owner = fillSchema(schema, format: "+s", name: "", flags: 0, childCount: fields.count)
        for (i, field) in fields.enumerated() {
            _ = fillSchema(owner.children![i]!, format: field.format.formatString, name: field.name,
                           flags: field.nullable ? Int64(ARROW_FLAG_NULLABLE) : 0, childCount: 0)
        }
    }

    /// Exports columns as one struct batch; ownership of every buffer moves into the structs.
    static func export(columns: [ArrowColumnStorage], length: Int,
                       schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>) {
        let schemaOwner = fillSchema(schema, format: "+s", name: "", flags: 0, childCount: columns.count)
        // The struct array has no validity bitmap of its own: one NULL buffer.
        let arrayOwner = fillArray(array, length: length, nullCount: 0, buffers: [nil], childCount: columns.count)
        for (i, column) in columns.enumerated() {
            _ = fillSchema(schemaOwner.children![i]!, format: column.format.formatString, name: column.name,
                           flags: column.nullable ? Int64(ARROW_FLAG_NULLABLE) : 0, childCount: 0)
            _ = fillArray(arrayOwner.children![i]!, length: column.length, nullCount: column.nullCount,
                          buffers: column.buffers, childCount: 0)
        }
    }
}
