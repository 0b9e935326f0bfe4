//! Purge and soft purge across the whole network.

use super::Network;
use crate::edge::Purge;
use crate::error::{Error, Result};

/// What a network-wide purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Entries removed (or marked stale) per point of presence, in the order purged (shields first).
    pub per_pop: Vec<(String, u64)>,
    /// Their sum.
    pub total: u64,
}

impl Network {
    /// Purges what `what` names from every edge, shields first (so no edge refills from a shield not yet
    /// purged). An edge that fails does not stop the others.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a key or prefix that names no host (nothing is purged); otherwise the
    /// first edge's failure, after every edge was tried.
    pub async fn purge(&self, what: Purge) -> Result<PurgeReport> {
        self.purge_all(what, false).await
    }

    /// Soft purge of what `what` names on every edge (see [`crate::Edge::soft_purge`]): entries stay but
    /// revalidate on their next request; an edge revalidates with its shield, which revalidates with the
    /// origin.
    ///
    /// # Errors
    /// As [`Network::purge`].
    pub async fn soft_purge(&self, what: Purge) -> Result<PurgeReport> {
        self.purge_all(what, true).await
    }

    async fn purge_all(&self, what: Purge, soft: bool) -> Result<PurgeReport> {
        let mut order: Vec<usize> = (0..self.inner.pops.len()).collect();
        order.sort_by_key(|&i| !self.inner.pops[i].is_shield);
        let mut report = PurgeReport::default();
        let mut first_error: Option<Error> = None;
        for i in order {
            let p = &self.inner.pops[i];
            let result = if soft {
                p.edge.soft_purge(what.clone()).await
            } else {
                p.edge.purge(what.clone()).await
            };
            match result {
                Ok(n) => {
                    report.per_pop.push((p.pop.name.clone(), n));
                    report.total += n;
                }
                Err(e @ Error::InvalidRequest { .. }) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}
