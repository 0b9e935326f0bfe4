//! The memory backend: the test double, and the fastest.
//!
//! Buckets sit in a copy-on-write map (`ArcSwap`), so finding one takes no lock. Each bucket finds its
//! keys two ways, sharing the metadata and storing each key once (in its newest version's metadata): a
//! sharded hash table for point operations (a get of the newest version takes one shard's read lock, so
//! gets on different keys do not contend) and an ordered set of each key's newest version for listing. A write takes its key's shard lock and then the index lock, always
//! in that order. A key's slot is a [`Versions`]: its newest version inline and older versions (none, and
//! so nothing allocated, in an unversioned bucket) indexed by `seq` and by version id, so versioning costs
//! the common path nothing and a key with 100k versions puts, gets by id and pages in O(log n). Version listings
//! read keys from the index, release it, then read each key's shard, so they never hold the index while
//! waiting for a shard. Multipart uploads sit in a per-bucket map under their own lock, taken before a
//! shard's, never after.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use hashbrown::HashTable;
use parking_lot::{Mutex, RwLock};

use super::index::{self, AsMeta, Newest, NewestIndex, Versions, missing, version_start};
use super::uploads::{UploadEntry, UploadTable};
use super::{
    Backend, ConfigUpdate, ListQuery, MetaUpdate, PartInfo, ReadPlan, Upload, VersionEntry,
    VersionQuery, WriteCheck,
};
use crate::error::{Error, Result};
use crate::types::config::BucketConfig;
use crate::types::etag::ETag;
use crate::types::meta::{BucketInfo, ObjectMeta};

const SHARDS: usize = 64;

type Hasher = foldhash::fast::FixedState;
type Shard = RwLock<KeyTable>;

/// Buckets and objects in memory. Cheap to create; cloning a [`Store`](crate::Store) shares it.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    buckets: ArcSwap<HashMap<String, Arc<MemBucket>>>,
    /// Serializes bucket creation and deletion (rare) so the copy-on-write map loses no update.
    admin: Mutex<()>,
}

#[derive(Debug, Clone)]
struct Version {
    meta: Arc<ObjectMeta>,
    data: Bytes,
}

impl AsMeta for Version {
    fn meta(&self) -> &Arc<ObjectMeta> {
        &self.meta
    }
}

/// A key's versions: the newest inline, older ones (if any) indexed by `seq` and by version id.
type Slot = Versions<Version>;

/// One shard's keys: each key's slot, found by the key its newest version's metadata carries, so the key
/// is not stored a second time (an `Arc<str>` per key cost 48 bytes).
#[derive(Debug, Default)]
struct KeyTable(HashTable<Slot>);

fn key_of(slot: &Slot) -> &str {
    &slot.latest().meta.key
}

impl KeyTable {
    fn get(&self, hash: u64, key: &str) -> Option<&Slot> {
        self.0.find(hash, |s| key_of(s) == key)
    }

    fn get_mut(&mut self, hash: u64, key: &str) -> Option<&mut Slot> {
        self.0.find_mut(hash, |s| key_of(s) == key)
    }

    /// Adds the slot of a key that has none here.
    fn insert_new(&mut self, hash: u64, slot: Slot, hasher: &Hasher) {
        self.0
            .insert_unique(hash, slot, |s| hasher.hash_one(key_of(s)));
    }

    fn remove(&mut self, hash: u64, key: &str) {
        if let Ok(entry) = self.0.find_entry(hash, |s| key_of(s) == key) {
            entry.remove();
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The bytes of an upload's parts, by part number.
type PartData = HashMap<u32, Bytes>;

#[derive(Debug)]
struct MemBucket {
    info: BucketInfo,
    config: ArcSwap<BucketConfig>,
    config_lock: Mutex<()>,
    shards: Box<[Shard]>,
    index: RwLock<NewestIndex>,
    uploads: Mutex<UploadTable<PartData>>,
    deleted: AtomicBool,
    hasher: Hasher,
}

impl MemBucket {
    fn new(info: BucketInfo) -> Self {
        MemBucket {
            info,
            config: ArcSwap::from_pointee(BucketConfig::default()),
            config_lock: Mutex::new(()),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            index: RwLock::default(),
            uploads: Mutex::new(UploadTable::new()),
            deleted: AtomicBool::new(false),
            hasher: Hasher::default(),
        }
    }

    /// The key's hash and its shard. The shard is chosen by middle bits of the hash, as the table inside
    /// uses its low bits for the bucket and its top seven as tags.
    fn locate(&self, key: &str) -> (u64, &Shard) {
        let h = self.hasher.hash_one(key);
        (h, &self.shards[(h >> 40) as usize % SHARDS])
    }

    /// Stores a version as the newest of its key under the shard lock, after the check.
    fn store(
        &self,
        bucket: &str,
        mut meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        let (hash, shard) = self.locate(&meta.key);
        let mut shard = shard.write();
        if self.deleted.load(Ordering::Acquire) {
            return Err(no_such_bucket(bucket));
        }
        match shard.get_mut(hash, &meta.key) {
            None => {
                check(None, None)?;
                meta.seq = 1;
                let meta = Arc::new(meta);
                let slot = Slot::new(Version {
                    meta: meta.clone(),
                    data,
                });
                shard.insert_new(hash, slot, &self.hasher);
                self.index.write().replace(Newest(meta.clone()));
                Ok(meta)
            }
            Some(slot) => {
                check(
                    Some(&slot.latest().meta),
                    slot.get(&meta.version_id).map(|v| &*v.meta),
                )?;
                meta.seq = slot.latest().meta.seq + 1;
                let meta = Arc::new(meta);
                slot.insert(Version {
                    meta: meta.clone(),
                    data,
                });
                self.index.write().replace(Newest(meta.clone()));
                Ok(meta)
            }
        }
    }
}

impl MemoryBackend {
    /// An empty memory backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_bucket<R>(&self, bucket: &str, f: impl FnOnce(&MemBucket) -> Result<R>) -> Result<R> {
        let map = self.buckets.load();
        match map.get(bucket) {
            Some(b) => f(b),
            None => Err(no_such_bucket(bucket)),
        }
    }
}

/// The bytes of the parts a complete names (checked as S3 checks them), in order, shared, not copied.
fn part_bytes(
    u: &UploadEntry<PartData>,
    bucket: &str,
    parts: &[(u32, ETag)],
) -> Result<Vec<Bytes>> {
    Ok(u.pick_parts(bucket, parts)?
        .iter()
        .map(|p| u.extra.get(&p.part_number).cloned().unwrap_or_default())
        .collect())
}

/// The parts' bytes end to end; a single part is shared, not copied.
fn concat(parts: &[Bytes]) -> Bytes {
    match parts {
        [only] => only.clone(),
        _ => {
            let mut buf = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
            for d in parts {
                buf.extend_from_slice(d);
            }
            buf.freeze()
        }
    }
}

fn no_such_bucket(bucket: &str) -> Error {
    Error::NoSuchBucket {
        bucket: bucket.to_string(),
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn create_bucket(&self, info: &BucketInfo) -> Result<()> {
        let _admin = self.admin.lock();
        let current = self.buckets.load_full();
        if current.contains_key(&info.name) {
            return Err(Error::BucketAlreadyOwnedByYou {
                bucket: info.name.clone(),
            });
        }
        let mut next = (*current).clone();
        next.insert(info.name.clone(), Arc::new(MemBucket::new(info.clone())));
        self.buckets.store(Arc::new(next));
        Ok(())
    }

    async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let _admin = self.admin.lock();
        let current = self.buckets.load_full();
        let b = current.get(bucket).ok_or_else(|| no_such_bucket(bucket))?;
        {
            // Hold every shard so no put lands between the emptiness check and the delete mark.
            let guards: Vec<_> = b.shards.iter().map(|s| s.write()).collect();
            if guards.iter().any(|g| !g.is_empty()) {
                return Err(Error::BucketNotEmpty {
                    bucket: bucket.to_string(),
                });
            }
            b.deleted.store(true, Ordering::Release);
        }
        let mut next = (*current).clone();
        next.remove(bucket);
        self.buckets.store(Arc::new(next));
        Ok(())
    }

    async fn head_bucket(&self, bucket: &str) -> Result<BucketInfo> {
        self.with_bucket(bucket, |b| Ok(b.info.clone()))
    }

    async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        Ok(self
            .buckets
            .load()
            .values()
            .map(|b| b.info.clone())
            .collect())
    }

    async fn bucket_config(&self, bucket: &str) -> Result<Arc<BucketConfig>> {
        self.with_bucket(bucket, |b| Ok(b.config.load_full()))
    }

    async fn update_bucket_config(
        &self,
        bucket: &str,
        update: ConfigUpdate<'_>,
    ) -> Result<Arc<BucketConfig>> {
        self.with_bucket(bucket, |b| {
            let _lock = b.config_lock.lock();
            let mut next = (*b.config.load_full()).clone();
            update(&mut next)?;
            let next = Arc::new(next);
            b.config.store(next.clone());
            Ok(next)
        })
    }

    async fn head(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Arc<ObjectMeta>> {
        self.with_bucket(bucket, |b| {
            let (hash, shard) = b.locate(key);
            shard
                .read()
                .get(hash, key)
                .and_then(|s| s.pick(version))
                .map(|v| v.meta.clone())
                .ok_or_else(|| missing(bucket, key, version))
        })
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        plan: ReadPlan<'_>,
    ) -> Result<(Arc<ObjectMeta>, Bytes)> {
        self.with_bucket(bucket, |b| {
            let (meta, data) = {
                let (hash, shard) = b.locate(key);
                let shard = shard.read();
                let v = shard
                    .get(hash, key)
                    .and_then(|s| s.pick(version))
                    .ok_or_else(|| missing(bucket, key, version))?;
                (v.meta.clone(), v.data.clone())
            };
            let data = match plan(&meta)? {
                Some(r) => data.slice(r.start as usize..r.end as usize),
                None => data,
            };
            Ok((meta, data))
        })
    }

    async fn put(
        &self,
        bucket: &str,
        meta: ObjectMeta,
        data: Bytes,
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        self.with_bucket(bucket, |b| b.store(bucket, meta, data, check))
    }

    async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        check: WriteCheck<'_>,
    ) -> Result<Option<Arc<ObjectMeta>>> {
        self.with_bucket(bucket, |b| {
            let (hash, shard) = b.locate(key);
            let mut shard = shard.write();
            let Some(slot) = shard.get_mut(hash, key) else {
                check(None, None)?;
                return Ok(None);
            };
            let target = slot.get(version_id).map(|v| v.meta.clone());
            check(Some(&slot.latest().meta), target.as_deref())?;
            if target.is_none() {
                return Ok(None);
            }
            if slot.is_last(version_id) {
                shard.remove(hash, key);
                b.index.write().remove(key);
            } else {
                let was_latest = slot.latest().meta.version_id == version_id;
                slot.remove(version_id);
                if was_latest {
                    b.index.write().replace(Newest(slot.latest().meta.clone()));
                }
            }
            Ok(target)
        })
    }

    async fn update_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        update: MetaUpdate<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        self.with_bucket(bucket, |b| {
            let (hash, shard) = b.locate(key);
            let mut shard = shard.write();
            let slot = shard
                .get_mut(hash, key)
                .ok_or_else(|| missing(bucket, key, version))?;
            let is_latest = version.is_none_or(|v| slot.latest().meta.version_id == v);
            let id = match version {
                Some(v) => v,
                None => slot.latest().meta.version_id.as_str(),
            }
            .to_string();
            let v = slot
                .get_mut(&id)
                .ok_or_else(|| missing(bucket, key, version))?;
            let next = Arc::new(index::updated_meta(&v.meta, update)?);
            v.meta = next.clone();
            if is_latest {
                b.index.write().replace(Newest(next.clone()));
            }
            Ok(next)
        })
    }

    async fn list(&self, bucket: &str, query: ListQuery<'_>) -> Result<Vec<Arc<ObjectMeta>>> {
        self.with_bucket(bucket, |b| Ok(index::list_newest(&b.index.read(), &query)))
    }

    async fn list_versions(
        &self,
        bucket: &str,
        query: VersionQuery<'_>,
    ) -> Result<Vec<VersionEntry>> {
        self.with_bucket(bucket, |b| {
            let mut out = Vec::new();
            let mut start: Bound<String> = match version_start(&query) {
                Bound::Included(k) => Bound::Included(k.to_string()),
                Bound::Excluded(k) => Bound::Excluded(k.to_string()),
                Bound::Unbounded => Bound::Unbounded,
            };
            while out.len() < query.limit {
                // Take a batch of keys, release the index, then read each key's shard.
                let keys: Vec<Arc<ObjectMeta>> = {
                    let index = b.index.read();
                    let from = match &start {
                        Bound::Included(k) => Bound::Included(k.as_str()),
                        Bound::Excluded(k) => Bound::Excluded(k.as_str()),
                        Bound::Unbounded => Bound::Unbounded,
                    };
                    index::newest_from(&index, from, query.prefix)
                        .take(query.limit - out.len())
                        .cloned()
                        .collect()
                };
                let Some(last) = keys.last() else { break };
                start = Bound::Excluded(last.key.clone());
                for newest in &keys {
                    let key = newest.key.as_str();
                    let (hash, shard) = b.locate(key);
                    // Under the shard's read lock, only the page's versions are cloned.
                    let full = match shard.read().get(hash, key) {
                        Some(slot) => index::push_versions(&mut out, key, slot, &query),
                        None => continue,
                    };
                    if full {
                        return Ok(out);
                    }
                }
            }
            Ok(out)
        })
    }

    async fn create_upload(&self, bucket: &str, upload: &Upload) -> Result<()> {
        self.with_bucket(bucket, |b| {
            b.uploads.lock().create(upload.clone(), PartData::new());
            Ok(())
        })
    }

    async fn put_part(
        &self,
        bucket: &str,
        upload_id: &str,
        part: PartInfo,
        data: Bytes,
    ) -> Result<()> {
        self.with_bucket(bucket, |b| {
            let mut uploads = b.uploads.lock();
            let u = uploads.get_mut(bucket, upload_id)?;
            u.extra.insert(part.part_number, data);
            u.parts.insert(part.part_number, part);
            Ok(())
        })
    }

    async fn list_parts(&self, bucket: &str, upload_id: &str) -> Result<(Upload, Vec<PartInfo>)> {
        self.with_bucket(bucket, |b| b.uploads.lock().parts(bucket, upload_id))
    }

    async fn get_upload(&self, bucket: &str, upload_id: &str) -> Result<Upload> {
        self.with_bucket(bucket, |b| b.uploads.lock().upload(bucket, upload_id))
    }

    async fn list_uploads(&self, bucket: &str) -> Result<Vec<Upload>> {
        self.with_bucket(bucket, |b| Ok(b.uploads.lock().uploads()))
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        upload_id: &str,
        mut meta: ObjectMeta,
        parts: &[(u32, ETag)],
        check: WriteCheck<'_>,
    ) -> Result<Arc<ObjectMeta>> {
        self.with_bucket(bucket, |b| {
            // The parts are copied outside the bucket's uploads lock, so other uploads to the bucket never
            // wait for an assembly. Under the lock again, the assembly is used only if every picked part is
            // still the very buffer that was copied (a part replaced meanwhile means assembling again); two
            // completes of one upload race to `take` it, and the loser gets NoSuchUpload.
            let mut copied = part_bytes(b.uploads.lock().get(bucket, upload_id)?, bucket, parts)?;
            let mut attempts = 1;
            loop {
                let body = concat(&copied);
                let mut uploads = b.uploads.lock();
                let now = part_bytes(uploads.get(bucket, upload_id)?, bucket, parts)?;
                let same = now.len() == copied.len()
                    && now
                        .iter()
                        .zip(&copied)
                        .all(|(n, c)| n.as_ptr() == c.as_ptr() && n.len() == c.len());
                let body = if same {
                    body
                } else if attempts >= 8 {
                    // Parts replaced under eight assemblies in a row: this one is made under the lock, so
                    // completion always ends.
                    concat(&now)
                } else {
                    drop(uploads);
                    copied = now;
                    attempts += 1;
                    continue;
                };
                meta.size = body.len() as u64;
                let stored = b.store(bucket, meta, body, check)?;
                uploads.take(upload_id);
                return Ok(stored);
            }
        })
    }

    async fn abort_upload(&self, bucket: &str, upload_id: &str) -> Result<()> {
        self.with_bucket(bucket, |b| {
            b.uploads.lock().remove(bucket, upload_id).map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use stratus_clock::ManualClock;

    use crate::Store;

    crate::conformance_tests!(|clock: &ManualClock| (
        Store::builder().with_clock(clock.clock()).build().unwrap(),
        ()
    ));

    /// A part uploaded again (same bytes, a new buffer) while completes run: each complete assembles the
    /// parts outside the uploads lock and uses the assembly only if no picked part changed meanwhile, so
    /// every stored object is whole, and another upload to the bucket proceeds during the assemblies.
    #[test]
    fn complete_races_part_replacement_and_stays_whole() {
        use crate::{CompletedPart, Conditions, MultipartOptions};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Store::memory();
            let b = store.create_bucket("race").await.unwrap();
            let part_len = 5 * 1024 * 1024;
            let bodies: Vec<Vec<u8>> = (0..3u8).map(|i| vec![b'a' + i; part_len]).collect();
            let want: Vec<u8> = bodies.concat();
            for round in 0..10 {
                let up = b
                    .create_multipart_upload("k", MultipartOptions::default())
                    .await
                    .unwrap();
                let mut done = Vec::new();
                for (i, body) in bodies.iter().enumerate() {
                    let info = b
                        .upload_part("k", &up.upload_id, i as u32 + 1, body.clone(), None)
                        .await
                        .unwrap();
                    done.push(CompletedPart {
                        part_number: i as u32 + 1,
                        etag: info.etag,
                    });
                }
                let other = b
                    .create_multipart_upload("other", MultipartOptions::default())
                    .await
                    .unwrap();
                let (b2, id, again) = (b.clone(), up.upload_id.clone(), bodies[1].clone());
                let replacer = tokio::spawn(async move {
                    for _ in 0..4 {
                        // NoSuchUpload once the complete has taken it.
                        let _ = b2.upload_part("k", &id, 2, again.clone(), None).await;
                        tokio::task::yield_now().await;
                    }
                });
                let (b3, oid) = (b.clone(), other.upload_id.clone());
                let neighbour = tokio::spawn(async move {
                    b3.upload_part("other", &oid, 1, vec![b'z'; 1024], None)
                        .await
                        .unwrap()
                });
                let meta = b
                    .complete_multipart_upload("k", &up.upload_id, &done, &Conditions::default())
                    .await
                    .unwrap();
                replacer.await.unwrap();
                neighbour.await.unwrap();
                assert_eq!(meta.size, want.len() as u64, "round {round}");
                let got = b.get("k").await.unwrap().body;
                assert!(got[..] == want[..], "round {round}: assembled bytes differ");
                assert_eq!(
                    b.complete_multipart_upload("k", &up.upload_id, &done, &Conditions::default())
                        .await
                        .unwrap_err()
                        .code(),
                    "NoSuchUpload"
                );
            }
        });
    }

    /// `object_store`'s own conformance suite against a memory-backed bucket (what is run and what is not:
    /// `crate::backend::object_store_integration`).
    #[tokio::test]
    async fn object_store_integration() {
        let store = Store::memory();
        let bucket = store.create_bucket("integration").await.unwrap();
        crate::backend::object_store_integration(&bucket).await;
    }

    /// Versions through `object_store`: puts report the version id, gets and heads read a version.
    #[tokio::test]
    async fn object_store_versions() {
        use object_store::{GetOptions, ObjectStoreExt, path::Path};
        let store = Store::memory();
        let native = store.create_bucket("os-versions").await.unwrap();
        let bucket: &dyn object_store::ObjectStore = &native;
        let path = Path::from("k");
        let unversioned = bucket.put(&path, "zero".into()).await.unwrap();
        assert_eq!(
            unversioned.version, None,
            "the null version has no id for object_store"
        );
        native
            .set_versioning(crate::Versioning::Enabled)
            .await
            .unwrap();
        let one = bucket.put(&path, "one".into()).await.unwrap();
        bucket.put(&path, "two".into()).await.unwrap();
        let v1 = one.version.clone().unwrap();
        let opts = |head: bool| GetOptions {
            version: Some(v1.clone()),
            head,
            ..Default::default()
        };
        let got = bucket.get_opts(&path, opts(false)).await.unwrap();
        assert_eq!(got.meta.version.as_deref(), Some(v1.as_str()));
        assert_eq!(&got.bytes().await.unwrap()[..], b"one");
        let head = bucket.get_opts(&path, opts(true)).await.unwrap();
        assert_eq!(head.meta.size, 3);
        let missing = GetOptions {
            version: Some("nosuchversion".into()),
            ..Default::default()
        };
        assert!(matches!(
            bucket.get_opts(&path, missing).await,
            Err(object_store::Error::NotFound { .. })
        ));
        assert_eq!(
            &bucket.get(&path).await.unwrap().bytes().await.unwrap()[..],
            b"two"
        );
    }
}
