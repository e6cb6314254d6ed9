/*
 * A deliberately broken or minimal plugin for the loader tests, compiled with -D flags:
 *   FIXTURE_ABI=<packed version>   the ABI version its descriptor claims
 *   FIXTURE_NO_ENTRY               export no sluice_plugin_entry
 *   FIXTURE_CREATE_FAILS           create fails with its own message
 *   FIXTURE_VALIDATE_FAILS         validate_config rejects "threshold" with a JSON Pointer
 */
#include <stdio.h>
#include <string.h>

#include "sluice_plugin.h"

#ifndef FIXTURE_ABI
#define FIXTURE_ABI SLUICE_ABI_VERSION
#endif

static sluice_status validate_config(const char* json, sluice_error* error) {
  (void)json;
#ifdef FIXTURE_VALIDATE_FAILS
  snprintf(error->message, sizeof error->message, "threshold must be below 100");
  snprintf(error->config_path, sizeof error->config_path, "/limits/threshold");
  return SLUICE_ERROR;
#else
  (void)error;
  return SLUICE_OK;
#endif
}

static sluice_status create(const char* json, const sluice_host_api* host, void** instance,
                            sluice_error* error) {
  (void)json; (void)host;
#ifdef FIXTURE_CREATE_FAILS
  snprintf(error->message, sizeof error->message, "cannot reach the moon: connection refused");
  return SLUICE_ERROR;
#else
  (void)error;
  static int token;
  *instance = &token;
  return SLUICE_OK;
#endif
}

static void destroy(void* instance) { (void)instance; }

static sluice_status next(void* instance, struct ArrowSchema* schema, struct ArrowArray* array,
                          sluice_error* error) {
  (void)instance; (void)schema; (void)array; (void)error;
  return SLUICE_END_OF_STREAM;
}

static const sluice_plugin_descriptor descriptor = {
    .struct_size = sizeof(sluice_plugin_descriptor),
    .abi_version = FIXTURE_ABI,
    .kind = SLUICE_KIND_SOURCE,
    .name = "fixture",
    .version = "0.0.1",
    .description = "a test fixture",
    .config_schema_json = "{\"type\":\"object\"}",
    .validate_config = validate_config,
    .create = create,
    .destroy = destroy,
    .source_next = next,
};

#ifndef FIXTURE_NO_ENTRY
sluice_status sluice_plugin_entry(uint32_t host_abi_version, const sluice_plugin_descriptor** out,
                                  sluice_error* error) {
  (void)host_abi_version; (void)error;
  *out = &descriptor;
  return SLUICE_OK;
}
#else
int not_a_sluice_plugin(void) { return 0; }
#endif
