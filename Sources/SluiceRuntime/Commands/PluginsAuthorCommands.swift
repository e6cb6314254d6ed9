import ArgumentParser
import Foundation
import PluginSDK

/// `sluice plugins header`: the ABI header this binary speaks, so an author needs nothing from
/// the source repository to build a plugin.
struct PluginsHeaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "header",
        abstract: "Print the plugin ABI header (sluice_plugin.h), or write it and a pkg-config file to a folder.")

    @Option(help: "Write sluice_plugin.h and sluice-plugin.pc into this folder instead of printing.")
    var output: String?

    func run() throws {
        guard let output else {
            print(PluginHeader.text, terminator: "")
            return
        }
        let directory = URL(fileURLWithPath: output).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try PluginHeader.text.write(toFile: directory + "/sluice_plugin.h", atomically: true, encoding: .utf8)
            try PluginHeader.pkgConfig(directory: directory).write(toFile: directory + "/sluice-plugin.pc", atomically: true, encoding: .utf8)
        } catch {
            printError("cannot write the header into \(directory): \(error.localizedDescription)")
            throw ExitCode.failure
        }
        print("wrote \(directory)/sluice_plugin.h (ABI \(PluginHeader.version)) and \(directory)/sluice-plugin.pc")
        print("build with: cc -shared -fPIC $(PKG_CONFIG_PATH=\(directory) pkg-config --cflags sluice-plugin) ...")
    }
}

/// `sluice plugins new`: a buildable skeleton of a plugin with a test that runs the checker.
struct PluginsNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a new plugin's skeleton: source, build file, header or bindings, README and a test running `sluice plugins check`.")

    @Argument(help: "The plugin's name: lowercase letters, digits and '-' (e.g. my-sink).") var name: String
    @Option(help: "source, transform or sink.") var kind: String
    @Option(help: "c, cpp, rust or swift.") var lang: String
    @Option(help: "The folder to create (default: ./NAME). It must not exist yet.") var output: String?

    func run() throws {
        guard let kind = PluginTemplate.Kind(rawValue: kind) else {
            printError("--kind \(self.kind): use source, transform or sink")
            throw ExitCode(ExitStatus.configuration)
        }
        guard let language = PluginTemplate.Language(rawValue: lang) else {
            printError("--lang \(lang): use c, cpp, rust or swift")
            throw ExitCode(ExitStatus.configuration)
        }
        let files: [PluginTemplate.File]
        do { files = try PluginTemplate.files(name: name, kind: kind, language: language) } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
        let directory = URL(fileURLWithPath: output ?? name).standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: directory) else {
            printError("\(directory) already exists; choose another --output, or remove it")
            throw ExitCode.failure
        }
        do {
            for file in files {
                let path = directory + "/" + file.path
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
                if file.executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
            }
        } catch {
            printError("cannot write \(directory): \(error.localizedDescription)")
            throw ExitCode.failure
        }
        print("wrote a \(language.rawValue) \(kind.rawValue) plugin '\(name)' to \(directory):")
        for file in files.map(\.path).sorted() { print("  \(file)") }
        print("next: cd \(directory) && ./test.sh   (builds it and runs `sluice plugins check` on it; see README.md)")
    }
}
