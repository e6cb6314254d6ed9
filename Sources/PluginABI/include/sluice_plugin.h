/*
 * sluice_plugin.h — the sluice plugin ABI, version 1.2 (1.1 added `output_schema`; 1.2 added
 * `sluice_host_api.open_purpose`, `lane`, `lane_count`, `set_status`, `staging` and `report_lag`).
 *
 * This header is the only contract between the sluice host and its plugins. A plugin is a
 * shared object that exports one symbol, `sluice_plugin_entry`, and needs nothing else from the
 * host at link time: everything the host offers (logging, dead letters, a state directory)
 * arrives as a table of callbacks when an instance is created.
 *
 * Rules that hold for every struct and function below:
 *
 *  - Versioning. SLUICE_ABI_VERSION packs major << 16 | minor. A host and a plugin work together
 *    when their majors are equal. Minor versions only append members at the END of a struct;
 *    each appended block is labelled with the minor version that added it. Every struct that
 *    crosses the boundary starts with `struct_size`, so the reader can tell which members the
 *    writer knew about; a member beyond `struct_size` is absent and must not be read.
 *  - Threads. Every call into one plugin instance comes from one thread at a time, in sequence:
 *    the instance's operator thread (see each function for the exceptions). A sink swapped into
 *    a running pipeline is created and opened on a preparation thread while the old sink still
 *    runs; its later calls come from the sink's operator thread, and no two calls overlap. A plugin therefore
 *    needs no locks for its own state. Different instances may be called concurrently from
 *    different threads, so globals shared between instances need their own protection.
 *  - Status. Functions return SLUICE_OK (0) on success. On failure they return SLUICE_ERROR and
 *    write a NUL-terminated message into the `sluice_error` the host passed in. The host owns
 *    that buffer; the message lives until the host reuses the buffer, so the plugin never has
 *    to manage error-string lifetimes. A message longer than the buffer is truncated.
 *  - Batches. Data crosses the boundary as Apache Arrow C Data Interface structs: one
 *    `ArrowSchema` (format "+s", a struct whose children are the columns) and one `ArrowArray`
 *    (the matching struct array). Each call that passes a batch MOVES it: the receiver becomes
 *    its owner and must eventually call `release` on both structs (or move them on). Moving a
 *    struct is a bitwise copy followed by setting the source's `release` to NULL.
 *  - Optional hooks may be NULL; the host checks before calling.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Version                                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define SLUICE_ABI_VERSION_MAJOR 1
#define SLUICE_ABI_VERSION_MINOR 2
#define SLUICE_ABI_VERSION ((uint32_t)((SLUICE_ABI_VERSION_MAJOR << 16) | SLUICE_ABI_VERSION_MINOR))
#define SLUICE_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define SLUICE_ABI_MINOR(v) ((uint32_t)(v) & 0xFFFFu)

/** The name of the one symbol every plugin exports. */
#define SLUICE_PLUGIN_ENTRY_SYMBOL "sluice_plugin_entry"

/* ------------------------------------------------------------------------------------------ */
/* Arrow C Data Interface (declared from the specification; identical to arrow/c/abi.h)        */
/* ------------------------------------------------------------------------------------------ */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

/* ------------------------------------------------------------------------------------------ */
/* Basic types                                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef enum sluice_status {
  SLUICE_OK = 0,
  SLUICE_ERROR = 1,
  /** source_next only: nothing to emit right now; the host calls again soon. */
  SLUICE_NO_DATA = 2,
  /** source_next only: the source is exhausted; the pipeline drains and stops. */
  SLUICE_END_OF_STREAM = 3
} sluice_status;

typedef enum sluice_plugin_kind {
  SLUICE_KIND_SOURCE = 1,
  SLUICE_KIND_TRANSFORM = 2,
  SLUICE_KIND_SINK = 3
} sluice_plugin_kind;

typedef enum sluice_log_level {
  SLUICE_LOG_DEBUG = 0,
  SLUICE_LOG_INFO = 1,
  SLUICE_LOG_WARN = 2,
  SLUICE_LOG_ERROR = 3
} sluice_log_level;

typedef enum sluice_delivery_mode {
  SLUICE_EXACTLY_ONCE = 0,
  SLUICE_AT_LEAST_ONCE = 1
} sluice_delivery_mode;

#define SLUICE_ERROR_MESSAGE_CAPACITY 1024
#define SLUICE_ERROR_PATH_CAPACITY 256

/**
 * Where a plugin reports a failure. Owned by the host, passed to every fallible call, zeroed
 * before the call. The plugin writes a NUL-terminated human-readable `message` (what is wrong
 * and what to do; never a secret such as a password or token). For configuration errors it may
 * also write `config_path`, a JSON Pointer (RFC 6901, e.g. "/columns/2/type") to the offending
 * value, which the host turns into the file, line and column of the pipeline YAML. A call
 * made at run time (open, the data calls, snapshot, notify) that fails with `config_path` set
 * says that a restart cannot fix the failure (the same configuration or the same input fails
 * again): the host stops the pipeline with EX_CONFIG instead of restarting the worker.
 */
typedef struct sluice_error {
  char message[SLUICE_ERROR_MESSAGE_CAPACITY];
  char config_path[SLUICE_ERROR_PATH_CAPACITY];
} sluice_error;

/**
 * Bytes produced by a plugin and handed to the host (checkpoint state). Like an Arrow struct:
 * the producer allocates `data` and sets `release`; the host calls `release` exactly once when
 * it has copied the bytes. `release` may be NULL when `data` is NULL or static.
 */
typedef struct sluice_bytes {
  const uint8_t* data;
  size_t length;
  void (*release)(struct sluice_bytes*);
  void* private_data;
} sluice_bytes;

/* ------------------------------------------------------------------------------------------ */
/* What the host offers a plugin instance                                                     */
/* ------------------------------------------------------------------------------------------ */

/** Why an instance is opened (`sluice_host_api.open_purpose`, ABI 1.2). */
typedef enum sluice_open_purpose {
  /** A pipeline run: retry unreachable services as the plugin's configuration says. */
  SLUICE_OPEN_RUN = 0,
  /** A check (`sluice validate --connect`): try each endpoint once, within the plugin's own
   *  connection timeout, and fail at once naming the endpoint and the cause. No data flows;
   *  the instance is closed right after. */
  SLUICE_OPEN_CHECK = 1,
} sluice_open_purpose;

/**
 * Passed to `create`; valid until `destroy` returns. The plugin may keep the pointer.
 * Unless stated otherwise, callbacks may be called from the instance's operator thread only,
 * and only while the host is inside a call into this instance.
 */
typedef struct sluice_host_api {
  uint32_t struct_size;
  uint32_t abi_version;
  /** Opaque; pass it back as the first argument of every callback. */
  void* host_data;

  /** Logs one line. `message` is borrowed for the call. Callable from any thread, at any time
   *  between create and destroy (a plugin's own I/O threads may log). */
  void (*log)(void* host_data, sluice_log_level level, const char* message);

  /**
   * Transforms only, during `transform_process`: sends row `row` of the INPUT batch to the
   * pipeline's dead-letter output with `reason` (borrowed for the call). The host copies the
   * row at once, so call it before moving or releasing the input. A rejected row should not
   * appear in the output. Returns SLUICE_ERROR when the pipeline's policy is to fail on bad
   * records; the plugin should then fail `transform_process` with that reason.
   */
  sluice_status (*reject)(void* host_data, int64_t row, const char* reason);

  /** A local directory private to this operator that survives restarts on this machine.
   *  Exists when `create` is called. Borrowed. Beside a local checkpoint directory it is
   *  kept with the checkpoints; with checkpoints on object storage it is on local disk only
   *  (checkpointing.local_directory) and is lost when the pipeline resumes elsewhere: stage
   *  through `staging` (1.2) instead. */
  const char* state_dir;

  /** The pipeline's delivery guarantee. */
  sluice_delivery_mode delivery_mode;

  /** Pipeline and operator name, for log lines and metrics. Borrowed. */
  const char* pipeline_name;
  const char* operator_name;

  /* --- 1.2 --- (read only when struct_size covers it; a 1.1 host does not set it) */
  /** Why the instance will be opened. */
  sluice_open_purpose open_purpose;
  /** The pipeline-wide lane this instance runs in, 0 <= lane < lane_count, and the number of
   *  lanes of the whole pipeline (instances x parallelism). A source takes its share of the
   *  input by them (the Pulsar source owns partition p when p mod lane_count == lane); every
   *  other plugin may ignore them. A host that predates lanes leaves them out: read them only
   *  when struct_size covers them, and take lane 0 of 1 otherwise. */
  uint32_t lane;
  uint32_t lane_count;
  /** A one-line status of this instance for `sluice status` and GET /status (what it reads,
   *  why it idles), replacing the previous one; `status` is copied during the call. Callable
   *  from any thread between create and destroy. */
  void (*set_status)(void* host_data, const char* status);
  /** Durable staging for this operator (see `sluice_staging_api`); NULL from a host without it.
   *  Prefer it to `state_dir`: it lives where the pipeline's checkpoints live (a local
   *  directory or object storage), so what a sink staged is found again wherever the pipeline
   *  resumes, even on another machine with an empty disk. Borrowed. */
  const struct sluice_staging_api* staging;
  /** Sources: how far behind this instance is on one of its input partitions, in messages
   *  stored by the broker and not yet emitted (`partition` names it and is copied during the
   *  call); a negative count forgets the partition. Report it when you learn it (the Pulsar
   *  source asks its broker every few seconds); the host exports it as
   *  `sluice_source_lag_messages{partition=...}` and shows it in `sluice status`. Callable
   *  from any thread between create and destroy. NULL from a host without it. */
  void (*report_lag)(void* host_data, const char* partition, int64_t messages);
} sluice_host_api;

/* ------------------------------------------------------------------------------------------ */
/* Durable staging (ABI 1.2)                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** An object being written; opaque. */
typedef struct sluice_staging_writer sluice_staging_writer;

/**
 * Named, immutable byte objects private to one operator, kept by the host beside the
 * pipeline's checkpoints: files in a local directory, or objects under the `s3://` prefix.
 * What a sink stages for an epoch (sealed in `snapshot`, committed in
 * `notify_checkpoint_complete`) belongs here, so a restore on any machine finds it.
 *
 * An object is written through a writer and becomes visible, whole, only when sealed; a crash
 * before that leaves nothing under its name. Sealing is durable: once `seal` returns, the
 * object survives a crash of the process and of the machine. Large objects stream (to object
 * storage as a multipart upload): the host holds at most one part (8 MiB) per open writer.
 *
 * Names are 1-200 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`. All calls take
 * `host_data` from the `sluice_host_api`. Any thread may call them, concurrently; a writer is
 * used by one thread at a time. A call that cannot reach the storage keeps retrying with
 * backoff (it blocks, which holds the pipeline back) and fails only on a permanent error.
 */
typedef struct sluice_staging_api {
  uint32_t struct_size;
  /** Where the objects live, for log lines: a directory or an `s3://` URL. Borrowed. */
  const char* location;
  /** Starts an object. `name` may be given now (large objects then stream straight to it) or
   *  NULL, to be named when sealed. */
  sluice_status (*create)(void* host_data, const char* name, sluice_staging_writer** writer,
                          sluice_error* error);
  /** Appends `length` bytes (borrowed for the call). */
  sluice_status (*write)(void* host_data, sluice_staging_writer* writer, const uint8_t* data,
                         size_t length, sluice_error* error);
  /** Makes everything written durable and visible as `name` (NULL: the name given to
   *  `create`), replacing an object of that name, and frees the writer, also on failure. */
  sluice_status (*seal)(void* host_data, sluice_staging_writer* writer, const char* name,
                        sluice_error* error);
  /** Drops an unsealed writer and what it wrote. */
  void (*abandon)(void* host_data, sluice_staging_writer* writer);
  /** The size of sealed object `name`; SLUICE_NO_DATA when there is none. */
  sluice_status (*size)(void* host_data, const char* name, uint64_t* size, sluice_error* error);
  /** Reads up to `capacity` bytes of sealed object `name` from `offset` into `buffer`;
   *  `*length` is the count read, 0 at the end. */
  sluice_status (*read)(void* host_data, const char* name, uint64_t offset, uint8_t* buffer,
                        size_t capacity, size_t* length, sluice_error* error);
  /** Calls `each` (during the call) with every sealed object's name and size, in name order. */
  sluice_status (*list)(void* host_data,
                        void (*each)(void* context, const char* name, uint64_t size),
                        void* context, sluice_error* error);
  /** Deletes sealed object `name`, durably; an absent one is no error. */
  sluice_status (*remove)(void* host_data, const char* name, sluice_error* error);
} sluice_staging_api;

/* ------------------------------------------------------------------------------------------ */
/* The plugin descriptor                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * Returned by the entry point; static in the plugin, never freed, never written by the host.
 * Every string is NUL-terminated UTF-8 and lives as long as the plugin image (which the host
 * never unloads). `instance` below is the opaque pointer `create` returned.
 */
typedef struct sluice_plugin_descriptor {
  /* --- 1.0 --- */
  /** sizeof(sluice_plugin_descriptor) as the plugin was compiled. */
  uint32_t struct_size;
  /** SLUICE_ABI_VERSION the plugin was compiled against. */
  uint32_t abi_version;
  sluice_plugin_kind kind;
  const char* name;        /* short, stable: "file-sink" */
  const char* version;     /* the plugin's own version: "1.2.0" */
  const char* description; /* one line */
  /** JSON Schema (draft 2020-12 subset: type, properties, required, additionalProperties,
   *  enum, items, minimum, maximum, default, description) of the configuration object. The
   *  host checks a pipeline's block against it before calling `validate_config`. */
  const char* config_schema_json;

  /**
   * Checks a configuration without side effects: no connection, no file created. Any thread;
   * no instance exists. Optional. `config_json` is borrowed for the call.
   */
  sluice_status (*validate_config)(const char* config_json, sluice_error* error);

  /**
   * Creates an instance from its configuration (a JSON object, borrowed for the call) on the
   * operator thread. Must not connect anywhere: that is `open`'s job. On success stores the
   * instance in `*instance`.
   */
  sluice_status (*create)(const char* config_json, const sluice_host_api* host, void** instance,
                          sluice_error* error);

  /**
   * Connects and prepares to run. Called once after `create`, and after `restore` when the
   * pipeline resumes from a checkpoint (restore comes first, so a sink can re-commit sealed
   * epochs it finds in its restored state). Optional.
   */
  sluice_status (*open)(void* instance, sluice_error* error);

  /** Flushes nothing that is not committed and releases connections. Optional. A closed
   *  instance is destroyed next; it is never reopened. */
  sluice_status (*close)(void* instance, sluice_error* error);

  /** Frees the instance. Always called once for every instance `create` returned, even after a
   *  failed `open` or `close`. */
  void (*destroy)(void* instance);

  /* Data. Exactly one of the three is non-NULL, matching `kind`. */

  /**
   * Source: emits the next batch by moving it into `*out_schema` / `*out_array` and returning
   * SLUICE_OK. Returns SLUICE_NO_DATA when nothing is available (block at most ~50 ms first, so
   * barriers are not delayed), SLUICE_END_OF_STREAM when exhausted. The host snapshots the
   * source only between two calls, so the state it takes matches exactly the batches emitted.
   */
  sluice_status (*source_next)(void* instance, struct ArrowSchema* out_schema,
                               struct ArrowArray* out_array, sluice_error* error);

  /**
   * Transform: takes ownership of the input batch and moves the output batch (which may be
   * the input itself, moved on) into `*out_schema` / `*out_array`. An output of zero rows is
   * allowed. Bad rows go to `host->reject` during the call.
   */
  sluice_status (*transform_process)(void* instance, struct ArrowSchema* in_schema,
                                     struct ArrowArray* in_array, struct ArrowSchema* out_schema,
                                     struct ArrowArray* out_array, sluice_error* error);

  /**
   * Sink: takes ownership of the batch. In exactly-once mode the rows become visible only
   * after `notify_checkpoint_complete` for a checkpoint taken after them. May block to hold
   * the pipeline back (backpressure) while its destination is unavailable.
   */
  sluice_status (*sink_write)(void* instance, struct ArrowSchema* schema, struct ArrowArray* array,
                              sluice_error* error);

  /* Checkpoints (all optional; a plugin without state leaves snapshot and restore NULL). */

  /**
   * Barrier `checkpoint_id` has reached this operator: every batch before it has been passed
   * in (or emitted, for a source) and none after it. Returns the state that resumes exactly
   * here in `*state`. A sink pre-commits here: makes everything before the barrier durable
   * but not yet visible (seals the epoch). The state must not depend on the checkpoint
   * completing.
   */
  sluice_status (*snapshot)(void* instance, uint64_t checkpoint_id, sluice_bytes* state,
                            sluice_error* error);

  /**
   * Before `open`, when the pipeline resumes from checkpoint `checkpoint_id`: the state this
   * instance returned from `snapshot(checkpoint_id)`. `state` is borrowed for the call. That
   * checkpoint is complete, so a sink should (re-)commit idempotently what the state lists.
   */
  sluice_status (*restore)(void* instance, uint64_t checkpoint_id, const uint8_t* state,
                           size_t state_length, sluice_error* error);

  /**
   * Checkpoint `checkpoint_id` is durable everywhere: a sink commits the epochs sealed up to
   * it, a source acknowledges what it read up to it. Called on the operator thread, between
   * two data calls. A failure here fails the pipeline, which then restarts from this very
   * checkpoint, so the commit must be idempotent.
   */
  sluice_status (*notify_checkpoint_complete)(void* instance, uint64_t checkpoint_id,
                                              sluice_error* error);

  /** Checkpoint `checkpoint_id` will never complete (timeout, failure elsewhere); the plugin
   *  may discard what it prepared for it. The data stays: a later checkpoint covers it. */
  void (*notify_checkpoint_aborted)(void* instance, uint64_t checkpoint_id);

  /* --- 1.1 --- */

  /**
   * The schema of the batches this operator will emit, without an instance and without
   * connecting anywhere: what lets `sluice validate` check column names and types along the
   * pipeline before anything runs. Optional (a host reads this member only when the
   * descriptor's `struct_size` covers it, so plugins built against 1.0 simply lack it).
   *
   * Any thread; no instance exists; no side effects (like `validate_config`). The host calls
   * it only after `validate_config` accepted `config_json`.
   *  - `config_json`: the configuration, borrowed for the call.
   *  - `input_schema`: for a source, NULL; for a transform, the "+s" schema its upstream
   *    declared (borrowed for the call: do not release it, copy what you keep). Sinks are
   *    not asked.
   *  - `out_schema`: on SLUICE_OK, the plugin MOVES a "+s" schema (one child per column:
   *    format, name, ARROW_FLAG_NULLABLE when the column may hold nulls) into it; the host
   *    releases it. Returning SLUICE_OK and leaving `out_schema->release` NULL means "unknown
   *    until run time" (say, columns that depend on the data): the host treats it exactly like
   *    a plugin without this hook and skips column checks downstream.
   *  - On SLUICE_ERROR (the input lacks a column the configuration names, or has a type it
   *    cannot take), `error->message` says what is wrong and `error->config_path` is a JSON
   *    Pointer to the configuration value at fault (e.g. "/args/1"), which the host turns into
   *    the file, line and column of the pipeline YAML. `out_schema` stays untouched.
   */
  sluice_status (*output_schema)(const char* config_json, const struct ArrowSchema* input_schema,
                                 struct ArrowSchema* out_schema, sluice_error* error);

  /* --- members added by later minor versions go below, labelled with their version --- */
} sluice_plugin_descriptor;

/**
 * The entry point every plugin exports under SLUICE_PLUGIN_ENTRY_SYMBOL. Called once per
 * loaded image on the host's main thread. `host_abi_version` is the SLUICE_ABI_VERSION the host
 * speaks. A plugin whose major differs returns SLUICE_ERROR with a message naming both versions;
 * otherwise it stores its static descriptor in `*descriptor` and returns SLUICE_OK.
 */
typedef sluice_status (*sluice_plugin_entry_fn)(uint32_t host_abi_version,
                                                const sluice_plugin_descriptor** descriptor,
                                                sluice_error* error);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */
