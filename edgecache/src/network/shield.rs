//! The origin side of a network: the origin counted, and the shield the other edges fill from.
//!
//! An edge that is not a shield has a [`ShieldOrigin`] as its origin: its misses become requests to the
//! shield edge, which answers them from its cache or with one origin fetch per object however many edges ask
//! at once (the shield's own coalescing). A shield that is down (marked or failing its check) is bypassed:
//! the edge fetches from the origin directly, so a shield outage costs offload, not availability.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response};

use super::health::Health;
use crate::edge::Edge;
use crate::error::Result;
use crate::origin::Origin;

/// The network's origin, with the fetches and bytes that reached it counted.
#[derive(Debug)]
pub(crate) struct CountedOrigin {
    pub(crate) origin: Arc<dyn Origin>,
    pub(crate) fetches: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

impl CountedOrigin {
    pub(crate) fn new(origin: Arc<dyn Origin>) -> Self {
        CountedOrigin {
            origin,
            fetches: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Origin for CountedOrigin {
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let r = self.origin.fetch(request).await;
        if let Ok(r) = &r {
            self.bytes
                .fetch_add(r.body().len() as u64, Ordering::Relaxed);
        }
        r
    }
}

/// An edge's origin when it fills from a shield.
pub(crate) struct ShieldOrigin {
    pub(crate) shield_name: String,
    pub(crate) shield: Edge,
    pub(crate) shield_health: Arc<Health>,
    pub(crate) direct: Arc<dyn Origin>,
    /// Fetches this edge sent to the shield.
    pub(crate) fetches: AtomicU64,
    /// Fetches this edge sent to the origin directly because the shield was down.
    pub(crate) bypassed: AtomicU64,
    /// Body bytes the shield sent this edge.
    pub(crate) bytes: AtomicU64,
}

impl ShieldOrigin {
    pub(crate) fn new(
        shield_name: String,
        shield: Edge,
        shield_health: Arc<Health>,
        direct: Arc<dyn Origin>,
    ) -> Self {
        ShieldOrigin {
            shield_name,
            shield,
            shield_health,
            direct,
            fetches: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Body bytes the shield sent this edge.
    pub(crate) fn bytes_from_shield(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for ShieldOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShieldOrigin")
            .field("shield", &self.shield_name)
            .field("fetches", &self.fetches)
            .field("bypassed", &self.bypassed)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Origin for ShieldOrigin {
    async fn fetch(&self, request: Request<Bytes>) -> Result<Response<Bytes>> {
        if self.shield_health.is_up() {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            let r = self.shield.handle(request).await;
            if let Ok(r) = &r {
                self.bytes
                    .fetch_add(r.body().len() as u64, Ordering::Relaxed);
            }
            r
        } else {
            self.bypassed.fetch_add(1, Ordering::Relaxed);
            self.direct.fetch(request).await
        }
    }
}
