//! # objstore: S3 semantics over pluggable backends
//!
//! Being built in this session; see issue 2.
