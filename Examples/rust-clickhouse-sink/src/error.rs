//! Failures as the host wants them: a message saying what is wrong and what to do, and for a
//! failure no restart can fix, a JSON Pointer into the configuration.

use crate::abi::{sluice_error, SLUICE_ERROR_MESSAGE_CAPACITY, SLUICE_ERROR_PATH_CAPACITY};
use std::os::raw::c_char;

#[derive(Debug)]
pub struct PluginError {
    pub message: String,
    /// Set when the same configuration or the same input would fail again: the host then
    /// stops the pipeline instead of restarting the worker into the same failure.
    pub config_path: Option<String>,
}

impl PluginError {
    /// A failure a restart may cure (ClickHouse unreachable, a disk error).
    pub fn new(message: impl Into<String>) -> Self {
        PluginError {
            message: message.into(),
            config_path: None,
        }
    }

    /// A failure of the configuration, or of input the configured table cannot take.
    pub fn config(message: impl Into<String>, path: &str) -> Self {
        PluginError {
            message: message.into(),
            config_path: Some(path.to_string()),
        }
    }

    /// Copies the error into the host's buffer, truncated at a character boundary.
    ///
    /// # Safety
    /// `error` is NULL or points to a `sluice_error` the host owns for the call.
    pub unsafe fn write_to(&self, error: *mut sluice_error) {
        if error.is_null() {
            return;
        }
        copy_c_string(
            &mut (*error).message,
            &self.message,
            SLUICE_ERROR_MESSAGE_CAPACITY,
        );
        if let Some(path) = &self.config_path {
            copy_c_string(&mut (*error).config_path, path, SLUICE_ERROR_PATH_CAPACITY);
        }
    }
}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        PluginError::new(e.to_string())
    }
}

/// Writes `text` NUL-terminated into `buffer`, cut at the last whole UTF-8 character that fits.
fn copy_c_string(buffer: &mut [c_char], text: &str, capacity: usize) {
    let capacity = capacity.min(buffer.len());
    if capacity == 0 {
        return;
    }
    let mut end = text.len().min(capacity - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (slot, byte) in buffer.iter_mut().zip(text.as_bytes()[..end].iter()) {
        *slot = *byte as c_char;
    }
    buffer[end] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_a_character_boundary() {
        let mut buffer = [1 as c_char; 6];
        copy_c_string(&mut buffer, "abcdé", 6);
        let bytes: Vec<u8> = buffer.iter().map(|&c| c as u8).collect();
        assert_eq!(&bytes, b"abcd\0\x01");
    }
}
