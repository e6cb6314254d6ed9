/*
 * A pass-through transform built as a plugin of ABI 1.0 would be: its descriptor ends before
 * the 1.1 member `output_schema` and claims version 1.0. The host must still load it, and must
 * skip column checks downstream of it (it does not declare its output).
 */
#include <stddef.h>

#include "sluice_plugin.h"

static sluice_status create(const char* json, const sluice_host_api* host, void** instance,
                            sluice_error* error) {
  (void)json; (void)host; (void)error;
  static int token;
  *instance = &token;
  return SLUICE_OK;
}

static void destroy(void* instance) { (void)instance; }

static sluice_status process(void* instance, struct ArrowSchema* in_schema,
                             struct ArrowArray* in_array, struct ArrowSchema* out_schema,
                             struct ArrowArray* out_array, sluice_error* error) {
  (void)instance; (void)error;
  *out_schema = *in_schema;
  *out_array = *in_array;
  in_schema->release = NULL;
  in_array->release = NULL;
  return SLUICE_OK;
}

/* A 1.0 descriptor: the struct as 1.0 declared it is the 1.1 struct cut before output_schema. */
static const sluice_plugin_descriptor descriptor = {
    .struct_size = offsetof(sluice_plugin_descriptor, output_schema),
    .abi_version = (1u << 16) | 0u,
    .kind = SLUICE_KIND_TRANSFORM,
    .name = "abi10-pass-through",
    .version = "1.0.0",
    .description = "passes batches on; built as for ABI 1.0",
    .config_schema_json = "{\"type\":\"object\"}",
    .create = create,
    .destroy = destroy,
    .transform_process = process,
};

sluice_status sluice_plugin_entry(uint32_t host_abi_version, const sluice_plugin_descriptor** out,
                                  sluice_error* error) {
  (void)host_abi_version; (void)error;
  *out = &descriptor;
  return SLUICE_OK;
}
