//! The frame codec of the fs backend's files: a magic, a little-endian `u32` header length, a JSON header,
//! then the bytes.
//!
//! A version file holds a header (the [`ObjectMeta`], key and version id included) then the object's bytes,
//! so metadata always travels with the object; a delete marker is a header-only file. The one exception
//! is a version made by a multipart upload: its file is a *manifest*, a header that also lists its
//! [`Segment`]s, whose bytes stay in the part files of its data folder. A part file of an upload is a frame
//! of its [`PartInfo`](crate::backend::PartInfo) and its bytes.
//!
//! Reading takes one positioned read of the file's first 16 KiB, so a small object's header and bytes come
//! from one system call. Depends on `meta` and on [`layout`](super::layout) for part file names.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::layout::part_file;
use crate::types::meta::ObjectMeta;

/// An inline version file: header and bytes.
pub(super) const MAGIC: &[u8; 8] = b"STRATOB1";
/// A part file of a multipart upload.
pub(super) const PART_MAGIC: &[u8; 8] = b"STRATOP1";
/// A version file whose bytes are in the part files of the multipart upload it completed.
pub(super) const MANIFEST_MAGIC: &[u8; 8] = b"STRATOM1";
const PREFIX_LEN: usize = 12; // magic + u32 header length
/// How much of a file the first read takes.
const FIRST_READ: usize = 16 * 1024;

/// One part of a multipart object: `len` bytes at `off` in the file `part-{part}` of its data folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Segment {
    pub(super) part: u32,
    pub(super) off: u64,
    pub(super) len: u64,
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
    /// In the version file, from this offset.
    Inline(u64),
    /// In the part files of its data folder, in this order.
    Parts(Vec<Segment>),
}

/// A framed file's start: its magic, its header's bytes, the offset of the data, the data bytes already read
/// and the file's length.
struct RawFrame {
    magic: [u8; 8],
    header: Vec<u8>,
    data_off: u64,
    already: Vec<u8>,
    len: u64,
}

pub(super) fn bad_frame(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("object file: {what}"))
}

fn read_raw(file: &File) -> io::Result<RawFrame> {
    let mut buf = vec![0u8; FIRST_READ];
    let mut n = 0;
    while n < buf.len() {
        let got = file.read_at(&mut buf[n..], n as u64)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    buf.truncate(n);
    if buf.len() < PREFIX_LEN {
        return Err(bad_frame("bad magic"));
    }
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&buf[..8]);
    let hlen = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
    let data_off = PREFIX_LEN + hlen;
    if buf.len() < data_off {
        let mut rest = vec![0u8; data_off - buf.len()];
        file.read_exact_at(&mut rest, buf.len() as u64)?;
        buf.extend_from_slice(&rest);
    }
    let already = buf.split_off(data_off);
    buf.drain(..PREFIX_LEN);
    Ok(RawFrame {
        magic,
        header: buf,
        data_off: data_off as u64,
        already,
        len: file.metadata()?.len(),
    })
}

/// Reads a framed file's header: the header, the offset of the bytes, and the bytes already read.
pub(super) fn read_frame<T: DeserializeOwned>(
    file: &File,
    magic: &[u8; 8],
    size_of: impl Fn(&T) -> u64,
) -> io::Result<(T, u64, Vec<u8>)> {
    let raw = read_raw(file)?;
    if raw.magic != *magic {
        return Err(bad_frame("bad magic"));
    }
    let head: T = serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
    if raw.len != raw.data_off + size_of(&head) {
        return Err(bad_frame("length does not match header"));
    }
    Ok((head, raw.data_off, raw.already))
}

/// Reads a version file's header: its metadata, where its bytes are, and the bytes already read (of an
/// inline version).
pub(super) fn read_version(file: &File) -> io::Result<(ObjectMeta, Body, Vec<u8>)> {
    let raw = read_raw(file)?;
    if raw.magic == *MAGIC {
        let meta: ObjectMeta =
            serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
        if raw.len != raw.data_off + meta.size {
            return Err(bad_frame("length does not match header"));
        }
        return Ok((meta, Body::Inline(raw.data_off), raw.already));
    }
    if raw.magic != *MANIFEST_MAGIC {
        return Err(bad_frame("bad magic"));
    }
    let m: Manifest = serde_json::from_slice(&raw.header).map_err(|e| bad_frame(&e.to_string()))?;
    let total = m
        .segments
        .iter()
        .try_fold(0u64, |t, s| t.checked_add(s.len));
    if raw.len != raw.data_off || total != Some(m.meta.size) {
        return Err(bad_frame("manifest does not match its header"));
    }
    Ok((m.meta, Body::Parts(m.segments), Vec::new()))
}

/// Reads `range` of a multipart version from its part files. `NotFound` means the folder is gone: the version
/// was deleted or replaced since its manifest was read.
pub(super) fn read_segments(
    dir: &Path,
    segments: &[Segment],
    range: Range<u64>,
) -> io::Result<Vec<u8>> {
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
        f.read_exact_at(&mut buf[out..out + n], s.off + from)?;
        out += n;
    }
    Ok(buf)
}

pub(super) fn frame_head(magic: &[u8; 8], header: &impl Serialize) -> io::Result<Vec<u8>> {
    let header = serde_json::to_vec(header).map_err(io::Error::other)?;
    let hlen = u32::try_from(header.len()).map_err(|_| io::Error::other("header too large"))?;
    let mut head = Vec::with_capacity(PREFIX_LEN + header.len());
    head.extend_from_slice(magic);
    head.extend_from_slice(&hlen.to_le_bytes());
    head.extend_from_slice(&header);
    Ok(head)
}

pub(super) fn write_frame(
    path: &Path,
    magic: &[u8; 8],
    header: &impl Serialize,
    data: &[u8],
    sync: bool,
) -> io::Result<()> {
    let mut head = frame_head(magic, header)?;
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    if data.len() <= 64 * 1024 {
        head.extend_from_slice(data);
        file.write_all(&head)?;
    } else {
        file.write_all(&head)?;
        file.write_all(data)?;
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
