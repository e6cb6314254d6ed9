import Foundation
import ObjectStore
import SluiceCore

/// Checkpoints under a prefix of an S3-compatible bucket. A PUT is atomic and durable when it
/// returns, so an object under its final key is always complete and nothing is left to clean
/// after a crash; a name that must not be taken twice (a savepoint) is written with
/// `If-None-Match: *`.
///
/// Requests are retried with backoff (``S3Configuration``) for a few seconds; a store that
/// stays away longer fails the call, which aborts the checkpoint in progress: the next one
/// tries again.
public struct S3CheckpointStorage: CheckpointStorage {
    public let client: S3Client
    /// For operators' staging: retries unanswered requests until the store answers, so a
    /// sink waits out an outage (backpressure) instead of failing.
    public let stagingClient: S3Client
    public let root: S3Location
    public var location: String { root.description }

    public init(client: S3Client, stagingClient: S3Client, root: S3Location) {
        self.client = client
        self.stagingClient = stagingClient
        self.root = root
    }

    /// The storage `settings` and the environment describe, for `directory`.
    /// `attempts` per request: 1 for a check that reports at once.
    public static func open(directory: String, settings: ObjectStoreSettings?, attempts: Int? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3CheckpointStorage {
        do {
            let root = try S3Location(directory)
            var configuration = try S3Configuration.resolve(endpoint: settings?.endpoint, region: settings?.region, pathStyle: settings?.pathStyle,
                                                            environment: environment)
            // A manifest write is retried for about 10 s: a store away longer aborts the
            // checkpoint, and the next one tries again.
            configuration.requestTimeout = .seconds(10)
            configuration.maxAttempts = attempts ?? 5
            let client = S3Client(configuration: configuration)
            client.log = { Log.warn($0) }
            var staging = configuration
            staging.requestTimeout = .seconds(30)
            staging.maxAttempts = attempts ?? .max
            let stagingClient = S3Client(configuration: staging)
            stagingClient.log = { Log.warn($0) }
            return S3CheckpointStorage(client: client, stagingClient: stagingClient, root: root)
        } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: "checkpointing.directory \(directory): \(error)")
        }
    }

    /// Fails with one line naming the cause when the bucket is missing, the credentials are
    /// refused or the store does not answer (`validate --connect`, `checkpoints list`).
    public func checkReachable() throws {
        do { try client.checkBucket(root) } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: "checkpointing.directory \(root): \(error)")
        }
    }

    public func read(_ key: String) throws -> [UInt8]? {
        do { return try client.get(root, key: key) } catch ObjectStoreError.notFound {
            return nil
        } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func replace(_ key: String, bytes: [UInt8]) throws {
        do { try client.put(root, key: key, body: bytes) } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func createIfAbsent(_ key: String, bytes: [UInt8]) throws -> Bool {
        do { return try client.putIfAbsent(root, key: key, body: bytes) } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func list(folder: String) throws -> [StoredObject] {
        do {
            let prefix = folder + "/"
            return try client.list(root, prefix: prefix).compactMap { object in
                let name = String(object.key.dropFirst(prefix.count))
                // Only objects directly in the folder.
                guard !name.isEmpty, !name.contains("/") else { return nil }
                return StoredObject(name: name, size: object.size, modified: object.modified ?? Date(timeIntervalSince1970: 0))
            }
        } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func folders() throws -> [String] {
        do {
            return try client.commonPrefixes(root).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func remove(_ key: String) throws {
        do { try client.delete(root, key: key) } catch let error as ObjectStoreError {
            throw CheckpointStoreError(message: error.description)
        }
    }

    public func below(_ folder: String) -> any CheckpointStorage {
        S3CheckpointStorage(client: client, stagingClient: stagingClient, root: root.appending(folder + "/"))
    }

    /// A PUT leaves nothing behind.
    public func removeLeftovers(folder: String) throws -> [String] { [] }
}
