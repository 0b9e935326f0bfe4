//! A storage report: per bucket and storage class, what is stored and what it would cost a month.
//!
//! Every stored version counts (noncurrent ones too, as S3 bills them); delete markers hold no bytes and are
//! not counted. Parts of multipart uploads in progress are billed by S3 and counted here apart, under the
//! upload's class. Costs use a [`PriceTable`] of US dollars per GB-month (GB = 2^30 bytes, as AWS bills);
//! the default holds S3's us-east-1 list prices, and any price can be replaced.

use std::collections::BTreeMap;

use crate::bucket::Bucket;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::types::storage_class::StorageClass;

const GB: f64 = (1u64 << 30) as f64;

/// US dollars per GB-month, per storage class.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<StorageClass, f64>,
}

impl Default for PriceTable {
    /// S3's us-east-1 list prices for the first 50 TB (Intelligent-Tiering at its frequent access tier).
    fn default() -> Self {
        PriceTable {
            prices: BTreeMap::from([
                (StorageClass::Standard, 0.023),
                (StorageClass::StandardIa, 0.0125),
                (StorageClass::OnezoneIa, 0.01),
                (StorageClass::IntelligentTiering, 0.023),
                (StorageClass::GlacierIr, 0.004),
                (StorageClass::Glacier, 0.0036),
                (StorageClass::DeepArchive, 0.00099),
            ]),
        }
    }
}

impl PriceTable {
    /// Replaces the price of one class.
    #[must_use]
    pub fn with_price(mut self, class: StorageClass, usd_per_gb_month: f64) -> Self {
        self.prices.insert(class, usd_per_gb_month);
        self
    }

    /// The price of a class (0 if none is set).
    pub fn price(&self, class: StorageClass) -> f64 {
        self.prices.get(&class).copied().unwrap_or(0.0)
    }
}

/// What one storage class holds in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassUsage {
    /// Versions stored (delete markers excluded).
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes of parts of multipart uploads in progress.
    pub upload_bytes: u64,
    /// Estimated monthly cost of `bytes + upload_bytes`, in US dollars.
    pub monthly_cost: f64,
}

/// What one bucket holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketUsage {
    /// The bucket.
    pub bucket: String,
    /// Per class (only classes that hold something).
    pub classes: BTreeMap<StorageClass, ClassUsage>,
    /// Estimated monthly cost of the bucket, in US dollars.
    pub monthly_cost: f64,
}

/// Usage of every bucket of a store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageReport {
    /// Buckets, by name.
    pub buckets: Vec<BucketUsage>,
    /// Estimated monthly cost of the store, in US dollars.
    pub monthly_cost: f64,
}

impl Bucket {
    /// What the bucket stores, per class, and its estimated monthly cost under `prices`.
    ///
    /// # Errors
    /// `NoSuchBucket`; `Denied` for a caller outside the owner's account.
    pub async fn storage_usage(&self, prices: &PriceTable) -> Result<BucketUsage> {
        self.authorize_owner().await?;
        let mut usage = BucketUsage {
            bucket: self.name.to_string(),
            ..Default::default()
        };
        for e in self.list_all_versions("").await? {
            if e.meta.is_delete_marker {
                continue;
            }
            let c = usage.classes.entry(e.meta.storage_class).or_default();
            c.objects += 1;
            c.bytes += e.meta.size;
        }
        for u in self.store.backend.list_uploads(&self.name).await? {
            let bytes: u64 = match self
                .store
                .backend
                .list_parts(&self.name, &u.upload_id)
                .await
            {
                Ok((_, parts)) => parts.iter().map(|p| p.size).sum(),
                // Completed or aborted meanwhile.
                Err(Error::NoSuchUpload { .. }) => continue,
                Err(e) => return Err(e),
            };
            usage
                .classes
                .entry(u.template.storage_class)
                .or_default()
                .upload_bytes += bytes;
        }
        for (class, c) in &mut usage.classes {
            c.monthly_cost = (c.bytes + c.upload_bytes) as f64 / GB * prices.price(*class);
            usage.monthly_cost += c.monthly_cost;
        }
        Ok(usage)
    }
}

impl Store {
    /// What every bucket stores, per class, with estimated monthly costs under `prices`.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn storage_report(&self, prices: &PriceTable) -> Result<StorageReport> {
        let mut report = StorageReport::default();
        for info in self.list_buckets().await? {
            match self.bucket(&info.name)?.storage_usage(prices).await {
                Ok(u) => {
                    report.monthly_cost += u.monthly_cost;
                    report.buckets.push(u);
                }
                Err(Error::NoSuchBucket { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}
