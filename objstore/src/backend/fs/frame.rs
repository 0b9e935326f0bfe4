//! The frame codec of the fs backend's files: a magic, a little-endian `u32` header length, a CRC32C of the
//! header, a JSON header, the bytes, then a CRC32C of each 64 KiB chunk of the bytes.
//!
//! A version file holds a header (the [`ObjectMeta`], key and version id included) then the object's bytes,
//! so metadata always travels with the object; a delete marker is a header-only file. The one exception
//! is a version made by a multipart upload: its file is a *manifest*, a header that also lists its
//! [`Segment`]s, whose bytes stay in the part files of its data folder. A part file of an upload is a frame
//! of its [`PartInfo`](crate::backend::PartInfo) and its bytes.
//!
//! ```text
//! magic (8) | header length (u32 LE) | CRC32C of the header (u32 LE) | header | bytes | CRC32C of each chunk
//! ```
//!
//! **Nothing damaged is served.** Every length and offset read from a file is checked, with checked
//! arithmetic, against the file's real size before anything is allocated from it (a header is at most
//! [`MAX_HEADER`]); the header's CRC32C is checked before it is parsed; the bytes of a read are checked
//! chunk by chunk against the CRC32C stored when they were written, reading at most 1 MiB at a time and
//! checking it while it is in cache, so a range read checks only the chunks it touches. Any mismatch is a
//! [`Damaged`] error, which the backend reports as [`Error::Corrupt`](crate::Error::Corrupt) naming the
//! bucket and key; a damaged header found at open moves its file to quarantine. CRC32C runs in hardware
//! (SSE 4.2, ARMv8 CRC), so the check costs a few per cent of a read (see `benches/README.md`).
//!
//! Files of the first frame version (`…1` magics: no checksums) are still read, unchecked; every write makes
//! the second version. Reading takes one positioned read of the file's first 16 KiB, so a small object's
//! header, bytes and checksums come from one system call. Depends on `meta` and on [`layout`](super::layout)
//! for part file names.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::layout::part_file;
use crate::types::meta::ObjectMeta;

/// An inline version file: header, bytes and checksums.
pub(super) const MAGIC: &[u8; 8] = b"STRATOB2";
/// A part file of a multipart upload.
pub(super) const PART_MAGIC: &[u8; 8] = b"STRATOP2";
/// A version file whose bytes are in the part files of the multipart upload it completed.
pub(super) const MANIFEST_MAGIC: &[u8; 8] = b"STRATOM2";
/// The magics' common start; the seventh byte says which kind, the eighth which version.
const MAGIC_STEM: &[u8; 6] = b"STRATO";
/// The first version's prefix: magic and header length.
const PREFIX_V1: u64 = 12;
/// This version's prefix: magic, header length and the header's CRC32C.
const PREFIX_V2: u64 = 16;
/// How much of a file the first read takes.
const FIRST_READ: u64 = 16 * 1024;
/// The unit of the bytes' checksums.
pub(super) const CHUNK: u64 = 64 * 1024;
/// How many bytes a checked read takes per system call (then checks while they are in cache).
const READ_GROUP: u64 = 16 * CHUNK;
/// The largest header a file may declare: an object's metadata is a few KiB, a manifest of 10,000 parts
/// under 1 MiB. A larger length is damage, refused before any allocation.
pub(super) const MAX_HEADER: u64 = 8 * 1024 * 1024;

/// Damage found in a file: what failed its check. Carried inside an [`io::Error`] of kind `InvalidData`.
#[derive(Debug)]
pub(super) struct Damaged(pub(super) String);

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

/// One part of a multipart object: `len` bytes at `off` in the file `part-{part}` of its data folder,
/// followed there by their chunk checksums when `sums` (a part file of the second frame version).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Segment {
    pub(super) part: u32,
    pub(super) off: u64,
    pub(super) len: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) sums: bool,
}

impl Segment {
    /// The length its part file must have, or `None` if the numbers overflow (damage).
    pub(super) fn file_len(&self) -> Option<u64> {
        let data_end = self.off.checked_add(self.len)?;
        if self.sums {
            data_end.checked_add(sums_len(self.len)?)
        } else {
            Some(data_end)
        }
    }
}

/// The header of a manifest version file (as written).
#[derive(Serialize)]
pub(super) struct ManifestRef<'a> {
    pub(super) meta: &'a ObjectMeta,
    pub(super) segments: &'a [Segment],
}

/// The header of a manifest version file (as read).
#[derive(Deserialize)]
pub(super) struct Manifest {
    pub(super) meta: ObjectMeta,
    pub(super) segments: Vec<Segment>,
}

/// Where a version's bytes are.
#[derive(Debug)]
pub(super) enum Body {
    /// In the version file.
    Inline(Data),
    /// In the part files of its data folder, in this order.
    Parts(Vec<Segment>),
}

/// The bytes of a frame: where they start, how many, whether checksums follow them, and what of them (and
/// of the checksums) the first read already holds.
#[derive(Debug)]
pub(super) struct Data {
    pub(super) off: u64,
    pub(super) len: u64,
    pub(super) sums: bool,
    already: Bytes,
}

impl Data {
    /// Whether a read of `range` needs no further system call.
    pub(super) fn in_memory(&self, range: &Range<u64>) -> bool {
        let need = if self.sums {
            // The whole file is in memory, checksums included.
            self.len + sums_len(self.len).unwrap_or(u64::MAX)
        } else {
            range.end
        };
        need <= self.already.len() as u64
    }

    /// Reads `range` of the bytes (checked unless `verify` is off or the file has no checksums).
    pub(super) fn read(&self, file: &File, range: Range<u64>, verify: bool) -> io::Result<Bytes> {
        debug_assert!(range.start <= range.end && range.end <= self.len);
        if self.in_memory(&range) {
            if self.sums && verify {
                let sums = &self.already[self.len as usize..];
                check_region(&self.already[..self.len as usize], range.clone(), sums)?;
            }
            return Ok(self.already.slice(range.start as usize..range.end as usize));
        }
        let mut out = vec![0u8; (range.end - range.start) as usize];
        read_region(
            file,
            self.off,
            self.len,
            self.sums && verify,
            range,
            &mut out,
        )?;
        Ok(Bytes::from(out))
    }
}

/// The length of the checksums of `len` bytes, or `None` on overflow.
fn sums_len(len: u64) -> Option<u64> {
    len.div_ceil(CHUNK).checked_mul(4)
}

/// An `InvalidData` error carrying [`Damaged`].
pub(super) fn bad_frame(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Damaged(what.into()))
}

/// A framed file's start: its magic, its header's bytes, the offset of the data, the bytes after the
/// header that the first read took, and the file's length.
struct RawFrame {
    magic: [u8; 8],
    header: Bytes,
    data_off: u64,
    already: Bytes,
    len: u64,
}

fn read_raw(file: &File) -> io::Result<RawFrame> {
    let len = file.metadata()?.len();
    let mut buf = vec![0u8; len.min(FIRST_READ) as usize];
    let mut n = 0;
    while n < buf.len() {
        let got = file.read_at(&mut buf[n..], n as u64)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    buf.truncate(n);
    if (buf.len() as u64) < PREFIX_V1 || buf[..6] != *MAGIC_STEM {
        return Err(bad_frame("bad magic"));
    }
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&buf[..8]);
    let prefix = match magic[7] {
        b'1' => PREFIX_V1,
        b'2' => PREFIX_V2,
        _ => return Err(bad_frame("bad magic")),
    };
    if (buf.len() as u64) < prefix {
        return Err(bad_frame("shorter than its prefix"));
    }
    let hlen = u64::from(u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]));
    if hlen > MAX_HEADER {
        return Err(bad_frame(format!(
            "header length {hlen} over the limit of {MAX_HEADER}"
        )));
    }
    // Cannot overflow: both terms are small.
    let data_off = prefix + hlen;
    if data_off > len {
        return Err(bad_frame(format!(
            "header length {hlen} runs past the end of the file ({len} bytes)"
        )));
    }
    if (buf.len() as u64) < data_off {
        // Bounded by the file's real size and by MAX_HEADER.
        let start = buf.len();
        buf.resize(data_off as usize, 0);
        file.read_exact_at(&mut buf[start..], start as u64)?;
    }
    let buf = Bytes::from(buf);
    let header = buf.slice(prefix as usize..data_off as usize);
    if prefix == PREFIX_V2 {
        let want = u32::from_le_bytes([buf[12], buf[13], buf[14], buf[15]]);
        if crc32c::crc32c(&header) != want {
            return Err(bad_frame("the header fails its CRC32C"));
        }
    }
    Ok(RawFrame {
        magic,
        header,
        data_off,
        already: buf.slice(data_off as usize..),
        len,
    })
}

impl RawFrame {
    fn is(&self, magic: &[u8; 8]) -> bool {
        self.magic[..7] == magic[..7]
    }

    fn sums(&self) -> bool {
        self.magic[7] == b'2'
    }

    fn parse<T: DeserializeOwned>(&self) -> io::Result<T> {
        serde_json::from_slice(&self.header).map_err(|e| bad_frame(format!("header: {e}")))
    }

    /// The bytes after the header, checked against the file's length: exactly `size` bytes, then their
    /// checksums in the second version.
    fn data(&self, size: u64) -> io::Result<Data> {
        let sums = self.sums();
        let end = self.data_off.checked_add(size).and_then(|e| {
            if sums {
                e.checked_add(sums_len(size)?)
            } else {
                Some(e)
            }
        });
        if end != Some(self.len) {
            return Err(bad_frame(format!(
                "the header says {size} bytes, the file holds {} after its header",
                self.len - self.data_off
            )));
        }
        Ok(Data {
            off: self.data_off,
            len: size,
            sums,
            already: self.already.clone(),
        })
    }
}

/// Reads a framed file's header and finds its bytes (`size_of` says how many the header declares).
pub(super) fn read_frame<T: DeserializeOwned>(
    file: &File,
    magic: &[u8; 8],
    size_of: impl Fn(&T) -> u64,
) -> io::Result<(T, Data)> {
    let raw = read_raw(file)?;
    if !raw.is(magic) {
        return Err(bad_frame("bad magic"));
    }
    let head: T = raw.parse()?;
    let data = raw.data(size_of(&head))?;
    Ok((head, data))
}

/// Reads a version file's header: its metadata and where its bytes are.
pub(super) fn read_version(file: &File) -> io::Result<(ObjectMeta, Body)> {
    let raw = read_raw(file)?;
    if raw.is(MAGIC) {
        let meta: ObjectMeta = raw.parse()?;
        let data = raw.data(meta.size)?;
        return Ok((meta, Body::Inline(data)));
    }
    if !raw.is(MANIFEST_MAGIC) {
        return Err(bad_frame("bad magic"));
    }
    let m: Manifest = raw.parse()?;
    raw.data(0)?;
    let total = m
        .segments
        .iter()
        .try_fold(0u64, |t, s| t.checked_add(s.len));
    if total != Some(m.meta.size) {
        return Err(bad_frame(format!(
            "the manifest's parts do not add up to its size {}",
            m.meta.size
        )));
    }
    if m.segments.windows(2).any(|w| w[0].part >= w[1].part) {
        return Err(bad_frame(
            "the manifest lists its parts out of order or one twice",
        ));
    }
    if let Some(s) = m.segments.iter().find(|s| s.file_len().is_none()) {
        return Err(bad_frame(format!(
            "part {} of the manifest has an offset past any file",
            s.part
        )));
    }
    Ok((m.meta, Body::Parts(m.segments)))
}

/// Reads `range` of the `len` bytes at `off` in `file` into `out` (of the range's length), checking each
/// chunk it touches against the checksums after the bytes when `verify`.
fn read_region(
    file: &File,
    off: u64,
    len: u64,
    verify: bool,
    range: Range<u64>,
    out: &mut [u8],
) -> io::Result<()> {
    debug_assert_eq!(out.len() as u64, range.end - range.start);
    if !verify {
        return file.read_exact_at(out, off + range.start);
    }
    if range.is_empty() {
        return Ok(());
    }
    let (c0, c1) = (range.start / CHUNK, range.end.div_ceil(CHUNK));
    let mut sums = vec![0u8; ((c1 - c0) * 4) as usize];
    file.read_exact_at(&mut sums, off + len + c0 * 4)?;
    let mut scratch = Vec::new();
    let mut chunk = c0;
    while chunk < c1 {
        let start = chunk * CHUNK;
        let end = (start + CHUNK).min(len);
        if start >= range.start && end <= range.end {
            // A run of whole chunks goes straight into `out`, a read group at a time.
            let mut run_end = end;
            while run_end < range.end && run_end - start < READ_GROUP {
                let next = (run_end + CHUNK).min(len);
                if next > range.end {
                    break;
                }
                run_end = next;
            }
            let dst = &mut out[(start - range.start) as usize..(run_end - range.start) as usize];
            file.read_exact_at(dst, off + start)?;
            check_chunks(dst, chunk, &sums[((chunk - c0) * 4) as usize..])?;
            chunk = run_end.div_ceil(CHUNK);
        } else {
            // A chunk the range cuts: read it whole, check it, copy the part asked for.
            scratch.resize((end - start) as usize, 0);
            file.read_exact_at(&mut scratch, off + start)?;
            check_chunks(&scratch, chunk, &sums[((chunk - c0) * 4) as usize..])?;
            let (from, to) = (range.start.max(start), range.end.min(end));
            out[(from - range.start) as usize..(to - range.start) as usize]
                .copy_from_slice(&scratch[(from - start) as usize..(to - start) as usize]);
            chunk += 1;
        }
    }
    Ok(())
}

/// Checks the chunks of `range` within `data` (all the bytes, in memory) against `sums` (all checksums).
fn check_region(data: &[u8], range: Range<u64>, sums: &[u8]) -> io::Result<()> {
    if range.is_empty() {
        return Ok(());
    }
    let (c0, c1) = (range.start / CHUNK, range.end.div_ceil(CHUNK));
    let from = (c0 * CHUNK) as usize;
    let to = ((c1 * CHUNK) as usize).min(data.len());
    check_chunks(&data[from..to], c0, &sums[(c0 * 4) as usize..])
}

/// Checks consecutive chunks (`data` starts at chunk number `first`) against their checksums (`sums`
/// starts with chunk `first`'s).
fn check_chunks(data: &[u8], first: u64, sums: &[u8]) -> io::Result<()> {
    for (i, chunk) in data.chunks(CHUNK as usize).enumerate() {
        let at = i * 4;
        let want = u32::from_le_bytes([sums[at], sums[at + 1], sums[at + 2], sums[at + 3]]);
        if crc32c::crc32c(chunk) != want {
            let n = first + i as u64;
            return Err(bad_frame(format!(
                "chunk {n} (bytes {}..{}) fails its CRC32C",
                n * CHUNK,
                n * CHUNK + chunk.len() as u64
            )));
        }
    }
    Ok(())
}

/// Reads `range` of a multipart version from its part files, checking each part's chunks when `verify`.
/// `NotFound` means the folder is gone: the version was deleted or replaced since its manifest was read.
pub(super) fn read_segments(
    dir: &Path,
    segments: &[Segment],
    range: Range<u64>,
    verify: bool,
) -> io::Result<Bytes> {
    let mut buf = vec![0u8; (range.end - range.start) as usize];
    let (mut pos, mut out) = (0u64, 0usize);
    for s in segments {
        let (start, end) = (pos, pos + s.len);
        pos = end;
        if end <= range.start || s.len == 0 {
            continue;
        }
        if start >= range.end {
            break;
        }
        let from = range.start.max(start) - start;
        let to = range.end.min(end) - start;
        let n = (to - from) as usize;
        let f = File::open(dir.join(part_file(s.part)))?;
        if Some(f.metadata()?.len()) != s.file_len() {
            return Err(bad_frame(format!(
                "part file {} does not have the length its manifest says",
                s.part
            )));
        }
        read_region(
            &f,
            s.off,
            s.len,
            s.sums && verify,
            from..to,
            &mut buf[out..out + n],
        )?;
        out += n;
    }
    Ok(Bytes::from(buf))
}

/// The prefix and header of a frame of this version.
pub(super) fn frame_head(magic: &[u8; 8], header: &impl Serialize) -> io::Result<Vec<u8>> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let hlen = u32::try_from(header.len())
        .ok()
        .filter(|&n| u64::from(n) <= MAX_HEADER)
        .ok_or_else(|| io::Error::other("header too large"))?;
    let mut head = Vec::with_capacity(PREFIX_V2 as usize + header.len());
    head.extend_from_slice(magic);
    head.extend_from_slice(&hlen.to_le_bytes());
    head.extend_from_slice(&crc32c::crc32c(&header).to_le_bytes());
    head.extend_from_slice(&header);
    Ok(head)
}

/// The prefix and header of a first-version frame (no checksums): used only to rewrite the header of a
/// first-version file in place of its own, keeping its bytes as they are.
pub(super) fn frame_head_v1(magic: &[u8; 8], header: &impl Serialize) -> io::Result<Vec<u8>> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let hlen = u32::try_from(header.len()).map_err(|_| io::Error::other("header too large"))?;
    let mut head = Vec::with_capacity(PREFIX_V1 as usize + header.len());
    head.extend_from_slice(&magic[..7]);
    head.push(b'1');
    head.extend_from_slice(&hlen.to_le_bytes());
    head.extend_from_slice(&header);
    Ok(head)
}

/// The checksums of `data`, chunk by chunk.
fn chunk_sums(data: &[u8]) -> Vec<u8> {
    let mut sums = Vec::with_capacity(data.len().div_ceil(CHUNK as usize) * 4);
    for chunk in data.chunks(CHUNK as usize) {
        sums.extend_from_slice(&crc32c::crc32c(chunk).to_le_bytes());
    }
    sums
}

/// Writes a new file `path` holding a frame of `header` and `data` with the checksums of `data`.
pub(super) fn write_frame(
    path: &Path,
    magic: &[u8; 8],
    header: &impl Serialize,
    data: &[u8],
    sync: bool,
) -> io::Result<()> {
    let mut head = frame_head(magic, header)?;
    let sums = chunk_sums(data);
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    if data.len() <= 64 * 1024 {
        head.extend_from_slice(data);
        head.extend_from_slice(&sums);
        file.write_all(&head)?;
    } else {
        file.write_all(&head)?;
        file.write_all(data)?;
        file.write_all(&sums)?;
    }
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

pub(super) fn write_object(
    path: &Path,
    meta: &ObjectMeta,
    data: &[u8],
    sync: bool,
) -> io::Result<()> {
    write_frame(path, MAGIC, meta, data, sync)
}
