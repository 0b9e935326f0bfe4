//! Helpers shared by the fuzz targets in `fuzz_targets/` (one module per crate fuzzed).

pub mod edge;
