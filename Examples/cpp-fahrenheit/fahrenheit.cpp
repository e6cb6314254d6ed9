// fahrenheit: a sluice transform plugin in C++17 with nothing but the standard library.
//
// Passes every input column through unchanged and appends a nullable float64 column
// `output` = `column` * 9 / 5 + 32 (null where `column` is null). Configuration:
// {"column": "temperature", "output": "temperature_f"}, both optional with those defaults.
//
//   g++ -std=c++17 -O2 -shared -fPIC -I Sources/PluginABI/include -o libfahrenheit.so Examples/cpp-fahrenheit/fahrenheit.cpp
//
// Ownership, per the Arrow C Data Interface: the input batch is moved into a shared holder.
// The output struct array and each pass-through child are separate Arrow arrays that share
// that holder, so the consumer may release them in any order, or move a child out and drop
// the rest; the input's own release callbacks run once, when the last of them is released.
// Pass-through children keep the input child's buffers and offset; the output struct keeps
// the input's offset and length, so the new child is laid out with offset + length values.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "sluice_plugin.h"

namespace {

// ---- errors -------------------------------------------------------------------------------

struct PluginFailure {
  std::string message;
  std::string config_path;  // empty: not a configuration error
  bool has_path = false;
};

PluginFailure failure(std::string message) { return PluginFailure{std::move(message), "", false}; }

PluginFailure config_failure(std::string message, std::string path) {
  return PluginFailure{std::move(message), std::move(path), true};
}

// Copies `text` NUL-terminated into `buffer`, cut before a partial UTF-8 character.
void copy_text(char* buffer, size_t capacity, const std::string& text) {
  if (capacity == 0) return;
  size_t end = text.size() < capacity - 1 ? text.size() : capacity - 1;
  while (end > 0 && end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) end--;
  std::memcpy(buffer, text.data(), end);
  buffer[end] = '\0';
}

sluice_status report(sluice_error* error, const PluginFailure& f) {
  if (error != nullptr) {
    copy_text(error->message, sizeof error->message, f.message);
    if (f.has_path) copy_text(error->config_path, sizeof error->config_path, f.config_path);
  }
  return SLUICE_ERROR;
}

// Runs `body` (returning SLUICE_OK or throwing PluginFailure); no exception crosses into C.
template <typename Body>
sluice_status guarded(sluice_error* error, const char* what, Body&& body) noexcept {
  try {
    return body();
  } catch (const PluginFailure& f) {
    return report(error, f);
  } catch (const std::bad_alloc&) {
    return report(error, failure(std::string("fahrenheit ran out of memory in ") + what + "; give the worker more memory or send smaller batches"));
  } catch (const std::exception& e) {
    return report(error, failure(std::string("fahrenheit failed unexpectedly in ") + what + " (" + e.what() + "); this is a bug in the plugin"));
  } catch (...) {
    return report(error, failure(std::string("fahrenheit failed unexpectedly in ") + what + "; this is a bug in the plugin"));
  }
}

// ---- configuration: a small strict JSON reader --------------------------------------------

struct Json {
  enum Type { Null, Bool, Number, String, Array, Object } type = Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const char* type_name() const {
    switch (type) {
      case Null: return "null";
      case Bool: return "a boolean";
      case Number: return "a number";
      case String: return "a string";
      case Array: return "an array";
      case Object: return "an object";
    }
    return "a value";
  }
};

class JsonReader {
 public:
  explicit JsonReader(const char* text) : text_(text) {}

  Json document() {
    space();
    Json value = read_value(0);
    space();
    if (text_[pos_] != '\0') fail("unexpected text after the JSON value");
    return value;
  }

 private:
  const char* text_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw config_failure("the configuration is not valid JSON: " + what + " at byte " + std::to_string(pos_), "");
  }

  void space() {
    while (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r') pos_++;
  }

  bool literal(const char* word) {
    size_t n = std::strlen(word);
    if (std::strncmp(text_ + pos_, word, n) != 0) return false;
    pos_ += n;
    return true;
  }

  Json read_value(int depth) {
    if (depth > 64) fail("nested too deeply");
    Json v;
    char c = text_[pos_];
    if (c == '{') {
      v.type = Json::Object;
      pos_++;
      space();
      if (text_[pos_] == '}') { pos_++; return v; }
      for (;;) {
        space();
        if (text_[pos_] != '"') fail("expected a member name in double quotes");
        std::string key = read_string();
        for (const auto& m : v.members)
          if (m.first == key) fail("the key \"" + key + "\" appears twice");
        space();
        if (text_[pos_] != ':') fail("expected ':'");
        pos_++;
        space();
        v.members.emplace_back(key, read_value(depth + 1));
        space();
        if (text_[pos_] == ',') { pos_++; continue; }
        if (text_[pos_] == '}') { pos_++; return v; }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.type = Json::Array;
      pos_++;
      space();
      if (text_[pos_] == ']') { pos_++; return v; }
      for (;;) {
        space();
        v.items.push_back(read_value(depth + 1));
        space();
        if (text_[pos_] == ',') { pos_++; continue; }
        if (text_[pos_] == ']') { pos_++; return v; }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') { v.type = Json::String; v.string = read_string(); return v; }
    if (literal("true")) { v.type = Json::Bool; v.boolean = true; return v; }
    if (literal("false")) { v.type = Json::Bool; return v; }
    if (literal("null")) return v;
    if (c == '-' || (c >= '0' && c <= '9')) { v.type = Json::Number; v.number = read_number(); return v; }
    fail(c == '\0' ? "the text ends where a value should be" : "expected a value");
  }

  double read_number() {
    size_t start = pos_;
    if (text_[pos_] == '-') pos_++;
    if (text_[pos_] == '0') {
      pos_++;
    } else if (text_[pos_] >= '1' && text_[pos_] <= '9') {
      while (text_[pos_] >= '0' && text_[pos_] <= '9') pos_++;
    } else {
      fail("a number needs digits");
    }
    if (text_[pos_] == '.') {
      pos_++;
      if (!(text_[pos_] >= '0' && text_[pos_] <= '9')) fail("a number needs digits after '.'");
      while (text_[pos_] >= '0' && text_[pos_] <= '9') pos_++;
    }
    if (text_[pos_] == 'e' || text_[pos_] == 'E') {
      pos_++;
      if (text_[pos_] == '+' || text_[pos_] == '-') pos_++;
      if (!(text_[pos_] >= '0' && text_[pos_] <= '9')) fail("a number needs digits in its exponent");
      while (text_[pos_] >= '0' && text_[pos_] <= '9') pos_++;
    }
    return std::strtod(std::string(text_ + start, pos_ - start).c_str(), nullptr);
  }

  unsigned hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
      char h = text_[pos_];
      value <<= 4;
      if (h >= '0' && h <= '9') value |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f') value |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') value |= unsigned(h - 'A' + 10);
      else fail("a \\u escape needs four hex digits");
      pos_++;
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }

  std::string read_string() {
    std::string out;
    pos_++;  // the opening quote
    for (;;) {
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '\0') fail("a string is not closed");
      if (c == '"') { pos_++; return out; }
      if (c < 0x20) fail("a control character must be escaped in a string");
      if (c != '\\') { out += char(c); pos_++; continue; }
      pos_++;
      char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code = hex4();
          if (code >= 0xD800 && code < 0xDC00) {
            if (text_[pos_] != '\\' || text_[pos_ + 1] != 'u') fail("a high surrogate must be followed by a low one");
            pos_ += 2;
            unsigned low = hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("a high surrogate must be followed by a low one");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code < 0xE000) {
            fail("a low surrogate without a high one");
          }
          append_utf8(out, code);
          break;
        }
        default: pos_--; fail("unknown escape in a string");
      }
    }
  }
};

struct Config {
  std::string column = "temperature";
  std::string output = "temperature_f";
};

Config parse_config(const char* json) {
  if (json == nullptr) return Config{};
  Json doc = JsonReader(json).document();
  if (doc.type != Json::Object)
    throw config_failure(std::string("the configuration must be an object such as {\"column\": \"temperature\", \"output\": \"temperature_f\"}, not ") + doc.type_name(), "");
  Config config;
  for (const auto& member : doc.members) {
    const std::string& key = member.first;
    std::string* target = key == "column" ? &config.column : key == "output" ? &config.output : nullptr;
    if (target == nullptr) {
      std::string pointer = "/";
      for (char c : key) pointer += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
      throw config_failure("unknown key '" + key + "'; the keys are column and output", pointer);
    }
    if (member.second.type != Json::String)
      throw config_failure("'" + key + "' must be a string naming a column, not " + member.second.type_name(), "/" + key);
    if (member.second.string.empty())
      throw config_failure("'" + key + "' is empty: name a column, or leave it out for the default", "/" + key);
    *target = member.second.string;
  }
  if (config.output == config.column)
    throw config_failure("'output' must differ from 'column' ('" + config.column + "'): the input column is passed through unchanged", "/output");
  return config;
}

const char kSchemaJSON[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"column\":{\"type\":\"string\",\"default\":\"temperature\",\"description\":\"float64 or float32 input column in degrees Celsius\"},"
    "\"output\":{\"type\":\"string\",\"default\":\"temperature_f\",\"description\":\"name of the appended float64 column in degrees Fahrenheit\"}}}";

// ---- schemas --------------------------------------------------------------------------------

// Arrow's metadata is an int32 count then, per pair, int32-length-prefixed key and value.
size_t metadata_size(const char* metadata) {
  if (metadata == nullptr) return 0;
  auto read_int = [&](size_t at) {
    int32_t v;
    std::memcpy(&v, metadata + at, sizeof v);
    return v;
  };
  int32_t pairs = read_int(0);
  size_t at = 4;
  for (int32_t i = 0; i < pairs; i++) {
    at += 4 + size_t(read_int(at));
    at += 4 + size_t(read_int(at));
  }
  return at;
}

// Everything an ArrowSchema we produce points to. Children have their own private data and
// release callback, so a consumer may move one out and release the rest.
struct SchemaPrivate {
  std::string format;
  std::string name;
  bool has_name = false;
  std::vector<char> metadata;
  std::vector<ArrowSchema*> children;
  ArrowSchema* dictionary = nullptr;

  ~SchemaPrivate() {
    for (ArrowSchema* child : children) {
      if (child->release != nullptr) child->release(child);
      delete child;
    }
    if (dictionary != nullptr) {
      if (dictionary->release != nullptr) dictionary->release(dictionary);
      delete dictionary;
    }
  }
};

void release_schema(ArrowSchema* schema) {
  if (schema == nullptr || schema->release == nullptr) return;
  delete static_cast<SchemaPrivate*>(schema->private_data);
  schema->release = nullptr;
}

// Points `schema`'s members at what `p` holds and hands `p` over to it.
void install(ArrowSchema* schema, std::unique_ptr<SchemaPrivate> p, int64_t flags) {
  schema->format = p->format.c_str();
  schema->name = p->has_name ? p->name.c_str() : nullptr;
  schema->metadata = p->metadata.empty() ? nullptr : p->metadata.data();
  schema->flags = flags;
  schema->n_children = int64_t(p->children.size());
  schema->children = p->children.empty() ? nullptr : p->children.data();
  schema->dictionary = p->dictionary;
  schema->release = release_schema;
  schema->private_data = p.release();
}

// A deep copy of a schema we only borrow; `extra`, if given, becomes an appended last child.
void copy_schema(const ArrowSchema* in, ArrowSchema* out, std::unique_ptr<ArrowSchema> extra = nullptr) {
  auto p = std::make_unique<SchemaPrivate>();
  p->format = in->format != nullptr ? in->format : "";
  p->has_name = in->name != nullptr;
  if (p->has_name) p->name = in->name;
  if (size_t n = metadata_size(in->metadata)) p->metadata.assign(in->metadata, in->metadata + n);
  p->children.reserve(size_t(in->n_children) + (extra ? 1 : 0));
  for (int64_t i = 0; i < in->n_children; i++) {
    auto child = std::make_unique<ArrowSchema>();
    copy_schema(in->children[i], child.get());
    p->children.push_back(child.release());
  }
  if (extra) p->children.push_back(extra.release());
  if (in->dictionary != nullptr) {
    auto dictionary = std::make_unique<ArrowSchema>();
    copy_schema(in->dictionary, dictionary.get());
    p->dictionary = dictionary.release();
  }
  install(out, std::move(p), in->flags);
}

std::unique_ptr<ArrowSchema> float64_field(const std::string& name) {
  auto p = std::make_unique<SchemaPrivate>();
  p->format = "g";
  p->name = name;
  p->has_name = true;
  auto field = std::make_unique<ArrowSchema>();
  install(field.get(), std::move(p), ARROW_FLAG_NULLABLE);
  return field;
}

// Releases a schema we built if it is never handed over.
struct SchemaGuard {
  ArrowSchema schema{};
  ~SchemaGuard() { release_schema(&schema); }
};

// The index of the input column to convert, after checking the input's shape; throws with
// the configuration pointer at fault.
int64_t checked_column(const Config& config, const ArrowSchema* input) {
  if (input->format == nullptr || std::strcmp(input->format, "+s") != 0)
    throw failure(std::string("the input batch is not a struct (\"+s\") but \"") + (input->format ? input->format : "") + "\"; this is a bug upstream");
  int64_t found = -1;
  std::string names;
  for (int64_t i = 0; i < input->n_children; i++) {
    const char* name = input->children[i]->name != nullptr ? input->children[i]->name : "";
    if (config.output == name)
      throw config_failure("the input already has a column '" + config.output + "'; choose another 'output' name", "/output");
    if (config.column == name) found = i;
    names += (i > 0 ? ", " : "") + std::string(name);
  }
  if (found < 0)
    throw config_failure("the input has no column '" + config.column + "' (it has " + names + "); set 'column' to one of them", "/column");
  const char* format = input->children[found]->format != nullptr ? input->children[found]->format : "";
  if (std::strcmp(format, "g") != 0 && std::strcmp(format, "f") != 0)
    throw config_failure("column '" + config.column + "' has Arrow format \"" + format + "\", but fahrenheit converts only float64 (\"g\") or float32 (\"f\"); convert it upstream or choose another 'column'", "/column");
  return found;
}

// ---- arrays ---------------------------------------------------------------------------------

// The moved-in input. Its release callbacks run once, when the last output piece that needs
// it is released.
struct InputBatch {
  ArrowSchema schema{};
  ArrowArray array{};
  ~InputBatch() {
    if (array.release != nullptr) array.release(&array);
    if (schema.release != nullptr) schema.release(&schema);
  }
};
using SharedInput = std::shared_ptr<InputBatch>;

// A pass-through child: the input child's members, kept valid by a share of the input.
struct PassThroughPrivate {
  SharedInput input;
};

void release_pass_through(ArrowArray* array) {
  if (array == nullptr || array->release == nullptr) return;
  delete static_cast<PassThroughPrivate*>(array->private_data);
  array->release = nullptr;
}

// The appended column: its own buffers, independent of the input.
struct ColumnPrivate {
  std::vector<uint8_t> validity;
  std::vector<double> values;
  const void* buffers[2] = {nullptr, nullptr};
};

void release_column(ArrowArray* array) {
  if (array == nullptr || array->release == nullptr) return;
  delete static_cast<ColumnPrivate*>(array->private_data);
  array->release = nullptr;
}

struct StructPrivate {
  SharedInput input;  // the struct's validity bitmap is the input's
  std::vector<ArrowArray*> children;
  const void* buffers[1] = {nullptr};

  ~StructPrivate() {
    for (ArrowArray* child : children) {
      if (child->release != nullptr) child->release(child);
      delete child;
    }
  }
};

void release_struct(ArrowArray* array) {
  if (array == nullptr || array->release == nullptr) return;
  delete static_cast<StructPrivate*>(array->private_data);
  array->release = nullptr;
}

bool bit(const void* bitmap, int64_t index) {
  return (static_cast<const uint8_t*>(bitmap)[index >> 3] >> (index & 7)) & 1;
}

// The converted column for rows [0, length) of a struct at `offset`: element offset + i holds
// row i; the `offset` elements before are zeros, outside the struct's view.
std::unique_ptr<ArrowArray> convert(const ArrowArray* column, bool is_float64, int64_t offset, int64_t length,
                                    const std::string& name) {
  if (column->n_buffers != 2 || column->buffers == nullptr || column->offset < 0 || column->length < offset + length ||
      (length > 0 && column->buffers[1] == nullptr))
    throw failure("column '" + name + "' is not a well-formed float array (buffers, offset or length); this is a bug upstream");
  const void* validity = column->null_count != 0 ? column->buffers[0] : nullptr;
  auto p = std::make_unique<ColumnPrivate>();
  const int64_t total = offset + length;
  p->values.assign(size_t(total), 0.0);
  std::vector<uint8_t> bits(size_t((total + 7) / 8), 0xFF);
  int64_t nulls = 0;
  for (int64_t i = 0; i < length; i++) {
    const int64_t at = column->offset + offset + i;
    if (validity != nullptr && !bit(validity, at)) {
      bits[size_t((offset + i) >> 3)] &= uint8_t(~(1u << ((offset + i) & 7)));
      nulls++;
      continue;
    }
    double celsius = is_float64 ? static_cast<const double*>(column->buffers[1])[at]
                                : double(static_cast<const float*>(column->buffers[1])[at]);
    p->values[size_t(offset + i)] = celsius * 9.0 / 5.0 + 32.0;
  }
  if (nulls > 0) p->validity = std::move(bits);
  p->buffers[0] = p->validity.empty() ? nullptr : p->validity.data();
  p->buffers[1] = p->values.data();
  auto out = std::make_unique<ArrowArray>();
  out->length = total;
  out->null_count = nulls;
  out->offset = 0;
  out->n_buffers = 2;
  out->n_children = 0;
  out->buffers = p->buffers;
  out->children = nullptr;
  out->dictionary = nullptr;
  out->release = release_column;
  out->private_data = p.release();
  return out;
}

struct Fahrenheit {
  Config config;
};

sluice_status process(Fahrenheit& plugin, const SharedInput& input, ArrowSchema* out_schema, ArrowArray* out_array) {
  const ArrowSchema& in_schema = input->schema;
  const ArrowArray& in_array = input->array;
  const int64_t index = checked_column(plugin.config, &in_schema);
  if (in_array.n_children != in_schema.n_children)
    throw failure("the input batch's schema has " + std::to_string(in_schema.n_children) + " columns but its array " +
                  std::to_string(in_array.n_children) + "; this is a bug upstream");
  const bool is_float64 = std::strcmp(in_schema.children[index]->format, "g") == 0;

  SchemaGuard schema;
  copy_schema(&in_schema, &schema.schema, float64_field(plugin.config.output));

  auto p = std::make_unique<StructPrivate>();
  p->input = input;
  p->buffers[0] = in_array.n_buffers > 0 && in_array.buffers != nullptr ? in_array.buffers[0] : nullptr;
  p->children.reserve(size_t(in_array.n_children) + 1);
  for (int64_t i = 0; i < in_array.n_children; i++) {
    const ArrowArray* source = in_array.children[i];
    auto child = std::make_unique<ArrowArray>(*source);
    child->private_data = new PassThroughPrivate{input};
    child->release = release_pass_through;
    p->children.push_back(child.release());
  }
  p->children.push_back(convert(in_array.children[index], is_float64, in_array.offset, in_array.length, plugin.config.column).release());

  ArrowArray out{};
  out.length = in_array.length;
  out.null_count = p->buffers[0] != nullptr ? in_array.null_count : 0;
  out.offset = in_array.offset;
  out.n_buffers = 1;
  out.n_children = int64_t(p->children.size());
  out.buffers = p->buffers;
  out.children = p->children.data();
  out.dictionary = nullptr;
  out.release = release_struct;
  out.private_data = p.release();

  // Nothing below can fail: hand both over.
  *out_schema = schema.schema;
  schema.schema.release = nullptr;
  *out_array = out;
  return SLUICE_OK;
}

// ---- the C surface --------------------------------------------------------------------------

sluice_status validate_config(const char* config_json, sluice_error* error) {
  return guarded(error, "validate_config", [&] {
    parse_config(config_json);
    return SLUICE_OK;
  });
}

sluice_status create(const char* config_json, const sluice_host_api* /* host: nothing to log or reject */,
                     void** instance, sluice_error* error) {
  return guarded(error, "create", [&] {
    auto plugin = std::make_unique<Fahrenheit>(Fahrenheit{parse_config(config_json)});
    if (instance == nullptr) throw failure("the host passed no place for the instance");
    *instance = plugin.release();
    return SLUICE_OK;
  });
}

void destroy(void* instance) { delete static_cast<Fahrenheit*>(instance); }

sluice_status transform_process(void* instance, ArrowSchema* in_schema, ArrowArray* in_array, ArrowSchema* out_schema,
                                ArrowArray* out_array, sluice_error* error) {
  // Take the input first, so that it is released exactly once whatever happens next.
  SharedInput input;
  try {
    input = std::make_shared<InputBatch>();
  } catch (...) {
    if (in_array != nullptr && in_array->release != nullptr) in_array->release(in_array);
    if (in_schema != nullptr && in_schema->release != nullptr) in_schema->release(in_schema);
    return report(error, failure("fahrenheit ran out of memory taking a batch; give the worker more memory"));
  }
  if (in_schema != nullptr) { input->schema = *in_schema; in_schema->release = nullptr; }
  if (in_array != nullptr) { input->array = *in_array; in_array->release = nullptr; }
  return guarded(error, "transform_process", [&] {
    if (instance == nullptr || out_schema == nullptr || out_array == nullptr)
      throw failure("the host passed a NULL instance or output; this is a bug in the host");
    if (input->schema.release == nullptr || input->array.release == nullptr)
      throw failure("the host passed a released batch; this is a bug in the host");
    return process(*static_cast<Fahrenheit*>(instance), input, out_schema, out_array);
  });
}

sluice_status output_schema(const char* config_json, const ArrowSchema* input_schema, ArrowSchema* out_schema,
                            sluice_error* error) {
  return guarded(error, "output_schema", [&] {
    const Config config = parse_config(config_json);
    if (input_schema == nullptr) return SLUICE_OK;  // unknown input: say "unknown"
    checked_column(config, input_schema);
    SchemaGuard schema;
    copy_schema(input_schema, &schema.schema, float64_field(config.output));
    *out_schema = schema.schema;
    schema.schema.release = nullptr;
    return SLUICE_OK;
  });
}

sluice_plugin_descriptor make_descriptor() {
  sluice_plugin_descriptor d{};
  d.struct_size = sizeof(sluice_plugin_descriptor);
  d.abi_version = SLUICE_ABI_VERSION;
  d.kind = SLUICE_KIND_TRANSFORM;
  d.name = "fahrenheit";
  d.version = "1.0.0";
  d.description = "Appends a float64 column in degrees Fahrenheit computed from a Celsius column (a C++ plugin)";
  d.config_schema_json = kSchemaJSON;
  d.validate_config = validate_config;
  d.create = create;
  d.destroy = destroy;
  d.transform_process = transform_process;
  d.output_schema = output_schema;
  return d;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) sluice_status sluice_plugin_entry(
    uint32_t host_abi_version, const sluice_plugin_descriptor** descriptor, sluice_error* error) {
  return guarded(error, "sluice_plugin_entry", [&] {
    if (SLUICE_ABI_MAJOR(host_abi_version) != SLUICE_ABI_VERSION_MAJOR)
      throw failure("fahrenheit speaks plugin ABI " + std::to_string(SLUICE_ABI_VERSION_MAJOR) + "." +
                    std::to_string(SLUICE_ABI_VERSION_MINOR) + ", the host " +
                    std::to_string(SLUICE_ABI_MAJOR(host_abi_version)) + "." +
                    std::to_string(SLUICE_ABI_MINOR(host_abi_version)) + "; rebuild the plugin against the host's sluice_plugin.h");
    if (descriptor == nullptr) throw failure("the host passed no place for the descriptor");
    static const sluice_plugin_descriptor instance = make_descriptor();
    *descriptor = &instance;
    return SLUICE_OK;
  });
}
