//! ListObjectsV2 over the backend's ordered pages: prefix, delimiter and common prefixes, start-after,
//! continuation tokens, max-keys.

use super::Check;
use crate::types::access::Action;
use std::ops::Bound;
use std::sync::Arc;

use super::Bucket;
use crate::backend::{Backend, ListQuery};
use crate::error::Result;
use crate::limits::MAX_KEYS;
use crate::types::list::{
    ListOptions, ListPage, common_prefix, decode_token, encode_token, successor,
};
use crate::types::meta::ObjectMeta;

impl Bucket {
    /// One page of ListObjectsV2.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a continuation token this store did not issue.
    pub async fn list(&self, opts: &ListOptions) -> Result<ListPage> {
        self.authorize(Check {
            prefix: Some(&opts.prefix),
            delimiter: opts.delimiter.as_deref(),
            max_keys: opts.max_keys.map(|n| n as u64),
            ..Check::bucket(Action::LIST_BUCKET)
        })
        .await?;
        list_objects_v2(&*self.store.backend, &self.name, opts).await
    }

    /// Every object under `prefix`, following continuation tokens to the end.
    ///
    /// # Errors
    /// As [`Bucket::list`].
    pub async fn list_all(&self, prefix: &str) -> Result<Vec<Arc<ObjectMeta>>> {
        let mut opts = ListOptions::default().prefix(prefix);
        let mut all = Vec::new();
        loop {
            let page = self.list(&opts).await?;
            all.extend(page.objects);
            match page.next_continuation_token {
                Some(t) => opts.continuation_token = Some(t),
                None => return Ok(all),
            }
        }
    }
}

/// Runs one ListObjectsV2 page over a backend.
async fn list_objects_v2(
    backend: &dyn Backend,
    bucket: &str,
    opts: &ListOptions,
) -> Result<ListPage> {
    let max = opts.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS);
    let mut page = ListPage {
        max_keys: max,
        ..ListPage::default()
    };
    let mut pos: Bound<String> = match (&opts.continuation_token, &opts.start_after) {
        (Some(t), _) => decode_token(bucket, t)?,
        (None, Some(s)) => Bound::Excluded(s.clone()),
        (None, None) => Bound::Unbounded,
    };
    if max == 0 {
        // S3 answers max-keys=0 with an empty, untruncated page; the bucket must still exist.
        backend.head_bucket(bucket).await?;
        return Ok(page);
    }
    let prefix = opts.prefix.as_str();
    let delimiter = opts.delimiter.as_deref();
    let mut count = 0usize;
    'pages: loop {
        let limit = max - count + 1;
        let after = match &pos {
            Bound::Excluded(k) => Bound::Excluded(k.as_str()),
            Bound::Included(k) => Bound::Included(k.as_str()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let batch = backend
            .list(
                bucket,
                ListQuery {
                    prefix,
                    after,
                    limit,
                },
            )
            .await?;
        let exhausted = batch.len() < limit;
        let mut skipping: Option<String> = None;
        for meta in batch {
            if skipping
                .as_deref()
                .is_some_and(|cp| meta.key.starts_with(cp))
            {
                continue;
            }
            if count == max {
                page.is_truncated = true;
                break 'pages;
            }
            count += 1;
            if let Some(cp) = common_prefix(&meta.key, prefix, delimiter) {
                let cp = cp.to_string();
                match successor(&cp) {
                    Some(next) => pos = Bound::Included(next),
                    None => {
                        page.common_prefixes.push(cp);
                        break 'pages;
                    }
                }
                page.common_prefixes.push(cp.clone());
                skipping = Some(cp);
            } else {
                pos = Bound::Excluded(meta.key.clone());
                page.objects.push(meta);
            }
        }
        if exhausted {
            break;
        }
    }
    page.key_count = count;
    if page.is_truncated {
        page.next_continuation_token = Some(encode_token(&pos));
    }
    Ok(page)
}
