import Glibc
import PluginKit

/// The buffers of a column built here, `malloc`ed, handed to `ComposedBatch` with ownership.
struct OwnedColumn {
    var field: ArrowField
    var length: Int
    var nullCount: Int
    /// validity (or nil), values or offsets, and character data for strings.
    var buffers: [UnsafeMutableRawPointer?]
}

/// Builds an output batch from an input batch plus one new column, without copying the input:
/// the output's other columns are the input's own buffers, borrowed.
///
/// Every struct of the output (the "+s" parent and each child, schema and array) holds one
/// reference to a shared owner, which keeps the input batch alive and owns the new column's
/// buffers; the owner goes when the last struct is released. So a consumer may release the
/// output whole, or move a child out first and release it later, as the C Data Interface
/// allows. Allocates per batch, never per row.
///
/// Built on the operator thread; the result moves like any batch.
enum ComposedBatch {
    /// - Parameters:
    ///   - input: consumed (kept alive by the output until it is released).
    ///   - column: the new column, placed at `index`: replacing input column `index` when
    ///     `replaces`, else appended (`index` == the input's column count).
    static func make(input: ArrowBatch, column: OwnedColumn, index: Int, replaces: Bool) -> ArrowBatch {
        let inSchema = input.schema.pointee, inArray = input.array.pointee
        let inputCount = Int(inSchema.n_children)
        let count = replaces ? inputCount : inputCount + 1
        let owner = Owner(input: input, column: column, count: count)
        let parentOffset = Int(inArray.offset)

        for i in 0..<count {
            let schema = owner.childSchemas + i
            let array = owner.childArrays + i
            owner.schemaChildren[i] = schema
            owner.arrayChildren[i] = array
            if i == index {
                schema.initialize(to: ArrowSchema(
                    format: UnsafePointer(owner.format), name: UnsafePointer(owner.name), metadata: nil,
                    flags: column.field.nullable ? Int64(ARROW_FLAG_NULLABLE) : 0, n_children: 0, children: nil,
                    dictionary: nil, release: releaseChildSchema, private_data: owner.retain()))
                array.initialize(to: ArrowArray(
                    length: Int64(column.length), null_count: Int64(column.nullCount), offset: 0,
                    n_buffers: Int64(column.buffers.count), n_children: 0, buffers: owner.columnBuffers,
                    children: nil, dictionary: nil, release: releaseChildArray, private_data: owner.retain()))
            } else {
                let source = i < index || replaces ? i : i - 1
                var childSchema = inSchema.children![source]!.pointee
                childSchema.release = releaseChildSchema
                childSchema.private_data = owner.retain()
                schema.initialize(to: childSchema)
                var childArray = inArray.children![source]!.pointee
                if parentOffset != 0 {
                    // The output's parent has offset 0: fold the input parent's offset into
                    // the borrowed child (its null count is then unknown for the slice).
                    childArray.offset += Int64(parentOffset)
                    childArray.length -= Int64(parentOffset)
                    if childArray.null_count != 0 { childArray.null_count = -1 }
                }
                childArray.release = releaseChildArray
                childArray.private_data = owner.retain()
                array.initialize(to: childArray)
            }
        }

        let output = ArrowBatch()
        output.schema.pointee = ArrowSchema(
            format: UnsafePointer(owner.structFormat), name: UnsafePointer(owner.emptyName), metadata: nil, flags: 0,
            n_children: Int64(count), children: owner.schemaChildren, dictionary: nil,
            release: releaseParentSchema, private_data: owner.retain())
        output.array.pointee = ArrowArray(
            length: inArray.length, null_count: 0, offset: 0, n_buffers: 1, n_children: Int64(count),
            buffers: owner.parentBuffers, children: owner.arrayChildren, dictionary: nil,
            release: releaseParentArray, private_data: owner.retain())
        return output
    }

    /// Everything the output borrows or owns.
    private final class Owner {
        let input: ArrowBatch
        let columnBuffers: UnsafeMutablePointer<UnsafeRawPointer?>
        let columnBufferCount: Int
        let format: UnsafeMutablePointer<CChar>
        let name: UnsafeMutablePointer<CChar>
        let structFormat = strdup("+s")!
        let emptyName = strdup("")!
        let childSchemas: UnsafeMutablePointer<ArrowSchema>
        let childArrays: UnsafeMutablePointer<ArrowArray>
        let schemaChildren: UnsafeMutablePointer<UnsafeMutablePointer<ArrowSchema>?>
        let arrayChildren: UnsafeMutablePointer<UnsafeMutablePointer<ArrowArray>?>
        let parentBuffers: UnsafeMutablePointer<UnsafeRawPointer?>
        let count: Int

        init(input: ArrowBatch, column: OwnedColumn, count: Int) {
            self.input = input
            self.count = count
            columnBufferCount = column.buffers.count
            columnBuffers = .allocate(capacity: column.buffers.count)
            for (i, b) in column.buffers.enumerated() { columnBuffers[i] = UnsafeRawPointer(b) }
            format = strdup(column.field.format.formatString)
            name = strdup(column.field.name)
            childSchemas = .allocate(capacity: count)
            childArrays = .allocate(capacity: count)
            schemaChildren = .allocate(capacity: count)
            arrayChildren = .allocate(capacity: count)
            parentBuffers = .allocate(capacity: 1)
            parentBuffers[0] = nil
        }

        deinit {
            // The structs themselves are plain memory (released already); the input goes with us.
            childSchemas.deallocate()
            childArrays.deallocate()
            schemaChildren.deallocate()
            arrayChildren.deallocate()
            parentBuffers.deallocate()
            for i in 0..<columnBufferCount { free(UnsafeMutableRawPointer(mutating: columnBuffers[i])) }
            columnBuffers.deallocate()
            free(format)
            free(name)
            free(structFormat)
            free(emptyName)
        }

        func retain() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

        static func release(_ opaque: UnsafeMutableRawPointer?) {
            guard let opaque else { return }
            Unmanaged<Owner>.fromOpaque(opaque).release()
        }
    }

    // C callbacks: mark released first, then drop the reference (which may free the struct).

    private static let releaseChildSchema: @convention(c) (UnsafeMutablePointer<ArrowSchema>?) -> Void = { schema in
        guard let schema, schema.pointee.release != nil else { return }
        let owner = schema.pointee.private_data
        schema.pointee.release = nil
        schema.pointee.private_data = nil
        Owner.release(owner)
    }

    private static let releaseChildArray: @convention(c) (UnsafeMutablePointer<ArrowArray>?) -> Void = { array in
        guard let array, array.pointee.release != nil else { return }
        let owner = array.pointee.private_data
        array.pointee.release = nil
        array.pointee.private_data = nil
        Owner.release(owner)
    }

    private static let releaseParentSchema: @convention(c) (UnsafeMutablePointer<ArrowSchema>?) -> Void = { schema in
        guard let schema, schema.pointee.release != nil else { return }
        for i in 0..<Int(schema.pointee.n_children) {
            if let child = schema.pointee.children?[i], let release = child.pointee.release { release(child) }
        }
        let owner = schema.pointee.private_data
        schema.pointee.release = nil
        schema.pointee.private_data = nil
        Owner.release(owner)
    }

    private static let releaseParentArray: @convention(c) (UnsafeMutablePointer<ArrowArray>?) -> Void = { array in
        guard let array, array.pointee.release != nil else { return }
        for i in 0..<Int(array.pointee.n_children) {
            if let child = array.pointee.children?[i], let release = child.pointee.release { release(child) }
        }
        let owner = array.pointee.private_data
        array.pointee.release = nil
        array.pointee.private_data = nil
        Owner.release(owner)
    }
}

extension ComposedBatch {
    /// A copy of `batch` without `rows` (ascending): the slow path, taken only for batches in
    /// which a row was rejected, since a rejected row must not reach the output.
    static func dropping(rows: [Int], from batch: ArrowBatch) throws -> ArrowBatch {
        let view = try batch.view()
        var keep = [Bool](repeating: true, count: view.length)
        for row in rows { keep[row] = false }
        let kept = keep.lazy.filter { $0 }.count
        let builders = view.columns.map { ArrowColumnBuilder(name: $0.name, format: $0.format, nullable: $0.nullable, capacity: kept) }
        for (builder, column) in zip(builders, view.columns) {
            for row in 0..<view.length where keep[row] { builder.append(row: row, of: column) }
        }
        return ArrowBatchBuilder(columns: builders).finish()
    }
}
