/*
 * sequence-source: a sluice source plugin in plain C.
 *
 * Emits the integers start, start+1, ... up to `count` values (forever when count is 0) as an
 * int64 column named "value" (or, with "format": "float64", as doubles), in batches of
 * `batch_size`. It declares that schema through the ABI 1.1 `output_schema` hook. Its checkpoint state is the next value
 * to emit (8 bytes, little endian), so a restored pipeline resumes exactly after the last value
 * covered by the checkpoint. It proves the ABI needs no Swift:
 *
 *     cc -shared -fPIC -O2 -I Sources/PluginABI/include -o libsequence_source.so sequence_source.c
 *
 * Configuration (JSON): {"count": 1000, "batch_size": 100, "start": 1, "rate": 0,
 *                        "format": "int64", "segfault_at": 0, "segfault_marker": "/tmp/x",
 *                        "decline_every": 0}
 * With several lanes (ABI 1.2 `lane`, `lane_count`), lane L emits the batches b = L, L + N, ...
 * (counted from `start` in steps of `batch_size`) of the same sequence, so the lanes together
 * emit each value once; its state then resumes only in the same layout.
 * `rate` limits rows per second per lane (0: unlimited). `segfault_at`, for crash tests, makes the plugin
 * dereference NULL when it is about to emit that value, once: it first creates the file
 * `segfault_marker` and does not crash again while that file exists. `decline_every: N`, for
 * checkpoint tests, fails the snapshot of every checkpoint whose id is a multiple of N: the
 * host then aborts that checkpoint and a later one covers the rows.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice_plugin.h"

typedef struct {
  int64_t next;
  int64_t count;
  int64_t start;
  int64_t batch_size;
  double rate;
  int64_t segfault_at;
  int64_t decline_every;
  int float64; /* "format": "float64" */
  char segfault_marker[512];
  double started_at;
  int64_t emitted_since_start;
  int64_t lane, lanes; /* 0 and 1 on a host without lanes */
  int restored;
  const sluice_host_api* host;
} sequence_source;

/* ---- configuration: a deliberately tiny reader for a flat JSON object ---- */

/* Finds `"key"` followed by ':' and returns the position after the colon, or NULL. */
static const char* find_key(const char* json, const char* key) {
  size_t n = strlen(key);
  for (const char* p = json; (p = strchr(p, '"')) != NULL; p++) {
    if (strncmp(p + 1, key, n) == 0 && p[n + 1] == '"') {
      const char* q = p + n + 2;
      while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') q++;
      if (*q == ':') return q + 1;
    }
  }
  return NULL;
}

static int read_number(const char* json, const char* key, double fallback, double* out,
                       sluice_error* error) {
  const char* p = find_key(json, key);
  if (p == NULL) { *out = fallback; return 1; }
  char* end = NULL;
  errno = 0;
  double value = strtod(p, &end);
  if (end == p || errno != 0) {
    snprintf(error->message, sizeof error->message, "'%s' must be a number", key);
    snprintf(error->config_path, sizeof error->config_path, "/%s", key);
    return 0;
  }
  *out = value;
  return 1;
}

static int read_string(const char* json, const char* key, char* out, size_t capacity) {
  const char* p = find_key(json, key);
  out[0] = '\0';
  if (p == NULL) return 1;
  while (*p == ' ') p++;
  if (*p != '"') return 0;
  p++;
  size_t i = 0;
  while (*p && *p != '"' && i + 1 < capacity) out[i++] = *p++;
  out[i] = '\0';
  return *p == '"';
}

static int parse_config(const char* json, sequence_source* s, sluice_error* error) {
  double count, batch_size, start, rate, segfault_at, decline_every;
  if (json == NULL) json = "{}";
  if (!read_number(json, "count", 0, &count, error) ||
      !read_number(json, "batch_size", 1024, &batch_size, error) ||
      !read_number(json, "start", 1, &start, error) ||
      !read_number(json, "rate", 0, &rate, error) ||
      !read_number(json, "segfault_at", 0, &segfault_at, error) ||
      !read_number(json, "decline_every", 0, &decline_every, error)) return 0;
  if (count < 0) {
    snprintf(error->message, sizeof error->message, "'count' must be >= 0 (0 means unbounded)");
    strcpy(error->config_path, "/count");
    return 0;
  }
  if (batch_size < 1 || batch_size > 1048576) {
    snprintf(error->message, sizeof error->message, "'batch_size' must be between 1 and 1048576");
    strcpy(error->config_path, "/batch_size");
    return 0;
  }
  if (!read_string(json, "segfault_marker", s->segfault_marker, sizeof s->segfault_marker)) {
    snprintf(error->message, sizeof error->message, "'segfault_marker' must be a string");
    strcpy(error->config_path, "/segfault_marker");
    return 0;
  }
  char format[16];
  if (!read_string(json, "format", format, sizeof format) ||
      (format[0] != '\0' && strcmp(format, "int64") != 0 && strcmp(format, "float64") != 0)) {
    snprintf(error->message, sizeof error->message, "'format' must be \"int64\" or \"float64\"");
    strcpy(error->config_path, "/format");
    return 0;
  }
  s->float64 = strcmp(format, "float64") == 0;
  s->count = (int64_t)count;
  s->batch_size = (int64_t)batch_size;
  s->start = (int64_t)start;
  s->next = s->start;
  s->rate = rate;
  s->segfault_at = (int64_t)segfault_at;
  s->decline_every = (int64_t)decline_every;
  return 1;
}

static const char schema_json[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"count\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"values to emit; 0 = unbounded\"},"
    "\"batch_size\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576},"
    "\"start\":{\"type\":\"integer\"},"
    "\"rate\":{\"type\":\"number\",\"minimum\":0,\"description\":\"rows per second; 0 = unlimited\"},"
    "\"format\":{\"type\":\"string\",\"enum\":[\"int64\",\"float64\"],\"description\":\"type of the value column\"},"
    "\"segfault_at\":{\"type\":\"integer\",\"minimum\":0},"
    "\"decline_every\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"tests: fail the snapshot of checkpoints whose id is a multiple of this\"},"
    "\"segfault_marker\":{\"type\":\"string\"}}}";

/* ---- Arrow export: one int64 (or float64) column "value" ---- */

/* A parent releases the children still in place; a child a consumer moved out has release NULL
 * there, and its own release frees its buffers wherever the consumer keeps it (the Arrow C Data
 * Interface allows moving a column out of a batch and releasing the rest). */
static void release_child_schema(struct ArrowSchema* schema) { schema->release = NULL; }

static void release_child_array(struct ArrowArray* array) {
  free((void*)array->buffers[1]);
  free(array->buffers);
  array->release = NULL;
}

static void release_schema(struct ArrowSchema* schema) {
  if (schema->n_children > 0) {
    struct ArrowSchema* child = schema->children[0];
    if (child->release) child->release(child);
    free(child);
    free(schema->children);
  }
  schema->release = NULL;
}

static void release_array(struct ArrowArray* array) {
  if (array->n_children > 0) {
    struct ArrowArray* child = array->children[0];
    if (child->release) child->release(child);
    free(child);
    free(array->children);
  }
  free(array->buffers);
  array->release = NULL;
}

/* The schema of every batch: one non-nullable column "value". */
static void export_schema(int float64, struct ArrowSchema* schema) {
  struct ArrowSchema* column_schema = calloc(1, sizeof *column_schema);
  *column_schema = (struct ArrowSchema){.format = float64 ? "g" : "l", .name = "value",
                                        .release = release_child_schema};
  struct ArrowSchema** schema_children = malloc(sizeof *schema_children);
  schema_children[0] = column_schema;
  *schema = (struct ArrowSchema){.format = "+s", .name = "", .n_children = 1,
                                 .children = schema_children, .release = release_schema};
}

static void export_batch(int float64, int64_t first, int64_t length, struct ArrowSchema* schema,
                         struct ArrowArray* array) {
  export_schema(float64, schema);
  void* values;
  if (float64) {
    double* doubles = malloc(sizeof(double) * (size_t)(length > 0 ? length : 1));
    for (int64_t i = 0; i < length; i++) doubles[i] = (double)(first + i);
    values = doubles;
  } else {
    int64_t* integers = malloc(sizeof(int64_t) * (size_t)(length > 0 ? length : 1));
    for (int64_t i = 0; i < length; i++) integers[i] = first + i;
    values = integers;
  }
  const void** column_buffers = malloc(2 * sizeof(void*));
  column_buffers[0] = NULL;
  column_buffers[1] = values;
  struct ArrowArray* column = calloc(1, sizeof *column);
  *column = (struct ArrowArray){.length = length, .n_buffers = 2, .buffers = column_buffers,
                                .release = release_child_array};
  struct ArrowArray** array_children = malloc(sizeof *array_children);
  array_children[0] = column;
  const void** struct_buffers = malloc(sizeof(void*));
  struct_buffers[0] = NULL;
  *array = (struct ArrowArray){.length = length, .n_buffers = 1, .buffers = struct_buffers,
                               .n_children = 1, .children = array_children,
                               .release = release_array};
}

/* ---- lifecycle ---- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sluice_status validate_config(const char* json, sluice_error* error) {
  sequence_source probe;
  memset(&probe, 0, sizeof probe);
  return parse_config(json, &probe, error) ? SLUICE_OK : SLUICE_ERROR;
}

/* ABI 1.1: the schema every batch will have, from the configuration alone. */
static sluice_status output_schema(const char* json, const struct ArrowSchema* input,
                                   struct ArrowSchema* out, sluice_error* error) {
  (void)input; /* a source has no input */
  sequence_source probe;
  memset(&probe, 0, sizeof probe);
  if (!parse_config(json, &probe, error)) return SLUICE_ERROR;
  export_schema(probe.float64, out);
  return SLUICE_OK;
}

static sluice_status create(const char* json, const sluice_host_api* host, void** instance,
                            sluice_error* error) {
  sequence_source* s = calloc(1, sizeof *s);
  if (!parse_config(json, s, error)) { free(s); return SLUICE_ERROR; }
  s->host = host;
  s->lane = 0;
  s->lanes = 1;
  if (host->struct_size >= offsetof(sluice_host_api, lane_count) + sizeof host->lane_count && host->lane_count > 1) {
    s->lane = host->lane;
    s->lanes = host->lane_count;
  }
  s->next = s->start + s->lane * s->batch_size;
  *instance = s;
  return SLUICE_OK;
}

static sluice_status open_source(void* instance, sluice_error* error) {
  (void)error;
  sequence_source* s = instance;
  s->started_at = now_seconds();
  s->emitted_since_start = 0;
  return SLUICE_OK;
}

static void destroy(void* instance) { free(instance); }

static void maybe_segfault(sequence_source* s, int64_t first, int64_t length) {
  if (s->segfault_at <= 0 || s->segfault_at < first || s->segfault_at >= first + length) return;
  if (s->segfault_marker[0] == '\0' || access(s->segfault_marker, F_OK) == 0) return;
  int fd = open(s->segfault_marker, O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) { fsync(fd); close(fd); }
  volatile int* null_pointer = NULL;
  *null_pointer = 1; /* a real SIGSEGV inside the plugin */
}

static sluice_status next(void* instance, struct ArrowSchema* schema, struct ArrowArray* array,
                          sluice_error* error) {
  (void)error;
  sequence_source* s = instance;
  int64_t remaining = s->count == 0 ? s->batch_size : s->start + s->count - s->next;
  if (remaining <= 0) return SLUICE_END_OF_STREAM;
  int64_t length = remaining < s->batch_size ? remaining : s->batch_size;
  if (s->rate > 0) {
    double due = s->started_at + (double)(s->emitted_since_start + length) / s->rate;
    double wait = due - now_seconds();
    if (wait > 0.05) { usleep(50000); return SLUICE_NO_DATA; }
    if (wait > 0) usleep((useconds_t)(wait * 1e6));
  }
  maybe_segfault(s, s->next, length);
  export_batch(s->float64, s->next, length, schema, array);
  s->next += length + (s->lanes - 1) * s->batch_size; /* the next batch of this lane */
  s->emitted_since_start += length;
  return SLUICE_OK;
}

/* ---- checkpoints: the state is the next value, 8 bytes little endian ---- */

static void release_state(sluice_bytes* bytes) {
  free((void*)bytes->data);
  bytes->release = NULL;
}

static sluice_status snapshot(void* instance, uint64_t checkpoint_id, sluice_bytes* state,
                              sluice_error* error) {
  sequence_source* s = instance;
  if (s->decline_every > 0 && checkpoint_id % (uint64_t)s->decline_every == 0) {
    snprintf(error->message, sizeof error->message, "declining checkpoint %llu (decline_every: %lld)",
             (unsigned long long)checkpoint_id, (long long)s->decline_every);
    return SLUICE_ERROR;
  }
  uint8_t* data = malloc(8);
  for (int i = 0; i < 8; i++) data[i] = (uint8_t)((uint64_t)s->next >> (8 * i));
  *state = (sluice_bytes){.data = data, .length = 8, .release = release_state};
  return SLUICE_OK;
}

static sluice_status restore(void* instance, uint64_t checkpoint_id, const uint8_t* state,
                             size_t length, sluice_error* error) {
  sequence_source* s = instance;
  if (s->restored) {
    snprintf(error->message, sizeof error->message,
             "sequence-source cannot be rescaled: its state is the next value of one lane layout");
    return SLUICE_ERROR;
  }
  s->restored = 1;
  if (length != 8) {
    snprintf(error->message, sizeof error->message,
             "checkpoint %llu holds %zu bytes of sequence-source state, expected 8",
             (unsigned long long)checkpoint_id, length);
    return SLUICE_ERROR;
  }
  uint64_t next = 0;
  for (int i = 0; i < 8; i++) next |= (uint64_t)state[i] << (8 * i);
  s->next = (int64_t)next;
  char line[128];
  snprintf(line, sizeof line, "resuming at %lld", (long long)s->next);
  s->host->log(s->host->host_data, SLUICE_LOG_INFO, line);
  return SLUICE_OK;
}

/* ---- the descriptor and the entry point ---- */

static const sluice_plugin_descriptor descriptor = {
    .struct_size = sizeof(sluice_plugin_descriptor),
    .abi_version = SLUICE_ABI_VERSION,
    .kind = SLUICE_KIND_SOURCE,
    .name = "sequence-source",
    .version = "1.0.0",
    .description = "Emits an increasing sequence of integers (a plugin in plain C)",
    .config_schema_json = schema_json,
    .validate_config = validate_config,
    .create = create,
    .open = open_source,
    .close = NULL,
    .destroy = destroy,
    .source_next = next,
    .snapshot = snapshot,
    .restore = restore,
    .notify_checkpoint_complete = NULL,
    .notify_checkpoint_aborted = NULL,
    .output_schema = output_schema,
};

sluice_status sluice_plugin_entry(uint32_t host_abi_version,
                                  const sluice_plugin_descriptor** out, sluice_error* error) {
  if (SLUICE_ABI_MAJOR(host_abi_version) != SLUICE_ABI_VERSION_MAJOR) {
    snprintf(error->message, sizeof error->message,
             "sequence-source speaks sluice ABI %u.x but the host speaks %u.%u",
             SLUICE_ABI_VERSION_MAJOR, SLUICE_ABI_MAJOR(host_abi_version),
             SLUICE_ABI_MINOR(host_abi_version));
    return SLUICE_ERROR;
  }
  *out = &descriptor;
  return SLUICE_OK;
}
