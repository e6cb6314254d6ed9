import Foundation
import XCTest
import Yams

/// The manifests in deploy/kubernetes agree with each other and with the binary: the instance
/// count with the replicas, the probes and Prometheus port with the pipeline's admin address, the
/// checkpoint volume with checkpointing.directory, the mounted pipeline file with the container's
/// arguments, every SLUICE_ variable with `sluice run --help`, every secret reference with the
/// Secret; the pipeline file validates; and every manifest passes the Kubernetes API schemas
/// (`kubernetes-validate`, offline).
final class KubernetesManifestTests: XCTestCase {
    static let folder = Built.packageRoot + "/deploy/kubernetes"
    /// The Kubernetes API version the manifests are checked against.
    static let kubernetesVersion = "1.31.0"

    /// The YAML files of deploy/kubernetes, sorted.
    static func manifestFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }

    func testManifestsAgreeWithEachOtherAndWithTheBinary() throws {
        // Every file parses, to one mapping.
        let files = try Self.manifestFiles()
        XCTAssertTrue(files.contains("kustomization.yaml"), "deploy/kubernetes has a kustomization.yaml: \(files)")
        var documents: [(file: String, body: [String: Any])] = []
        for file in files {
            let text = try String(contentsOfFile: Self.folder + "/" + file, encoding: .utf8)
            do {
                documents.append((file, try mapping(try Yams.load(yaml: text), file)))
            } catch {
                XCTFail("\(file) does not parse: \(error)")
            }
        }
        guard documents.count == files.count else { return }

        // The kustomization lists every other file, and nothing else.
        let kustomization = try XCTUnwrap(documents.first { $0.file == "kustomization.yaml" }).body
        XCTAssertEqual(Set(try strings(kustomization["resources"], "kustomization.yaml: resources")),
                       Set(files.filter { $0 != "kustomization.yaml" }), "kustomization.yaml lists every manifest")

        func resource(_ kind: String) throws -> (file: String, body: [String: Any]) {
            let found = documents.filter { $0.body["kind"] as? String == kind }
            guard found.count == 1 else { throw TestFailure("expected one \(kind) in deploy/kubernetes, found \(found.map(\.file))") }
            return found[0]
        }
        let statefulSet = try resource("StatefulSet")
        let configMap = try resource("ConfigMap")
        let secret = try resource("Secret")
        let service = try resource("Service")
        let s = statefulSet.file

        let statefulSetName = try string(try mapping(statefulSet.body["metadata"], "\(s): metadata")["name"], "\(s): metadata.name")
        let spec = try mapping(statefulSet.body["spec"], "\(s): spec")
        let replicas = try XCTUnwrap(spec["replicas"] as? Int, "\(s): spec.replicas")
        let template = try mapping(spec["template"], "\(s): spec.template")
        let podSpec = try mapping(template["spec"], "\(s): spec.template.spec")
        let containers = try mappings(podSpec["containers"], "\(s): containers")
        let container = try XCTUnwrap(containers.first { $0["name"] as? String == "sluice" }, "\(s): a container named sluice")
        let env = try mappings(container["env"], "\(s): env")
        func variable(_ name: String) -> [String: Any]? { env.first { $0["name"] as? String == name } }

        // SLUICE_INSTANCES equals replicas; SLUICE_POD_NAME comes from the pod's name.
        let instances = try string(variable("SLUICE_INSTANCES")?["value"], "\(s): env SLUICE_INSTANCES")
        XCTAssertEqual(Int(instances), replicas, "\(s): SLUICE_INSTANCES must equal replicas")
        let podName = try mapping(variable("SLUICE_POD_NAME")?["valueFrom"], "\(s): env SLUICE_POD_NAME.valueFrom")
        XCTAssertEqual(try mapping(podName["fieldRef"], "\(s): SLUICE_POD_NAME fieldRef")["fieldPath"] as? String, "metadata.name")

        // The pipeline file in the arguments is the ConfigMap's key, where its volume is mounted.
        let args = try strings(container["args"], "\(s): args")
        XCTAssertEqual(args.first, "run", "\(s): the container runs `sluice run FILE`")
        let pipelinePath = try XCTUnwrap(args.dropFirst().first, "\(s): args name the pipeline file")
        let configMapName = try string(try mapping(configMap.body["metadata"], "\(configMap.file): metadata")["name"], "ConfigMap name")
        let volumes = try mappings(podSpec["volumes"], "\(s): volumes")
        let pipelineVolume = try XCTUnwrap(volumes.first { ($0["configMap"] as? [AnyHashable: Any])?["name"] as? String == configMapName },
                                           "\(s): a volume of ConfigMap \(configMapName)")
        let volumeMounts = try mappings(container["volumeMounts"], "\(s): volumeMounts")
        let pipelineMount = try XCTUnwrap(volumeMounts.first { $0["name"] as? String == pipelineVolume["name"] as? String },
                                          "\(s): the ConfigMap volume is mounted")
        let mountPath = try string(pipelineMount["mountPath"], "\(s): the ConfigMap's mountPath")
        let fileName = (pipelinePath as NSString).lastPathComponent
        XCTAssertEqual(mountPath + "/" + fileName, pipelinePath, "\(s): the pipeline file is in the ConfigMap's mount")
        let items = try mapping(pipelineVolume["configMap"], "configMap volume")["items"].map { try mappings($0, "configMap items") } ?? []
        let key = try items.isEmpty ? fileName : string(items.first { $0["path"] as? String == fileName }?["key"], "\(s): the item mounted as \(fileName)")
        let data = try mapping(configMap.body["data"], "\(configMap.file): data")
        let pipelineText = try string(data[key], "\(configMap.file): data.\(key) (the file \(pipelinePath))")
        let pipeline = try mapping(try Yams.load(yaml: pipelineText), "the pipeline \(key)")

        // The admin port: the pipeline's admin.address, the container port named admin, the
        // probes, the Prometheus annotations and the Service.
        let address = try string(try mapping(pipeline["admin"], "pipeline admin")["address"], "pipeline admin.address")
        let adminPort = try XCTUnwrap(address.split(separator: ":").last.flatMap { Int($0) }, "admin.address '\(address)' has a port")
        let ports = try mappings(container["ports"], "\(s): ports")
        let adminContainerPort = try XCTUnwrap(ports.first { $0["name"] as? String == "admin" }, "\(s): a container port named admin")
        XCTAssertEqual(adminContainerPort["containerPort"] as? Int, adminPort, "\(s): port admin is the pipeline's admin port")
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = try mapping(try mapping(container[probe], "\(s): \(probe)")["httpGet"], "\(s): \(probe).httpGet")
            XCTAssertEqual(get["path"] as? String, path, "\(s): \(probe) path")
            XCTAssertEqual(get["port"] as? String, "admin", "\(s): \(probe) port")
        }
        let annotations = try mapping(try mapping(template["metadata"], "\(s): template.metadata")["annotations"], "\(s): pod annotations")
        XCTAssertEqual(annotations["prometheus.io/scrape"] as? String, "true")
        XCTAssertEqual(annotations["prometheus.io/port"] as? String, String(adminPort), "\(s): Prometheus scrapes the admin port")
        XCTAssertEqual(annotations["prometheus.io/path"] as? String, "/metrics")
        let servicePorts = try mappings(try mapping(service.body["spec"], "\(service.file): spec")["ports"], "\(service.file): ports")
        XCTAssertEqual(servicePorts.first { $0["name"] as? String == "admin" }?["port"] as? Int, adminPort, "\(service.file): port admin")

        // The checkpoint volume is mounted at checkpointing.directory.
        let directory = try string(try mapping(pipeline["checkpointing"], "pipeline checkpointing")["directory"], "checkpointing.directory")
        let claims = try mappings(spec["volumeClaimTemplates"], "\(s): volumeClaimTemplates")
        let claimNames = try claims.map { try string(try mapping($0["metadata"], "claim metadata")["name"], "claim name") }
        let checkpointMounts = volumeMounts.filter { claimNames.contains($0["name"] as? String ?? "") }
        XCTAssertEqual(checkpointMounts.count, 1, "\(s): one claim template mounted: \(claimNames)")
        XCTAssertEqual(checkpointMounts.first?["mountPath"] as? String, directory, "\(s): the checkpoint volume is mounted at checkpointing.directory")

        // Every secret reference names a key of the Secret.
        let secretName = try string(try mapping(secret.body["metadata"], "\(secret.file): metadata")["name"], "Secret name")
        let secretKeys = Set((secret.body["stringData"] as? [AnyHashable: Any] ?? [:]).keys.compactMap { $0 as? String })
            .union((secret.body["data"] as? [AnyHashable: Any] ?? [:]).keys.compactMap { $0 as? String })
        var references = 0
        for entry in env {
            guard let reference = (entry["valueFrom"] as? [AnyHashable: Any])?["secretKeyRef"] as? [AnyHashable: Any] else { continue }
            references += 1
            XCTAssertEqual(reference["name"] as? String, secretName, "\(s): env \(entry["name"] ?? "?") refers to another Secret")
            XCTAssertTrue(secretKeys.contains(reference["key"] as? String ?? ""),
                          "\(s): env \(entry["name"] ?? "?") refers to key '\(reference["key"] ?? "?")', not in \(secret.file) (\(secretKeys.sorted()))")
        }
        XCTAssertGreaterThanOrEqual(references, 1, "\(s): the credentials come from the Secret")

        // SIGTERM takes a final checkpoint; it needs time.
        XCTAssertGreaterThanOrEqual(podSpec["terminationGracePeriodSeconds"] as? Int ?? 30, 60, "\(s): terminationGracePeriodSeconds")

        // Every SLUICE_ variable the container sets is one the binary documents.
        let help = try runProcess(Built.sluice, ["run", "--help"])
        XCTAssertEqual(help.status, 0, help.output)
        for name in env.compactMap({ $0["name"] as? String }) where name.hasPrefix("SLUICE_") {
            XCTAssertTrue(help.output.contains(name), "\(s): the container sets \(name), which `sluice run --help` does not mention:\n\(help.output)")
        }

        // The pipeline file validates with the container's environment: its literal values, the
        // last pod's name, and a dummy for each secret.
        var environment: [String: String] = [:]
        for entry in env {
            guard let name = entry["name"] as? String else { continue }
            if let value = entry["value"] as? String {
                environment[name] = value
            } else if let from = entry["valueFrom"] as? [AnyHashable: Any] {
                if from["secretKeyRef"] != nil { environment[name] = "dummy-secret" }
                if from["fieldRef"] != nil { environment[name] = "\(statefulSetName)-\(replicas - 1)" }
            }
        }
        let dir = makeTemporaryDirectory("kubernetes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pipelineText.write(toFile: dir + "/" + fileName, atomically: true, encoding: .utf8)
        let validation = try runProcess(Built.sluice, ["validate", dir + "/" + fileName], environment: environment)
        XCTAssertEqual(validation.status, 0, "the pipeline in \(configMap.file) does not validate:\n\(validation.output)")
    }

    /// `kubernetes-validate` (PyPI, in .venv) checks every manifest against the Kubernetes API
    /// schemas, rejecting unknown fields.
    func testManifestsMatchTheKubernetesAPISchemas() throws {
        let validator = Built.packageRoot + "/.venv/bin/kubernetes-validate"
        guard FileManager.default.isExecutableFile(atPath: validator) else {
            XCTFail("\(validator) is missing; scripts/test installs it into .venv (ensure_venv kubernetes-validate)")
            return
        }
        let files = try Self.manifestFiles().filter { $0 != "kustomization.yaml" }.map { Self.folder + "/" + $0 }
        XCTAssertFalse(files.isEmpty)
        let result = try runProcess(validator, ["--strict", "-k", Self.kubernetesVersion] + files)
        XCTAssertEqual(result.status, 0, "kubernetes-validate --strict -k \(Self.kubernetesVersion) failed:\n\(result.output)")
    }

    // MARK: - Reading what Yams returns

    private func mapping(_ value: Any?, _ what: String) throws -> [String: Any] {
        guard let dictionary = value as? [AnyHashable: Any] else { throw TestFailure("\(what): expected a mapping, got \(String(describing: value))") }
        var result: [String: Any] = [:]
        for (key, value) in dictionary {
            guard let key = key as? String else { throw TestFailure("\(what): key \(key) is not a string") }
            result[key] = value
        }
        return result
    }

    private func mappings(_ value: Any?, _ what: String) throws -> [[String: Any]] {
        guard let list = value as? [Any] else { throw TestFailure("\(what): expected a list, got \(String(describing: value))") }
        return try list.enumerated().map { try mapping($0.element, "\(what)[\($0.offset)]") }
    }

    private func strings(_ value: Any?, _ what: String) throws -> [String] {
        guard let list = value as? [Any] else { throw TestFailure("\(what): expected a list, got \(String(describing: value))") }
        return try list.enumerated().map { try string($0.element, "\(what)[\($0.offset)]") }
    }

    private func string(_ value: Any?, _ what: String) throws -> String {
        guard let text = value as? String else { throw TestFailure("\(what): expected a string, got \(String(describing: value))") }
        return text
    }
}
