//! The part of `sluice_plugin.h` (ABI 1.2) and of the Arrow C Data Interface this sink uses,
//! declared by hand so the crate needs nothing but std. Layouts follow the header member by
//! member; `#[repr(C)]` gives the same padding as the C compiler.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_void};

pub const SLUICE_ABI_VERSION_MAJOR: u32 = 1;
pub const SLUICE_ABI_VERSION_MINOR: u32 = 2;
pub const SLUICE_ABI_VERSION: u32 = (SLUICE_ABI_VERSION_MAJOR << 16) | SLUICE_ABI_VERSION_MINOR;

/// C enums are `int`-sized on every ABI sluice runs on.
pub type sluice_status = i32;
pub const SLUICE_OK: sluice_status = 0;
pub const SLUICE_ERROR: sluice_status = 1;

pub type sluice_plugin_kind = i32;
pub const SLUICE_KIND_SINK: sluice_plugin_kind = 3;

pub type sluice_log_level = i32;
pub const SLUICE_LOG_DEBUG: sluice_log_level = 0;
pub const SLUICE_LOG_INFO: sluice_log_level = 1;
pub const SLUICE_LOG_WARN: sluice_log_level = 2;
pub const SLUICE_LOG_ERROR: sluice_log_level = 3;

pub type sluice_delivery_mode = i32;
pub type sluice_open_purpose = i32;
pub const SLUICE_OPEN_CHECK: sluice_open_purpose = 1;

pub const SLUICE_ERROR_MESSAGE_CAPACITY: usize = 1024;
pub const SLUICE_ERROR_PATH_CAPACITY: usize = 256;

pub const ARROW_FLAG_NULLABLE: i64 = 2;

#[repr(C)]
pub struct ArrowSchema {
    pub format: *const c_char,
    pub name: *const c_char,
    pub metadata: *const c_char,
    pub flags: i64,
    pub n_children: i64,
    pub children: *mut *mut ArrowSchema,
    pub dictionary: *mut ArrowSchema,
    pub release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    pub private_data: *mut c_void,
}

#[repr(C)]
pub struct ArrowArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *const c_void,
    pub children: *mut *mut ArrowArray,
    pub dictionary: *mut ArrowArray,
    pub release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    pub private_data: *mut c_void,
}

#[repr(C)]
pub struct sluice_error {
    pub message: [c_char; SLUICE_ERROR_MESSAGE_CAPACITY],
    pub config_path: [c_char; SLUICE_ERROR_PATH_CAPACITY],
}

#[repr(C)]
pub struct sluice_bytes {
    pub data: *const u8,
    pub length: usize,
    pub release: Option<unsafe extern "C" fn(*mut sluice_bytes)>,
    pub private_data: *mut c_void,
}

/// Only its address is needed: the sink stages in `state_dir`.
#[repr(C)]
pub struct sluice_staging_api {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct sluice_host_api {
    pub struct_size: u32,
    pub abi_version: u32,
    pub host_data: *mut c_void,
    pub log: Option<unsafe extern "C" fn(*mut c_void, sluice_log_level, *const c_char)>,
    pub reject: Option<unsafe extern "C" fn(*mut c_void, i64, *const c_char) -> sluice_status>,
    pub state_dir: *const c_char,
    pub delivery_mode: sluice_delivery_mode,
    pub pipeline_name: *const c_char,
    pub operator_name: *const c_char,
    // --- 1.2 ---
    pub open_purpose: sluice_open_purpose,
    pub lane: u32,
    pub lane_count: u32,
    pub set_status: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
    pub staging: *const sluice_staging_api,
    pub report_lag: Option<unsafe extern "C" fn(*mut c_void, *const c_char, i64)>,
}

pub type ValidateConfigFn = unsafe extern "C" fn(*const c_char, *mut sluice_error) -> sluice_status;
pub type CreateFn = unsafe extern "C" fn(
    *const c_char,
    *const sluice_host_api,
    *mut *mut c_void,
    *mut sluice_error,
) -> sluice_status;
pub type InstanceFn = unsafe extern "C" fn(*mut c_void, *mut sluice_error) -> sluice_status;
pub type DestroyFn = unsafe extern "C" fn(*mut c_void);
pub type SourceNextFn = unsafe extern "C" fn(
    *mut c_void,
    *mut ArrowSchema,
    *mut ArrowArray,
    *mut sluice_error,
) -> sluice_status;
pub type TransformProcessFn = unsafe extern "C" fn(
    *mut c_void,
    *mut ArrowSchema,
    *mut ArrowArray,
    *mut ArrowSchema,
    *mut ArrowArray,
    *mut sluice_error,
) -> sluice_status;
pub type SinkWriteFn = unsafe extern "C" fn(
    *mut c_void,
    *mut ArrowSchema,
    *mut ArrowArray,
    *mut sluice_error,
) -> sluice_status;
pub type SnapshotFn =
    unsafe extern "C" fn(*mut c_void, u64, *mut sluice_bytes, *mut sluice_error) -> sluice_status;
pub type RestoreFn =
    unsafe extern "C" fn(*mut c_void, u64, *const u8, usize, *mut sluice_error) -> sluice_status;
pub type NotifyCompleteFn =
    unsafe extern "C" fn(*mut c_void, u64, *mut sluice_error) -> sluice_status;
pub type NotifyAbortedFn = unsafe extern "C" fn(*mut c_void, u64);
pub type OutputSchemaFn = unsafe extern "C" fn(
    *const c_char,
    *const ArrowSchema,
    *mut ArrowSchema,
    *mut sluice_error,
) -> sluice_status;

#[repr(C)]
pub struct sluice_plugin_descriptor {
    // --- 1.0 ---
    pub struct_size: u32,
    pub abi_version: u32,
    pub kind: sluice_plugin_kind,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub config_schema_json: *const c_char,
    pub validate_config: Option<ValidateConfigFn>,
    pub create: Option<CreateFn>,
    pub open: Option<InstanceFn>,
    pub close: Option<InstanceFn>,
    pub destroy: Option<DestroyFn>,
    pub source_next: Option<SourceNextFn>,
    pub transform_process: Option<TransformProcessFn>,
    pub sink_write: Option<SinkWriteFn>,
    pub snapshot: Option<SnapshotFn>,
    pub restore: Option<RestoreFn>,
    pub notify_checkpoint_complete: Option<NotifyCompleteFn>,
    pub notify_checkpoint_aborted: Option<NotifyAbortedFn>,
    // --- 1.1 ---
    pub output_schema: Option<OutputSchemaFn>,
}

// The descriptor is immutable and its pointers name static strings, so sharing it between
// threads is sound.
unsafe impl Sync for sluice_plugin_descriptor {}
