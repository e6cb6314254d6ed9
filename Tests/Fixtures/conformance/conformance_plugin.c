/*
 * A plugin that keeps the ABI contract, built as a source, transform or sink (-DKIND_SOURCE,
 * -DKIND_TRANSFORM, -DKIND_SINK), and broken in exactly one way by one -DBREAK_... define.
 * PluginCheckTests builds the clean one of each kind (which must pass `sluice plugins check`)
 * and every broken one (which must fail the check named beside its define below).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sluice_plugin.h"

#if defined(KIND_SOURCE)
#define KIND SLUICE_KIND_SOURCE
#elif defined(KIND_TRANSFORM)
#define KIND SLUICE_KIND_TRANSFORM
#else
#define KIND SLUICE_KIND_SINK
#endif

static sluice_status fail(sluice_error* error, const char* message) {
  snprintf(error->message, sizeof error->message, "%s", message);
  return SLUICE_ERROR;
}

typedef struct instance {
  const sluice_host_api* host;
  int64_t next_id;     /* source: the next id to emit */
  int64_t rows;        /* sink: rows received */
  uint64_t committed;  /* the last checkpoint completed */
  int fail_open;
  char* scratch;       /* freed in destroy */
#ifdef BREAK_SOCKET_IN_CREATE /* lifecycle */
  int socket;
#endif
} instance;

/* ---- configuration ---- */

static const char* schema_json =
#ifdef BREAK_SCHEMA_NOT_JSON /* config-schema */
    "{\"type\": \"object\", \"properties\": {";
#else
    "{\"type\": \"object\", \"properties\": {\"fail_open\": {\"type\": \"boolean\"}}, \"additionalProperties\": false}";
#endif

static sluice_status validate_config(const char* config, sluice_error* error) {
#ifdef BREAK_VALIDATE_WRITES_FILE /* validate-config */
  FILE* f = fopen("validated.txt", "w");
  if (f) fclose(f);
#endif
  if (strstr(config, "sluice_check_unknown_key") || strstr(config, "\"fail_open\":\"")) {
#ifdef BREAK_VALIDATE_NO_MESSAGE /* validate-config */
    return SLUICE_ERROR;
#else
    return fail(error, "unknown key or wrong type in the configuration");
#endif
  }
  return SLUICE_OK;
}

/* ---- Arrow batches ---- */

typedef struct buffers { void* blocks[4]; } buffers;

static void release_array(struct ArrowArray* array) {
  for (int64_t i = 0; i < array->n_children; i++) {
    struct ArrowArray* child = array->children[i];
    if (child->release) child->release(child);
    free(child);
  }
  free(array->children);
  buffers* owned = array->private_data;
#ifndef BREAK_LEAKS_BUFFERS /* leaks */
  if (owned) for (int i = 0; i < 4; i++) free(owned->blocks[i]);
#endif
  free(owned);
  free((void*)array->buffers);
#ifndef BREAK_RELEASE_KEEPS_POINTER /* ownership */
  array->release = NULL;
#endif
}

static void release_schema(struct ArrowSchema* schema) {
  for (int64_t i = 0; i < schema->n_children; i++) {
    struct ArrowSchema* child = schema->children[i];
    if (child->release) child->release(child);
    free(child);
  }
  free(schema->children);
  schema->release = NULL;
}

static void release_leaf_schema(struct ArrowSchema* schema) { schema->release = NULL; }

static void leaf_schema(struct ArrowSchema* s, const char* format, const char* name) {
  memset(s, 0, sizeof *s);
  s->format = format;
  s->name = name;
  s->release = release_leaf_schema;
}

/* Two columns: id int64 and text utf8 ("row <id>"). */
static void make_schema(struct ArrowSchema* out) {
  memset(out, 0, sizeof *out);
  out->format = "+s";
  out->name = "";
  out->n_children = 2;
  out->children = calloc(2, sizeof(struct ArrowSchema*));
  out->children[0] = malloc(sizeof(struct ArrowSchema));
  out->children[1] = malloc(sizeof(struct ArrowSchema));
  leaf_schema(out->children[0], "l", "id");
#ifdef BREAK_DECLARED_FORMAT /* data: batches say int32 where output_schema said int64 */
  static int declared = 0;
  if (declared++ > 0) out->children[0]->format = "i";
#endif
  leaf_schema(out->children[1], "u", "text");
  out->release = release_schema;
}

static struct ArrowArray* leaf_array(int64_t length, int n_buffers, buffers* owned) {
  struct ArrowArray* a = calloc(1, sizeof *a);
  a->length = length;
  a->n_buffers = n_buffers;
  a->buffers = calloc(n_buffers, sizeof(void*));
  a->private_data = owned;
  a->release = release_array;
  return a;
}

static void make_batch(int64_t first, int64_t rows, struct ArrowArray* out) {
  buffers* ids = calloc(1, sizeof *ids);
  int64_t* values = malloc(rows * sizeof(int64_t) + 8);
  ids->blocks[0] = values;
  struct ArrowArray* id = leaf_array(rows, 2, ids);
  for (int64_t i = 0; i < rows; i++) values[i] = first + i;
  id->buffers[1] = values;

  buffers* texts = calloc(1, sizeof *texts);
  int32_t* offsets = malloc((rows + 1) * sizeof(int32_t));
  char* data = malloc(rows * 24 + 1);
  texts->blocks[0] = offsets;
  texts->blocks[1] = data;
  int32_t position = 0;
  for (int64_t i = 0; i < rows; i++) {
    offsets[i] = position;
    position += sprintf(data + position, "row %lld", (long long)(first + i));
  }
  offsets[rows] = position;
#ifdef BREAK_OFFSETS /* data: offsets that go backwards */
  if (rows > 2) offsets[2] = offsets[1] - 1;
#endif
  struct ArrowArray* text = leaf_array(rows, 3, texts);
  text->buffers[1] = offsets;
  text->buffers[2] = data;

  memset(out, 0, sizeof *out);
  out->length = rows;
  out->n_buffers = 1;
  out->buffers = calloc(1, sizeof(void*));
  out->n_children = 2;
  out->children = calloc(2, sizeof(struct ArrowArray*));
  out->children[0] = id;
  out->children[1] = text;
  out->release = release_array;
}

/* ---- lifecycle ---- */

static sluice_status create(const char* config, const sluice_host_api* host, void** out, sluice_error* error) {
  instance* self = calloc(1, sizeof *self);
  self->host = host;
  self->fail_open = strstr(config, "\"fail_open\":true") != NULL;
  self->scratch = malloc(64);
#ifdef BREAK_SOCKET_IN_CREATE
  self->socket = socket(AF_INET, SOCK_STREAM, 0);
#endif
  *out = self;
  return SLUICE_OK;
}

static sluice_status open_instance(void* p, sluice_error* error) {
  instance* self = p;
  if (self->fail_open) {
#ifdef BREAK_DESTROY_AFTER_FAILED_OPEN /* open-failure: frees what destroy frees again */
    free(self->scratch);
#endif
    return fail(error, "cannot reach the service (fail_open is set)");
  }
  return SLUICE_OK;
}

#ifdef BREAK_LOG_AFTER_DESTROY /* threads */
static void* late_logger(void* host) {
  usleep(20000);
  const sluice_host_api* api = host;
  api->log(api->host_data, SLUICE_LOG_INFO, "still here");
  return NULL;
}
#endif

static void destroy(void* p) {
  instance* self = p;
#ifdef BREAK_LOG_AFTER_DESTROY
  pthread_t thread;
  pthread_create(&thread, NULL, late_logger, (void*)self->host);
  pthread_detach(thread);
#endif
#ifdef BREAK_DESTROY_AFTER_FAILED_OPEN
  if (self->fail_open) abort(); /* what a double free does, deterministically */
#endif
#ifdef BREAK_SOCKET_IN_CREATE
  close(self->socket);
#endif
  free(self->scratch);
  free(self);
}

/* ---- data ---- */

#ifdef KIND_SOURCE
static sluice_status source_next(void* p, struct ArrowSchema* schema, struct ArrowArray* array, sluice_error* error) {
  instance* self = p;
  if (self->next_id >= 100000) return SLUICE_END_OF_STREAM;
  make_schema(schema);
  make_batch(self->next_id, 100, array);
  self->next_id += 100;
  return SLUICE_OK;
}

static sluice_status output_schema(const char* config, const struct ArrowSchema* input, struct ArrowSchema* out, sluice_error* error) {
  make_schema(out);
  return SLUICE_OK;
}
#endif

#ifdef KIND_TRANSFORM
#ifdef BREAK_REJECT_OFF_THREAD /* threads */
typedef struct { const sluice_host_api* host; } reject_job;
static void* reject_elsewhere(void* job) {
  const sluice_host_api* host = ((reject_job*)job)->host;
  host->reject(host->host_data, 0, "rejected from another thread");
  return NULL;
}
#endif

static sluice_status transform_process(void* p, struct ArrowSchema* in_schema, struct ArrowArray* in_array,
                                       struct ArrowSchema* out_schema, struct ArrowArray* out_array, sluice_error* error) {
#ifdef BREAK_REJECT_OFF_THREAD
  instance* self = p;
  if (in_array->length > 0) {
    reject_job job = {self->host};
    pthread_t thread;
    pthread_create(&thread, NULL, reject_elsewhere, &job);
    pthread_join(thread, NULL);
  }
#endif
#ifdef BREAK_HOST_DATA /* threads */
  instance* self2 = p;
  self2->host->log(NULL, SLUICE_LOG_INFO, "which host?");
#endif
  /* Move the input to the output: copy the structs, mark the sources released. */
  *out_schema = *in_schema;
  in_schema->release = NULL;
  *out_array = *in_array;
  in_array->release = NULL;
  return SLUICE_OK;
}
#endif

#if defined(KIND_SINK) || defined(BREAK_TWO_DATA_HOOKS)
static sluice_status sink_write(void* p, struct ArrowSchema* schema, struct ArrowArray* array, sluice_error* error) {
  instance* self = p;
#ifdef BREAK_REFUSES_EMPTY /* data */
  if (array->length == 0) { array->release(array); schema->release(schema); return fail(error, "an empty batch"); }
#endif
  self->rows += array->length;
#ifdef BREAK_KEEPS_BATCH /* ownership: never released */
  return SLUICE_OK;
#endif
  struct ArrowArray copy = *array;
  array->release(array);
#ifdef BREAK_DOUBLE_RELEASE /* ownership */
  copy.release(&copy);
#endif
  (void)copy;
  schema->release(schema);
  return SLUICE_OK;
}
#endif

/* ---- checkpoints ---- */

static void release_state(sluice_bytes* bytes) { free((void*)bytes->data); }

static sluice_status snapshot(void* p, uint64_t checkpoint, sluice_bytes* state, sluice_error* error) {
  instance* self = p;
  int64_t* copy = malloc(sizeof(int64_t));
  *copy = self->next_id;
  state->data = (const uint8_t*)copy;
  state->length = sizeof(int64_t);
  state->release = release_state;
  return SLUICE_OK;
}

static sluice_status restore(void* p, uint64_t checkpoint, const uint8_t* state, size_t length, sluice_error* error) {
  instance* self = p;
  if (length != sizeof(int64_t)) return fail(error, "state of the wrong size");
#ifndef BREAK_RESTORE_IGNORES_STATE /* checkpoints */
  memcpy(&self->next_id, state, sizeof(int64_t));
#endif
  return SLUICE_OK;
}

static sluice_status notify_complete(void* p, uint64_t checkpoint, sluice_error* error) {
  instance* self = p;
#ifdef BREAK_COMMIT_NOT_IDEMPOTENT /* checkpoints */
  if (checkpoint <= self->committed) return fail(error, "checkpoint already committed");
#endif
  self->committed = checkpoint;
  return SLUICE_OK;
}

static void notify_aborted(void* p, uint64_t checkpoint) {}

/* ---- descriptor and handshake ---- */

static const sluice_plugin_descriptor descriptor = {
    .struct_size = sizeof(sluice_plugin_descriptor),
    .abi_version = SLUICE_ABI_VERSION,
    .kind = KIND,
    .name = "conformance-fixture",
    .version = "1.0.0",
    .description = "keeps the contract except where a BREAK_ define says",
    .config_schema_json = NULL, /* set below: a static initializer cannot point at schema_json */
    .validate_config = validate_config,
    .create = create,
    .open = open_instance,
    .close = NULL,
    .destroy = destroy,
#ifdef KIND_SOURCE
    .source_next = source_next,
    .output_schema = output_schema,
#endif
#ifdef KIND_TRANSFORM
    .transform_process = transform_process,
#endif
#if defined(KIND_SINK) || defined(BREAK_TWO_DATA_HOOKS) /* descriptor */
    .sink_write = sink_write,
#endif
    .snapshot = snapshot,
    .restore = restore,
    .notify_checkpoint_complete = notify_complete,
    .notify_checkpoint_aborted = notify_aborted,
};

sluice_status sluice_plugin_entry(uint32_t host_abi_version, const sluice_plugin_descriptor** out, sluice_error* error) {
  static sluice_plugin_descriptor filled;
  if (SLUICE_ABI_MAJOR(host_abi_version) != SLUICE_ABI_VERSION_MAJOR) {
#ifdef BREAK_ACCEPTS_ANY_MAJOR /* handshake */
#elif defined(BREAK_VAGUE_REFUSAL) /* handshake */
    return fail(error, "incompatible host");
#else
    snprintf(error->message, sizeof error->message, "built for sluice ABI %u.x, the host speaks %u.%u",
             SLUICE_ABI_VERSION_MAJOR, SLUICE_ABI_MAJOR(host_abi_version), SLUICE_ABI_MINOR(host_abi_version));
    return SLUICE_ERROR;
#endif
  }
  filled = descriptor;
  filled.config_schema_json = schema_json;
  *out = &filled;
  return SLUICE_OK;
}
