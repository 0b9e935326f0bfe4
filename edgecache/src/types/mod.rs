//! The data types at the bottom of the crate: the stored [`Entry`](entry::Entry) and the pure RFC 9111
//! arithmetic over header fields ([`directives`]: `Cache-Control` / `CDN-Cache-Control` parsing;
//! [`freshness`]: storability, age, freshness lifetime, stale allowances). Nothing here imports a tier, the
//! policy or the engine.

pub(crate) mod directives;
pub(crate) mod entry;
pub(crate) mod freshness;
