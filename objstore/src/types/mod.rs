//! The data types: names, metadata, configuration shapes, options and pages, with their parsing, validation
//! and matching. The bottom layer: nothing here imports the backend, the engine or the store, and no type
//! here carries an operation of theirs (the operations on a bucket are in `bucket/`).

pub(crate) mod access;
pub(crate) mod checksum;
pub(crate) mod conditions;
pub(crate) mod config;
pub(crate) mod etag;
pub(crate) mod lifecycle;
pub(crate) mod list;
pub(crate) mod lock;
pub(crate) mod meta;
pub(crate) mod multipart;
pub(crate) mod names;
pub(crate) mod options;
pub(crate) mod range;
pub(crate) mod storage_class;
pub(crate) mod tags;
pub(crate) mod versioning;
