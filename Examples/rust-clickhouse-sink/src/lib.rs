//! clickhouse-rs-sink: a sluice sink plugin in Rust with nothing but std.
//!
//! The exported functions below are the whole C surface. Each one catches panics: unwinding
//! into the host's C caller would be undefined behaviour, so a panic becomes an error message.

mod abi;
mod arrow;
mod clickhouse;
mod config;
mod error;
mod gzip;
mod http;
mod json;
mod sink;
mod tsv;

use abi::*;
use config::Config;
use error::PluginError;
use sink::{Host, Sink};
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

static DESCRIPTOR: sluice_plugin_descriptor = sluice_plugin_descriptor {
    struct_size: std::mem::size_of::<sluice_plugin_descriptor>() as u32,
    abi_version: SLUICE_ABI_VERSION,
    kind: SLUICE_KIND_SINK,
    name: c"clickhouse-rs-sink".as_ptr(),
    version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char,
    description:
        c"Writes rows into a ClickHouse table over HTTP, exactly once (a Rust plugin, std only)"
            .as_ptr(),
    config_schema_json: config::SCHEMA_JSON.as_ptr() as *const c_char,
    validate_config: Some(validate_config),
    create: Some(create),
    open: Some(open),
    close: Some(close),
    destroy: Some(destroy),
    source_next: None,
    transform_process: None,
    sink_write: Some(sink_write),
    snapshot: Some(snapshot),
    restore: Some(restore),
    notify_checkpoint_complete: Some(notify_checkpoint_complete),
    notify_checkpoint_aborted: Some(notify_checkpoint_aborted),
    output_schema: None,
};

/// # Safety
/// Called by the host with the pointers the header describes.
#[no_mangle]
pub unsafe extern "C" fn sluice_plugin_entry(
    host_abi_version: u32,
    descriptor: *mut *const sluice_plugin_descriptor,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "sluice_plugin_entry", || {
        let host_major = host_abi_version >> 16;
        if host_major != SLUICE_ABI_VERSION_MAJOR {
            return Err(PluginError::new(format!(
                "clickhouse-rs-sink speaks plugin ABI {}.{}, the host {}.{}; rebuild the plugin against the host's sluice_plugin.h",
                SLUICE_ABI_VERSION_MAJOR,
                SLUICE_ABI_VERSION_MINOR,
                host_major,
                host_abi_version & 0xFFFF
            )));
        }
        if descriptor.is_null() {
            return Err(PluginError::new(
                "the host passed no place for the descriptor",
            ));
        }
        *descriptor = &DESCRIPTOR;
        Ok(())
    })
}

/// Runs `f`, turning its error or a panic into the host's error buffer and status.
fn guarded(
    error: *mut sluice_error,
    what: &str,
    f: impl FnOnce() -> Result<(), PluginError>,
) -> sluice_status {
    let failure = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return SLUICE_OK,
        Ok(Err(e)) => e,
        Err(panic) => PluginError::new(format!(
            "clickhouse-rs-sink failed unexpectedly in {} ({}); this is a bug in the plugin: report it with the log above",
            what,
            panic_text(&*panic)
        )),
    };
    // SAFETY: the host passes its own error buffer (or NULL) for the call.
    unsafe { failure.write_to(error) };
    SLUICE_ERROR
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

unsafe fn config_text<'a>(json: *const c_char) -> Result<&'a str, PluginError> {
    if json.is_null() {
        return Err(PluginError::config(
            "no configuration: give url and table",
            "",
        ));
    }
    CStr::from_ptr(json)
        .to_str()
        .map_err(|_| PluginError::config("the configuration is not valid UTF-8", ""))
}

unsafe fn instance<'a>(pointer: *mut c_void) -> Result<&'a mut Sink, PluginError> {
    (pointer as *mut Sink)
        .as_mut()
        .ok_or_else(|| PluginError::new("the host passed no instance; this is a bug in the host"))
}

unsafe extern "C" fn validate_config(
    config_json: *const c_char,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "validate_config", || {
        Config::parse(config_text(config_json)?).map(|_| ())
    })
}

unsafe extern "C" fn create(
    config_json: *const c_char,
    host: *const sluice_host_api,
    out: *mut *mut c_void,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "create", || {
        let config = Config::parse(config_text(config_json)?)?;
        let host = Host::new(host)?;
        if out.is_null() {
            return Err(PluginError::new(
                "the host passed no place for the instance",
            ));
        }
        *out = Box::into_raw(Box::new(Sink::new(config, host))) as *mut c_void;
        Ok(())
    })
}

unsafe extern "C" fn open(pointer: *mut c_void, error: *mut sluice_error) -> sluice_status {
    guarded(error, "open", || instance(pointer)?.open())
}

unsafe extern "C" fn close(pointer: *mut c_void, error: *mut sluice_error) -> sluice_status {
    guarded(error, "close", || {
        instance(pointer)?.close();
        Ok(())
    })
}

unsafe extern "C" fn destroy(pointer: *mut c_void) {
    if pointer.is_null() {
        return;
    }
    // A panic while dropping is swallowed: there is nobody to tell, and unwinding out is worse.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        drop(Box::from_raw(pointer as *mut Sink))
    }));
}

unsafe extern "C" fn sink_write(
    pointer: *mut c_void,
    schema: *mut ArrowSchema,
    array: *mut ArrowArray,
    error: *mut sluice_error,
) -> sluice_status {
    let status = guarded(error, "sink_write", || {
        let (Some(schema_ref), Some(array_ref)) = (schema.as_ref(), array.as_ref()) else {
            return Err(PluginError::new(
                "the host passed no batch; this is a bug in the host",
            ));
        };
        if schema_ref.release.is_none() || array_ref.release.is_none() {
            return Err(PluginError::new(
                "the host passed a batch that is already released; this is a bug in the host",
            ));
        }
        instance(pointer)?.write(schema_ref, array_ref)
    });
    // The batch was moved in: release it exactly once, whatever happened above. Each release
    // callback sets its `release` to NULL, as the Arrow specification requires.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(array) = array.as_mut() {
            if let Some(release) = array.release {
                release(array);
            }
        }
        if let Some(schema) = schema.as_mut() {
            if let Some(release) = schema.release {
                release(schema);
            }
        }
    }));
    status
}

unsafe extern "C" fn release_state(bytes: *mut sluice_bytes) {
    if let Some(bytes) = bytes.as_mut() {
        if !bytes.private_data.is_null() {
            drop(Box::from_raw(bytes.private_data as *mut Vec<u8>));
        }
        bytes.data = std::ptr::null();
        bytes.length = 0;
        bytes.private_data = std::ptr::null_mut();
        bytes.release = None;
    }
}

unsafe extern "C" fn snapshot(
    pointer: *mut c_void,
    checkpoint_id: u64,
    state: *mut sluice_bytes,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "snapshot", || {
        let out = state
            .as_mut()
            .ok_or_else(|| PluginError::new("the host passed no place for the state"))?;
        let bytes = Box::new(instance(pointer)?.snapshot(checkpoint_id)?);
        out.data = bytes.as_ptr();
        out.length = bytes.len();
        out.private_data = Box::into_raw(bytes) as *mut c_void;
        out.release = Some(release_state);
        Ok(())
    })
}

unsafe extern "C" fn restore(
    pointer: *mut c_void,
    checkpoint_id: u64,
    state: *const u8,
    state_length: usize,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "restore", || {
        let bytes = if state.is_null() || state_length == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(state, state_length)
        };
        instance(pointer)?.restore(checkpoint_id, bytes)
    })
}

unsafe extern "C" fn notify_checkpoint_complete(
    pointer: *mut c_void,
    checkpoint_id: u64,
    error: *mut sluice_error,
) -> sluice_status {
    guarded(error, "notify_checkpoint_complete", || {
        instance(pointer)?.checkpoint_complete(checkpoint_id)
    })
}

unsafe extern "C" fn notify_checkpoint_aborted(pointer: *mut c_void, checkpoint_id: u64) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(sink) = (pointer as *mut Sink).as_mut() {
            sink.checkpoint_aborted(checkpoint_id);
        }
    }));
}
