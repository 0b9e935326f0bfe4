//! funcrt's integration tests, one binary: each module is one area of Lambda's behaviour, and `common`
//! holds the helpers they share.
//!
//! One binary rather than one per file: the helpers compile once, every helper is used by some module (so
//! no `dead_code` allowance is needed, as it was when each file compiled `common` on its own), and the
//! suite links once instead of six times.

mod common;

mod apigw;
mod blocking;
mod concurrency;
mod events;
mod instances;
mod invoke;
mod lifecycle;
mod metering;
mod scale;
