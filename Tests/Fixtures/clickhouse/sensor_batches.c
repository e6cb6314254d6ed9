/*
 * sensor_batches.c: a benchmark source that emits pre-built batches of sensor rows in the
 * shape of the `sensor_readings` table (pipelines/sensors.sql):
 *
 *   sensor_id utf8, ts timestamp[s], temperature float64, humidity float64 (nullable: every
 *   10th row NULL), battery uint8, status utf8, site utf8, seq uint64
 *
 * Eight batches of `batch_size` rows are built once at `create`; `source_next` hands them out
 * in turn (the release callbacks free nothing), so the benchmark measures the sink, not the
 * generator. Config: {"count": rows in total, "batch_size": rows per batch}. State: rows emitted.
 *
 *   cc -shared -fPIC -O2 -I Sources/PluginABI/include -o libsensor-batches.so Tests/Fixtures/clickhouse/sensor_batches.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_plugin.h"

#define POOL 8
#define COLUMNS 8

static const char* names[COLUMNS] = {"sensor_id", "ts", "temperature", "humidity", "battery", "status", "site", "seq"};
static const char* formats[COLUMNS] = {"u", "tss:", "g", "g", "C", "u", "u", "L"};

typedef struct {
  struct ArrowArray children[COLUMNS];
  struct ArrowArray* child_pointers[COLUMNS];
  const void* buffers[COLUMNS][3];
  const void* top_buffers[1];
} pooled_batch;

typedef struct {
  int64_t count, batch_size, emitted;
  struct ArrowSchema child_schemas[COLUMNS];
  struct ArrowSchema* child_schema_pointers[COLUMNS];
  pooled_batch pool[POOL];
  void* allocations[POOL * 16];
  int allocation_count;
} sensor_source;

static void* keep(sensor_source* s, size_t bytes) {
  void* p = calloc(1, bytes ? bytes : 1);
  s->allocations[s->allocation_count++] = p;
  return p;
}

static int64_t read_int(const char* json, const char* key, int64_t fallback) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  const char* p = json ? strstr(json, pattern) : NULL;
  if (!p) return fallback;
  p = strchr(p + strlen(pattern), ':');
  return p ? strtoll(p + 1, NULL, 10) : fallback;
}

static void noop_schema(struct ArrowSchema* schema) { (void)schema; }
static void noop_array(struct ArrowArray* array) { (void)array; }
static void release_top_schema(struct ArrowSchema* schema) { schema->release = NULL; }
static void release_top_array(struct ArrowArray* array) { array->release = NULL; }

/* A utf8 column: offsets and characters. */
static void strings(sensor_source* s, pooled_batch* b, int column, int64_t first, int64_t n, int kind) {
  int32_t* offsets = keep(s, sizeof(int32_t) * (n + 1));
  char* data = keep(s, (size_t)n * 16);
  static const char* statuses[] = {"ok", "ok", "ok", "low", "fault"};
  int32_t at = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = first + i;
    offsets[i] = at;
    if (kind == 0) at += sprintf(data + at, "sensor-%04lld", (long long)(row % 1000));
    else if (kind == 1) at += sprintf(data + at, "%s", statuses[row % 5]);
    else at += sprintf(data + at, "site-%lld", (long long)(row % 20));
  }
  offsets[n] = at;
  b->buffers[column][0] = NULL;
  b->buffers[column][1] = offsets;
  b->buffers[column][2] = data;
}

static void build(sensor_source* s, pooled_batch* b, int64_t first) {
  int64_t n = s->batch_size;
  strings(s, b, 0, first, n, 0);
  int64_t* ts = keep(s, 8 * n);
  double* temperature = keep(s, 8 * n);
  double* humidity = keep(s, 8 * n);
  uint8_t* validity = keep(s, (size_t)(n + 7) / 8);
  uint8_t* battery = keep(s, (size_t)n);
  uint64_t* seq = keep(s, 8 * n);
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = first + i;
    ts[i] = 1700000000 + row / 100;
    temperature[i] = 20.0 + (double)(row % 100) * 0.1;
    if (row % 10 == 0) nulls++; else { humidity[i] = 40.0 + (double)(row % 50); validity[i / 8] |= (uint8_t)(1 << (i % 8)); }
    battery[i] = (uint8_t)(row % 101);
    seq[i] = (uint64_t)row;
  }
  strings(s, b, 5, first, n, 1);
  strings(s, b, 6, first, n, 2);
  const void* fixed[COLUMNS] = {NULL, ts, temperature, humidity, battery, NULL, NULL, seq};
  for (int c = 0; c < COLUMNS; c++) {
    if (fixed[c]) { b->buffers[c][0] = c == 3 ? validity : NULL; b->buffers[c][1] = fixed[c]; }
    int variable = formats[c][0] == 'u';
    b->children[c] = (struct ArrowArray){.length = n, .null_count = c == 3 ? nulls : 0, .offset = 0,
                                         .n_buffers = variable ? 3 : 2, .n_children = 0, .buffers = b->buffers[c],
                                         .children = NULL, .dictionary = NULL, .release = noop_array, .private_data = NULL};
    b->child_pointers[c] = &b->children[c];
  }
  b->top_buffers[0] = NULL;
}

static sluice_status create(const char* json, const sluice_host_api* host, void** instance, sluice_error* error) {
  (void)host; (void)error;
  sensor_source* s = calloc(1, sizeof *s);
  s->count = read_int(json, "count", 1000000);
  s->batch_size = read_int(json, "batch_size", 8192);
  if (s->batch_size < 1) s->batch_size = 1;
  for (int c = 0; c < COLUMNS; c++) {
    s->child_schemas[c] = (struct ArrowSchema){.format = formats[c], .name = names[c], .metadata = NULL,
                                               .flags = c == 3 ? ARROW_FLAG_NULLABLE : 0, .n_children = 0, .children = NULL,
                                               .dictionary = NULL, .release = noop_schema, .private_data = NULL};
    s->child_schema_pointers[c] = &s->child_schemas[c];
  }
  for (int p = 0; p < POOL; p++) build(s, &s->pool[p], (int64_t)p * s->batch_size);
  *instance = s;
  return SLUICE_OK;
}

static void destroy(void* instance) {
  sensor_source* s = instance;
  for (int i = 0; i < s->allocation_count; i++) free(s->allocations[i]);
  free(s);
}

static sluice_status next(void* instance, struct ArrowSchema* schema, struct ArrowArray* array, sluice_error* error) {
  (void)error;
  sensor_source* s = instance;
  if (s->count > 0 && s->emitted >= s->count) return SLUICE_END_OF_STREAM;
  pooled_batch* b = &s->pool[(s->emitted / s->batch_size) % POOL];
  int64_t length = s->batch_size;
  if (s->count > 0 && s->count - s->emitted < length) length = s->count - s->emitted;
  *schema = (struct ArrowSchema){.format = "+s", .name = "", .metadata = NULL, .flags = 0, .n_children = COLUMNS,
                                 .children = s->child_schema_pointers, .dictionary = NULL, .release = release_top_schema,
                                 .private_data = NULL};
  *array = (struct ArrowArray){.length = length, .null_count = 0, .offset = 0, .n_buffers = 1, .n_children = COLUMNS,
                               .buffers = b->top_buffers, .children = b->child_pointers, .dictionary = NULL,
                               .release = release_top_array, .private_data = NULL};
  s->emitted += length;
  return SLUICE_OK;
}

static void release_state(sluice_bytes* bytes) { free((void*)bytes->data); bytes->data = NULL; }

static sluice_status snapshot(void* instance, uint64_t id, sluice_bytes* state, sluice_error* error) {
  (void)id; (void)error;
  sensor_source* s = instance;
  int64_t* copy = malloc(sizeof(int64_t));
  *copy = s->emitted;
  *state = (sluice_bytes){.data = (const uint8_t*)copy, .length = sizeof(int64_t), .release = release_state, .private_data = NULL};
  return SLUICE_OK;
}

static sluice_status restore(void* instance, uint64_t id, const uint8_t* state, size_t length, sluice_error* error) {
  (void)id; (void)error;
  sensor_source* s = instance;
  if (length == sizeof(int64_t)) memcpy(&s->emitted, state, sizeof(int64_t));
  return SLUICE_OK;
}

static const sluice_plugin_descriptor descriptor = {
    .struct_size = sizeof(sluice_plugin_descriptor),
    .abi_version = SLUICE_ABI_VERSION,
    .kind = SLUICE_KIND_SOURCE,
    .name = "sensor-batches",
    .version = "1.0.0",
    .description = "Benchmark source: pre-built batches of sensor rows",
    .config_schema_json = "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":0},"
                          "\"batch_size\":{\"type\":\"integer\",\"minimum\":1}}}",
    .create = create,
    .destroy = destroy,
    .source_next = next,
    .snapshot = snapshot,
    .restore = restore,
};

sluice_status sluice_plugin_entry(uint32_t host_abi_version, const sluice_plugin_descriptor** out, sluice_error* error) {
  if (SLUICE_ABI_MAJOR(host_abi_version) != SLUICE_ABI_VERSION_MAJOR) {
    snprintf(error->message, sizeof error->message, "sensor-batches speaks ABI %u, the host %u",
             SLUICE_ABI_VERSION_MAJOR, SLUICE_ABI_MAJOR(host_abi_version));
    return SLUICE_ERROR;
  }
  *out = &descriptor;
  return SLUICE_OK;
}
