import ArgumentParser
import Foundation
import SluiceCore

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List, inspect and check plugins; start a new one.",
        subcommands: [List.self, Inspect.self, PluginsCheckCommand.self, PluginsNewCommand.self, PluginsHeaderCommand.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the plugins in the plugin search path.")
        @OptionGroup var plugins: PluginPathOptions

        func run() throws {
            let searchPath = plugins.searchPath
            print("plugin search path: \(searchPath.directories.joined(separator: ":"))")
            for path in searchPath.allSharedObjects() {
                do {
                    let p = try PluginLoader.load(path)
                    print("\(pad(p.name, 18)) \(pad(p.kind.rawValue, 10)) \(pad(p.version, 8)) ABI \(p.abiVersionString)  \(path)")
                } catch let error as PluginLoadError where error.reason == .missingEntrySymbol {
                    continue  // an ordinary library that happens to sit beside the plugins
                } catch {
                    print("(unusable)          \(path): \(error)")
                }
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a plugin's name, kind, version, ABI version and configuration schema.")
        @Argument(help: "A path to a plugin .so, or a plugin name from the search path.") var plugin: String
        @OptionGroup var plugins: PluginPathOptions

        func run() throws {
            let (path, tried) = plugins.searchPath.resolve(plugin)
            guard let path else {
                printError("plugin '\(plugin)' not found; tried \(tried.joined(separator: ", "))")
                throw ExitCode.failure
            }
            let p: LoadedPlugin
            do { p = try PluginLoader.load(path) } catch {
                printError("\(error)")
                throw ExitCode.failure
            }
            print("name:        \(p.name)")
            print("kind:        \(p.kind.rawValue)")
            print("version:     \(p.version)")
            print("ABI version: \(p.abiVersionString)")
            print("file:        \(path)")
            print("description: \(p.summary)")
            print("config schema:")
            print(prettyJSON(p.configSchemaJSON ?? "{}"))
        }
    }
}

func prettyJSON(_ text: String) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
          let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else { return text }
    return String(decoding: data, as: UTF8.self)
}
