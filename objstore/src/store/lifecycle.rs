//! Lifecycle passes over every bucket of a store, once or on the schedule of the store's clock.

use std::time::Duration;

use super::Store;
use crate::error::{Error, Result};
use crate::types::lifecycle::LifecycleReport;

impl Store {
    /// Runs every bucket's lifecycle rules once; one report for all.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn run_lifecycle(&self) -> Result<LifecycleReport> {
        let mut report = LifecycleReport::default();
        for info in self.list_buckets().await? {
            let bucket = self.bucket(&info.name)?;
            match bucket.run_lifecycle().await {
                Ok(r) => {
                    report.actions.extend(r.actions);
                    report.skipped.extend(r.skipped);
                }
                // Deleted while the pass ran.
                Err(Error::NoSuchBucket { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Runs [`Store::run_lifecycle`] every `every` of the store's clock, in a task on the current tokio
    /// runtime, until the runner is dropped. Each pass's report arrives on [`LifecycleRunner::next_report`].
    pub fn spawn_lifecycle(&self, every: Duration) -> LifecycleRunner {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let store = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                store.clock().sleep(every).await;
                if tx.send(store.run_lifecycle().await).is_err() {
                    return;
                }
            }
        });
        LifecycleRunner {
            handle,
            reports: rx,
        }
    }
}

/// Lifecycle passes on the store's clock (see [`Store::spawn_lifecycle`]); stops when dropped.
#[derive(Debug)]
pub struct LifecycleRunner {
    handle: tokio::task::JoinHandle<()>,
    reports: tokio::sync::mpsc::UnboundedReceiver<Result<LifecycleReport>>,
}

impl LifecycleRunner {
    /// The report of the next pass, when it has run.
    pub async fn next_report(&mut self) -> Option<Result<LifecycleReport>> {
        self.reports.recv().await
    }
}

impl Drop for LifecycleRunner {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
