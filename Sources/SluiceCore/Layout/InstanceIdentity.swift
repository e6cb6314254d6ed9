/// Which instance of how many this process is, from (first that applies) `--instance I/N`,
/// `SLUICE_INSTANCE=I/N`, or a StatefulSet pod name `NAME-I` (`SLUICE_POD_NAME`, else
/// `HOSTNAME`) together with `SLUICE_INSTANCES=N`. None of them: instance 0 of 1.
///
/// Pure: the caller passes the flag and the environment. Any thread.
public enum InstanceIdentity {
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Instance and instance count.
    public static func resolve(flag: String?, environment: [String: String]) throws -> (instance: Int, instances: Int) {
        if let flag { return try parse(flag, source: "--instance") }
        if let value = environment["SLUICE_INSTANCE"], !value.isEmpty { return try parse(value, source: "SLUICE_INSTANCE") }
        if let countText = environment["SLUICE_INSTANCES"], !countText.isEmpty {
            guard let count = Int(countText), count >= 1 else {
                throw Problem(description: "SLUICE_INSTANCES='\(countText)' is not a positive number of instances")
            }
            let (variable, podName) = environment["SLUICE_POD_NAME"].flatMap { $0.isEmpty ? nil : ("SLUICE_POD_NAME", $0) }
                ?? ("HOSTNAME", environment["HOSTNAME"] ?? "")
            guard let dash = podName.lastIndex(of: "-"), let ordinal = Int(podName[podName.index(after: dash)...]) else {
                throw Problem(description: "SLUICE_INSTANCES=\(count) is set but \(variable)='\(podName)' is not a StatefulSet pod name ending in -ORDINAL; set SLUICE_POD_NAME from the pod's metadata.name, or give --instance I/N")
            }
            guard ordinal < count else {
                throw Problem(description: "pod \(podName) is ordinal \(ordinal), but SLUICE_INSTANCES=\(count) allows 0 to \(count - 1); make SLUICE_INSTANCES equal the StatefulSet's replicas")
            }
            return (ordinal, count)
        }
        return (0, 1)
    }

    /// "I/N" with 0 <= I < N.
    public static func parse(_ text: String, source: String) throws -> (instance: Int, instances: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let instance = Int(parts[0]), let count = Int(parts[1]) else {
            throw Problem(description: "\(source) '\(text)' is not I/N (instance I of N, counted from 0, e.g. 0/3)")
        }
        guard count >= 1, instance >= 0, instance < count else {
            throw Problem(description: "\(source) '\(text)': the instance must be from 0 to N-1 and N at least 1")
        }
        return (instance, count)
    }
}
