import Foundation

/// Polls a file twice a second and calls `changed` (on its own queue, one call at a time)
/// when its content differs from the last content seen. Polling, unlike inotify, also sees an
/// editor's replace-by-rename and files on network mounts.
final class ConfigWatcher {
    private let timer: DispatchSourceTimer
    private var last: Data?

    init(path: String, changed: @escaping () -> Void) {
        last = FileManager.default.contents(atPath: path)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "sluice.watch"))
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [weak self] in
            guard let self, let now = FileManager.default.contents(atPath: path), now != self.last else { return }
            self.last = now
            changed()
        }
        timer.resume()
    }

    deinit { timer.cancel() }
}
