import SluiceCore

extension PipelinePlan {
    /// The same plan with another main sink (after a swap).
    func replacingSink(_ sink: OperatorSpec, plugin: LoadedPlugin) -> PipelinePlan {
        var spec = self.spec
        spec.sink = sink
        var plugins = self.plugins
        plugins[1 + spec.transforms.count] = plugin
        return PipelinePlan(spec: spec, plugins: plugins)
    }
}
