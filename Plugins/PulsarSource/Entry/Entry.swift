import PluginKit
import PulsarSource

// The plugin library's only export: the C entry point the host looks up with dlsym.
@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    pulsarSourceEntry(host, descriptor, error)
}
