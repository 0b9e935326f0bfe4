//! The disk tier: entries as checksummed files under one folder, bounded by bytes, recovered after a restart.
//!
//! Each entry is one file named after a 64-bit hash of its key. A file holds a magic number, a CRC-32 of the
//! rest, and the encoded entry with its key (so a hash collision or a stray file is detected, never served).
//! Writes go to a temporary file in the same folder and are renamed over the final name, so a reader or a
//! restart sees the old file or the new one, never half of one; with [`DiskOptions::sync_writes`] the data is
//! flushed to stable storage before the rename.
//!
//! Large bodies cost no copies: a store writes the body from the entry's own bytes (the CRC computed over it
//! in place), and a read allocates the file once and returns an entry whose body is a slice of it (bodies under
//! 64 KiB are copied out of it instead, so they do not keep the file's metadata in memory). A 256 MiB
//! body adds 0.1 MiB to the peak RSS of a store and 256 MiB (the body returned) to a read (the test
//! `a_large_body_is_stored_and_read_from_disk_without_copies`; 512 MiB each before).
//!
//! The index (key, file, weight, recency) lives in memory. [`DiskTier::open`] rebuilds it by reading and
//! verifying every file: temporary files left by a killed process are deleted, and so is any file that fails
//! its checksum or cannot be decoded. A file corrupted later is found when read: the read is a miss and the
//! file is removed. Eviction is least-recently-used, by [`Entry::weight`], and the weighted size never exceeds
//! the capacity, also under concurrent inserts (the index's bookkeeping and the rename happen under one lock).
//!
//! ```
//! use std::sync::Arc;
//! use edgecache::{Entry, Tier};
//! use edgecache::tier::{DiskOptions, DiskTier};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> edgecache::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let tier = DiskTier::open(dir.path(), DiskOptions::default().with_capacity_bytes(1 << 20)).await?;
//! tier.insert("example.com/a", Arc::new(Entry::from_body("hello"))).await?;
//! drop(tier);
//! let reopened = DiskTier::open(dir.path(), DiskOptions::default().with_capacity_bytes(1 << 20)).await?;
//! assert_eq!(&reopened.get("example.com/a").await?.unwrap().body[..], b"hello");
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::tier::{Entry, Tier};

const MAGIC: &[u8; 4] = b"ECD1";
const HEADER_LEN: usize = 4 + 4 + 8;
const TIER: &str = "disk";
const SUFFIX: &str = "entry";
const TMP_PREFIX: &str = ".tmp-";
/// Bodies at least this long are read as a slice of the file's buffer, shorter ones copied out of it.
const SLICE_BODY_BYTES: usize = 64 << 10;

/// Options of a [`DiskTier`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DiskOptions {
    /// The most bytes held (sum of [`Entry::weight`]). Default 1 GiB.
    pub capacity_bytes: u64,
    /// Flush every file to stable storage before it replaces the old one (survives power loss, not only a
    /// killed process). Default `false`.
    pub sync_writes: bool,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions {
            capacity_bytes: 1 << 30,
            sync_writes: false,
        }
    }
}

impl DiskOptions {
    /// These options with `bytes` of capacity.
    #[must_use]
    pub fn with_capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity_bytes = bytes;
        self
    }

    /// These options with [`DiskOptions::sync_writes`] set.
    #[must_use]
    pub fn with_sync_writes(mut self, sync: bool) -> Self {
        self.sync_writes = sync;
        self
    }
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    file: u64,
    weight: u64,
}

#[derive(Debug)]
struct Index {
    /// Key to metadata, in recency order (most recent at the front).
    entries: lru::LruCache<String, Meta>,
    /// File hash to the key it holds.
    files: HashMap<u64, String>,
    used: u64,
}

impl Index {
    fn remove_key(&mut self, key: &str) -> Option<Meta> {
        let meta = self.entries.pop(key)?;
        self.used -= meta.weight;
        if self.files.get(&meta.file).is_some_and(|k| k == key) {
            self.files.remove(&meta.file);
        }
        Some(meta)
    }
}

/// A persistent, byte-bounded [`Tier`] of files under one folder; see the [module docs](self).
#[derive(Debug)]
pub struct DiskTier {
    root: PathBuf,
    options: DiskOptions,
    index: Mutex<Index>,
    evictions: AtomicU64,
    tmp_counter: AtomicU64,
}

/// FNV-1a, 64 bits: a stable hash for file names.
fn file_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_time(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    out.extend_from_slice(&d.as_secs().to_le_bytes());
    out.extend_from_slice(&d.subsec_nanos().to_le_bytes());
}

/// The bytes of a file for `key` and `entry`, in three parts written one after the other: the frame header
/// (magic, CRC-32 of the rest, its length), the encoded metadata (ending with the body's length), and the body,
/// which is written from the entry's own bytes, never copied (a large body costs no second buffer).
struct Encoded {
    header: [u8; HEADER_LEN],
    meta: Vec<u8>,
    body: Bytes,
}

impl Encoded {
    fn new(key: &str, entry: &Entry) -> Self {
        let mut p = Vec::with_capacity(256);
        put_bytes(&mut p, key.as_bytes());
        p.extend_from_slice(&entry.status.as_u16().to_le_bytes());
        put_time(&mut p, entry.request_time);
        put_time(&mut p, entry.response_time);
        p.push(u8::from(entry.invalidated));
        p.extend_from_slice(&(entry.headers.len() as u32).to_le_bytes());
        for (n, v) in &entry.headers {
            put_bytes(&mut p, n.as_str().as_bytes());
            put_bytes(&mut p, v.as_bytes());
        }
        p.extend_from_slice(&(entry.surrogate_keys.len() as u32).to_le_bytes());
        for k in &entry.surrogate_keys {
            put_bytes(&mut p, k.as_bytes());
        }
        p.extend_from_slice(&(entry.vary.len() as u32).to_le_bytes());
        for (n, v) in &entry.vary {
            put_bytes(&mut p, n.as_str().as_bytes());
            match v {
                Some(v) => {
                    p.push(1);
                    put_bytes(&mut p, v.as_bytes());
                }
                None => p.push(0),
            }
        }
        p.extend_from_slice(&(entry.body.len() as u64).to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&p);
        crc.update(&entry.body);
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4..8].copy_from_slice(&crc.finalize().to_le_bytes());
        header[8..].copy_from_slice(&((p.len() + entry.body.len()) as u64).to_le_bytes());
        Encoded {
            header,
            meta: p,
            body: entry.body.clone(),
        }
    }

    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(&self.header)?;
        out.write_all(&self.meta)?;
        out.write_all(&self.body)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn time(&mut self) -> Option<SystemTime> {
        let secs = self.u64()?;
        let nanos = self.u32()?;
        UNIX_EPOCH.checked_add(Duration::new(secs, nanos.min(999_999_999)))
    }
    /// A count of items each at least `min` bytes long, refused when the rest cannot hold them.
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.checked_mul(min)? <= self.buf.len() - self.pos).then_some(n)
    }
}

/// Decodes a file's bytes into its key and entry; `Err` says what is wrong. The entry's body is a slice of
/// `file` (no copy).
fn decode(file: &Bytes) -> std::result::Result<(String, Entry), &'static str> {
    if file.len() < HEADER_LEN || &file[..4] != MAGIC {
        return Err("bad magic or truncated header");
    }
    let crc = u32::from_le_bytes(file[4..8].try_into().map_err(|_| "header")?);
    let len = u64::from_le_bytes(file[8..16].try_into().map_err(|_| "header")?);
    let payload = &file[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err("length mismatch (truncated or extended)");
    }
    if crc32fast::hash(payload) != crc {
        return Err("checksum mismatch");
    }
    decode_payload(file, HEADER_LEN).ok_or("undecodable payload")
}

/// Decodes the payload at `file[start..]`.
fn decode_payload(file: &Bytes, start: usize) -> Option<(String, Entry)> {
    let payload = &file[start..];
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let key = String::from_utf8(r.bytes()?.to_vec()).ok()?;
    let status = StatusCode::from_u16(r.u16()?).ok()?;
    let request_time = r.time()?;
    let response_time = r.time()?;
    let invalidated = r.u8()? != 0;
    let mut headers = HeaderMap::new();
    for _ in 0..r.count(8)? {
        let n = HeaderName::from_bytes(r.bytes()?).ok()?;
        let v = HeaderValue::from_bytes(r.bytes()?).ok()?;
        headers.append(n, v);
    }
    let mut surrogate_keys = Vec::new();
    for _ in 0..r.count(4)? {
        surrogate_keys.push(String::from_utf8(r.bytes()?.to_vec()).ok()?);
    }
    let mut vary = Vec::new();
    for _ in 0..r.count(5)? {
        let n = HeaderName::from_bytes(r.bytes()?).ok()?;
        let v = match r.u8()? {
            0 => None,
            1 => Some(HeaderValue::from_bytes(r.bytes()?).ok()?),
            _ => return None,
        };
        vary.push((n, v));
    }
    let body_len = usize::try_from(r.u64()?).ok()?;
    let body_start = start + r.pos;
    r.take(body_len)?;
    if r.pos != payload.len() {
        return None;
    }
    // a large body is a slice of the file's buffer (no copy); a small one is copied out, so an entry kept in
    // memory (promoted to a tier above) does not keep the file's metadata alive beside its decoded headers
    let body = if body_len >= SLICE_BODY_BYTES {
        file.slice(body_start..body_start + body_len)
    } else {
        Bytes::copy_from_slice(&file[body_start..body_start + body_len])
    };
    let mut entry = Entry::new(status, headers, body, request_time, response_time);
    entry.surrogate_keys = surrogate_keys;
    entry.vary = vary;
    entry.invalidated = invalidated;
    Some((key, entry))
}

/// A whole file read with one allocation of its size, as shared bytes (entries' bodies are slices of it).
fn read_file(path: &Path) -> std::io::Result<Bytes> {
    fs::read(path).map(Bytes::from)
}

fn file_name(hash: u64) -> String {
    format!("{hash:016x}.{SUFFIX}")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            match tokio::task::spawn_blocking(f).await {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        // a current-thread runtime (or none): run in place; disk operations are short
        _ => f(),
    }
}

impl DiskTier {
    /// Opens (creating it if needed) the tier in folder `root` and recovers its index from the files there,
    /// deleting temporary and corrupt files, and evicting down to the capacity.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created or listed.
    pub async fn open(root: impl AsRef<Path>, options: DiskOptions) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let scan_root = root.clone();
        let found = blocking(move || Self::scan(&scan_root)).await?;
        let tier = DiskTier {
            root,
            options,
            index: Mutex::new(Index {
                entries: lru::LruCache::unbounded(),
                files: HashMap::new(),
                used: 0,
            }),
            evictions: AtomicU64::new(0),
            tmp_counter: AtomicU64::new(0),
        };
        {
            let mut index = tier.index.lock();
            // oldest first, so the most recently written end up most recent
            for (key, hash, weight, _) in found {
                if let Some(old) = index.files.get(&hash).cloned() {
                    index.remove_key(&old);
                }
                index.remove_key(&key);
                index.entries.put(key.clone(), Meta { file: hash, weight });
                index.files.insert(hash, key);
                index.used += weight;
            }
            tier.evict_to_fit(&mut index, 0);
        }
        Ok(tier)
    }

    /// Reads every file under `root`: (key, hash, weight, modified) of the intact ones, oldest first.
    fn scan(root: &Path) -> Result<Vec<(String, u64, u64, SystemTime)>> {
        fs::create_dir_all(root).map_err(|e| Error::io(TIER, root.display(), e))?;
        let mut found = Vec::new();
        let listing = fs::read_dir(root).map_err(|e| Error::io(TIER, root.display(), e))?;
        for item in listing.flatten() {
            let path = item.path();
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with(TMP_PREFIX) {
                let _ = fs::remove_file(&path); // a write a killed process never finished
                continue;
            }
            let Some(hash) = name
                .strip_suffix(&format!(".{SUFFIX}"))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
            else {
                continue; // not ours
            };
            let Ok(bytes) = read_file(&path) else {
                continue;
            };
            match decode(&bytes) {
                Ok((key, entry)) if file_hash(&key) == hash => {
                    let modified = item
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(UNIX_EPOCH);
                    found.push((key.clone(), hash, entry.weight(&key), modified));
                }
                _ => {
                    let _ = fs::remove_file(&path);
                }
            }
        }
        found.sort_by_key(|f| f.3);
        Ok(found)
    }

    /// The folder the tier keeps its files in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of the file that holds `key` (whether or not it is stored).
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(file_name(file_hash(key)))
    }

    /// Evicts least-recently-used entries until `incoming` more bytes fit; deletes their files.
    fn evict_to_fit(&self, index: &mut Index, incoming: u64) {
        while index.used + incoming > self.options.capacity_bytes {
            let Some((key, _)) = index.entries.peek_lru().map(|(k, m)| (k.clone(), *m)) else {
                break;
            };
            if let Some(meta) = index.remove_key(&key) {
                let _ = fs::remove_file(self.root.join(file_name(meta.file)));
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Forgets `key` if the index still maps it to `hash`, deleting the file when it is the key's.
    fn drop_corrupt(&self, key: &str, hash: u64, delete_file: bool) {
        let mut index = self.index.lock();
        if index.entries.peek(key).is_some_and(|m| m.file == hash) {
            index.remove_key(key);
            if delete_file {
                let _ = fs::remove_file(self.root.join(file_name(hash)));
            }
        }
    }
}

#[async_trait]
impl Tier for DiskTier {
    fn name(&self) -> &str {
        TIER
    }

    async fn get(&self, key: &str) -> Result<Option<Arc<Entry>>> {
        let meta = {
            let mut index = self.index.lock();
            match index.entries.get(key) {
                Some(m) => *m,
                None => return Ok(None),
            }
        };
        let path = self.root.join(file_name(meta.file));
        let read = blocking(move || read_file(&path)).await;
        let bytes = match read {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // gone: forget it, unless a concurrent insert has just put a new file in place
                let mut index = self.index.lock();
                let path = self.root.join(file_name(meta.file));
                if index.entries.peek(key).is_some_and(|m| m.file == meta.file) && !path.exists() {
                    index.remove_key(key);
                }
                return Ok(None);
            }
            Err(e) => {
                return Err(Error::io(
                    TIER,
                    self.root.join(file_name(meta.file)).display(),
                    e,
                ));
            }
        };
        match decode(&bytes) {
            Ok((stored_key, entry)) if stored_key == key => Ok(Some(Arc::new(entry))),
            // another key's file (a hash collision that replaced ours): ours is gone, the file is not ours
            Ok(_) => {
                self.drop_corrupt(key, meta.file, false);
                Ok(None)
            }
            Err(_) => {
                self.drop_corrupt(key, meta.file, true);
                Ok(None)
            }
        }
    }

    async fn insert(&self, key: &str, entry: Arc<Entry>) -> Result<bool> {
        let weight = entry.weight(key);
        if weight > self.options.capacity_bytes {
            // too heavy to ever fit: also drop an older version, which is now outdated
            let removed = self.index.lock().remove_key(key);
            if let Some(meta) = removed {
                let _ = fs::remove_file(self.root.join(file_name(meta.file)));
            }
            return Ok(false);
        }
        let hash = file_hash(key);
        let encoded = Encoded::new(key, &entry);
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.root.join(format!(
            "{TMP_PREFIX}{hash:016x}-{}-{n}",
            std::process::id()
        ));
        let sync = self.options.sync_writes;
        let tmp_path = tmp.clone();
        let written = blocking(move || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp_path)?;
            encoded.write_to(&mut f)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })
        .await;
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(TIER, tmp.display(), e));
        }
        let final_path = self.root.join(file_name(hash));
        let mut index = self.index.lock();
        index.remove_key(key);
        if let Some(other) = index.files.get(&hash).cloned() {
            index.remove_key(&other); // a colliding key loses its file
        }
        self.evict_to_fit(&mut index, weight);
        if let Err(e) = fs::rename(&tmp, &final_path) {
            drop(index);
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(TIER, final_path.display(), e));
        }
        index
            .entries
            .put(key.to_string(), Meta { file: hash, weight });
        index.files.insert(hash, key.to_string());
        index.used += weight;
        Ok(true)
    }

    async fn remove(&self, key: &str) -> Result<bool> {
        let mut index = self.index.lock();
        match index.remove_key(key) {
            Some(meta) => {
                let _ = fs::remove_file(self.root.join(file_name(meta.file)));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn retain(
        &self,
        keep: &(dyn for<'k, 'e> Fn(&'k str, &'e Entry) -> bool + Send + Sync),
    ) -> Result<u64> {
        let snapshot: Vec<(String, Meta)> = self
            .index
            .lock()
            .entries
            .iter()
            .map(|(k, m)| (k.clone(), *m))
            .collect();
        let mut removed = 0;
        for (key, meta) in snapshot {
            let path = self.root.join(file_name(meta.file));
            let decoded = read_file(&path).ok().map(|b| decode(&b));
            let drop_it = match decoded {
                Some(Ok((k, entry))) if k == key => !keep(&key, &entry),
                Some(Ok(_)) | None => {
                    self.drop_corrupt(&key, meta.file, false);
                    continue;
                }
                Some(Err(_)) => true,
            };
            if drop_it {
                let mut index = self.index.lock();
                if index
                    .entries
                    .peek(&key)
                    .is_some_and(|m| m.file == meta.file)
                {
                    index.remove_key(&key);
                    let _ = fs::remove_file(&path);
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    fn capacity_bytes(&self) -> u64 {
        self.options.capacity_bytes
    }

    fn used_bytes(&self) -> u64 {
        self.index.lock().used
    }

    fn len(&self) -> usize {
        self.index.lock().entries.len()
    }

    fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_detects_damage() {
        let mut headers = HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        headers.insert("surrogate-key", HeaderValue::from_static("t1 t2"));
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123);
        let entry = Entry::new(
            StatusCode::NOT_FOUND,
            headers,
            Bytes::from_static(b"body"),
            t,
            t,
        )
        .with_vary(vec![(HeaderName::from_static("accept"), None)])
        .with_invalidated(true);
        let mut bytes = Vec::new();
        Encoded::new("k", &entry).write_to(&mut bytes).unwrap();
        assert_eq!(
            decode(&Bytes::from(bytes.clone())),
            Ok(("k".to_string(), entry))
        );
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(
                decode(&Bytes::from(bad)).is_err(),
                "flipped byte {i} went unnoticed"
            );
            assert!(
                decode(&Bytes::copy_from_slice(&bytes[..i])).is_err(),
                "truncation at {i} went unnoticed"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(mut bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = decode(&Bytes::copy_from_slice(&bytes));
            // with a valid frame around garbage, the payload decoder runs too
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
            framed.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            framed.append(&mut bytes);
            let _ = decode(&Bytes::from(framed));
        }
    }
}
