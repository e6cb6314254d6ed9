/*
 * A transform for the dead-letter tests: rejects every row of the int64 column "value" that is
 * divisible by `modulus` (default 10) with the reason "divisible by <modulus>", passes the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_plugin.h"

typedef struct {
  const sluice_host_api* host;
  long long modulus;
} reject_transform;

static void release_child_schema(struct ArrowSchema* s) { s->release = NULL; }
static void release_child_array(struct ArrowArray* a) { a->release = NULL; }

static void release_schema(struct ArrowSchema* s) {
  free(s->children[0]);
  free(s->children);
  s->release = NULL;
}

static void release_array(struct ArrowArray* a) {
  struct ArrowArray* child = a->children[0];
  free((void*)child->buffers[1]);
  free(child->buffers);
  free(child);
  free(a->children);
  free(a->buffers);
  a->release = NULL;
}

static sluice_status create(const char* json, const sluice_host_api* host, void** instance,
                            sluice_error* error) {
  (void)error;
  reject_transform* t = calloc(1, sizeof *t);
  t->host = host;
  t->modulus = 10;
  const char* m = strstr(json, "\"modulus\":");
  if (m) t->modulus = atoll(m + 10);
  *instance = t;
  return SLUICE_OK;
}

static void destroy(void* instance) { free(instance); }

static sluice_status process(void* instance, struct ArrowSchema* in_schema,
                             struct ArrowArray* in_array, struct ArrowSchema* out_schema,
                             struct ArrowArray* out_array, sluice_error* error) {
  reject_transform* t = instance;
  const struct ArrowArray* column = in_array->children[0];
  const int64_t* values = (const int64_t*)column->buffers[1] + column->offset + in_array->offset;
  int64_t* kept = malloc(sizeof(int64_t) * (size_t)(in_array->length + 1));
  int64_t n = 0;
  char reason[64];
  snprintf(reason, sizeof reason, "divisible by %lld", t->modulus);
  for (int64_t i = 0; i < in_array->length; i++) {
    if (values[i] % t->modulus == 0) {
      if (t->host->reject(t->host->host_data, i, reason) != SLUICE_OK) {
        snprintf(error->message, sizeof error->message, "value %lld rejected and the pipeline fails on rejects",
                 (long long)values[i]);
        free(kept);
        in_array->release(in_array);
        in_schema->release(in_schema);
        return SLUICE_ERROR;
      }
    } else {
      kept[n++] = values[i];
    }
  }
  in_array->release(in_array);
  in_schema->release(in_schema);

  struct ArrowSchema* child_schema = calloc(1, sizeof *child_schema);
  *child_schema = (struct ArrowSchema){.format = "l", .name = "value", .release = release_child_schema};
  struct ArrowSchema** schema_children = malloc(sizeof *schema_children);
  schema_children[0] = child_schema;
  *out_schema = (struct ArrowSchema){.format = "+s", .name = "", .n_children = 1,
                                     .children = schema_children, .release = release_schema};
  const void** child_buffers = malloc(2 * sizeof(void*));
  child_buffers[0] = NULL;
  child_buffers[1] = kept;
  struct ArrowArray* child = calloc(1, sizeof *child);
  *child = (struct ArrowArray){.length = n, .n_buffers = 2, .buffers = child_buffers,
                               .release = release_child_array};
  struct ArrowArray** array_children = malloc(sizeof *array_children);
  array_children[0] = child;
  const void** buffers = malloc(sizeof(void*));
  buffers[0] = NULL;
  *out_array = (struct ArrowArray){.length = n, .n_buffers = 1, .buffers = buffers, .n_children = 1,
                                   .children = array_children, .release = release_array};
  return SLUICE_OK;
}

static const sluice_plugin_descriptor descriptor = {
    .struct_size = sizeof(sluice_plugin_descriptor),
    .abi_version = SLUICE_ABI_VERSION,
    .kind = SLUICE_KIND_TRANSFORM,
    .name = "reject-multiples",
    .version = "0.0.1",
    .description = "rejects multiples of a modulus (test fixture)",
    .config_schema_json = "{\"type\":\"object\",\"properties\":{\"modulus\":{\"type\":\"integer\",\"minimum\":1}},\"additionalProperties\":false}",
    .create = create,
    .destroy = destroy,
    .transform_process = process,
};

sluice_status sluice_plugin_entry(uint32_t host_abi_version, const sluice_plugin_descriptor** out,
                                  sluice_error* error) {
  (void)error;
  if (SLUICE_ABI_MAJOR(host_abi_version) != SLUICE_ABI_VERSION_MAJOR) return SLUICE_ERROR;
  *out = &descriptor;
  return SLUICE_OK;
}
