import CYaml

/// libyaml's event stream over a text, for the checks that need what Yams' nodes do not keep
/// (how far aliases expand, which scalars were untagged and plain).
enum YAMLEvents {
    /// Calls `body` with each event of `text`, in order, until it returns false or the stream
    /// ends. Events after a syntax error are not delivered: Yams' parser reports that error.
    static func forEach(in text: String, _ body: (yaml_event_t) -> Bool) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                guard event.type != YAML_STREAM_END_EVENT, body(event) else { return }
            }
        }
    }
}
