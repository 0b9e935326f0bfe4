//! # edgecache: a CDN in a library
//!
//! `edgecache` chains cache tiers (memory, disk, a shared tier) in front of an origin with the semantics of
//! an HTTP shared cache (RFC 9111 and RFC 5861), coalesces concurrent misses, and purges by key, prefix and
//! surrogate tag.
//!
//! Time comes from [`stratus_clock::Clock`], so tests move TTLs forward without sleeping.
pub mod error;
pub mod policy;
pub mod tier;

pub use crate::error::{Error, Result};
pub use crate::tier::{Entry, Tier, TierExt};
