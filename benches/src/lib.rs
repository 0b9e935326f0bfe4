//! Shared helpers for the Stratus benchmarks and report programs.
#![forbid(unsafe_code)]

use std::path::PathBuf;

pub mod belady;
pub mod traces;

/// The folder shared beside the checkout (`../shared`), overridable with `STRATUS_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("STRATUS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}
