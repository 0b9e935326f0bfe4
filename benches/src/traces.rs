//! Readers for the cache traces in `../shared/traces/` (see its README), told apart by file-name prefix.
//!
//! | prefix | compression | format |
//! |---|---|---|
//! | `arc-` | zstd | text lines `start_block block_count ignored request_no`, expanded into a run of blocks |
//! | `lirs-` | gzip | text, one integer key per line |
//! | `cdn-` | xz | text lines `timestamp key size_bytes` |
//! | `cache2k-` | xz | binary big-endian `u32` keys back to back |
//! | `cloudphysics-` | xz | text, one integer key per line |
//!
//! The compression is chosen by the file's extension (`.zst`, `.gz`, `.xz`, or none). Lines that do not parse
//! (blank lines, comments, a stray `*`) are skipped and counted, never a panic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// The trace formats, by file-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ARC traces: runs of blocks.
    Arc,
    /// LIRS traces: one key per line.
    Lirs,
    /// The AdaptSize CDN trace: `timestamp key size`.
    Cdn,
    /// cache2k traces: big-endian `u32` keys.
    Cache2k,
    /// CloudPhysics: one key per line.
    CloudPhysics,
}

impl Format {
    /// The format named by a file name's prefix, if any.
    pub fn from_file_name(name: &str) -> Option<Format> {
        [
            ("arc-", Format::Arc),
            ("lirs-", Format::Lirs),
            ("cdn-", Format::Cdn),
            ("cache2k-", Format::Cache2k),
            ("cloudphysics-", Format::CloudPhysics),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, format)| format)
    }
}

/// A decoded trace: the requested keys in order, renumbered densely from 0 in order of first appearance.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The file's name.
    pub name: String,
    /// The format it was read as.
    pub format: Format,
    /// Dense key ids, one per request.
    pub keys: Vec<u32>,
    /// The object size of each request in bytes, for traces that carry sizes (the CDN trace).
    pub sizes: Option<Vec<u32>>,
    /// The number of distinct keys.
    pub distinct: usize,
    /// Lines that did not parse and were skipped.
    pub skipped: usize,
}

/// The trace files in `dir` whose names carry a known prefix, sorted by name.
pub fn trace_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(Format::from_file_name)
                .is_some()
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads and decodes a trace file.
///
/// # Errors
/// When the file cannot be read or decompressed, or its name has no known prefix.
pub fn read_trace(path: &Path) -> io::Result<Trace> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let format = Format::from_file_name(&name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name}: unknown trace prefix"),
        )
    })?;
    let bytes = decompress(path)?;
    Ok(parse(name, format, &bytes))
}

/// The file's bytes, decompressed according to its extension.
fn decompress(path: &Path) -> io::Result<Vec<u8>> {
    let file = BufReader::new(File::open(path)?);
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".zst") {
        zstd::stream::read::Decoder::with_buffer(file)?.read_to_end(&mut out)?;
    } else if name.ends_with(".gz") {
        flate2::bufread::MultiGzDecoder::new(file).read_to_end(&mut out)?;
    } else if name.ends_with(".xz") {
        xz2::bufread::XzDecoder::new_multi_decoder(file).read_to_end(&mut out)?;
    } else {
        let mut file = file;
        file.read_to_end(&mut out)?;
    }
    Ok(out)
}

/// Parses decompressed trace bytes (exposed for tests).
pub fn parse(name: String, format: Format, bytes: &[u8]) -> Trace {
    let mut ids = Renumber::default();
    let mut keys = Vec::new();
    let mut sizes = Vec::new();
    let mut skipped = 0;
    match format {
        Format::Cache2k => {
            let chunks = bytes.chunks_exact(4);
            skipped += usize::from(!chunks.remainder().is_empty());
            for chunk in chunks {
                let key = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                keys.push(ids.id(u64::from(key)));
            }
        }
        Format::Lirs | Format::CloudPhysics => {
            for line in lines(bytes) {
                match fields(line).next().and_then(parse_u64) {
                    Some(key) => keys.push(ids.id(key)),
                    None => skipped += usize::from(!line.trim_ascii().is_empty()),
                }
            }
        }
        Format::Cdn => {
            for line in lines(bytes) {
                let mut f = fields(line);
                let (_time, key, size) = (
                    f.next(),
                    f.next().and_then(parse_u64),
                    f.next().and_then(parse_u64),
                );
                match (key, size) {
                    (Some(key), Some(size)) => {
                        keys.push(ids.id(key));
                        sizes.push(size.min(u64::from(u32::MAX)) as u32);
                    }
                    _ => skipped += usize::from(!line.trim_ascii().is_empty()),
                }
            }
        }
        Format::Arc => {
            for line in lines(bytes) {
                let mut f = fields(line);
                match (f.next().and_then(parse_u64), f.next().and_then(parse_u64)) {
                    // A run longer than a million blocks is malformed; skip rather than exhaust memory.
                    (Some(start), Some(count)) if count <= 1 << 20 => {
                        for block in start..start.saturating_add(count) {
                            keys.push(ids.id(block));
                        }
                    }
                    _ => skipped += usize::from(!line.trim_ascii().is_empty()),
                }
            }
        }
    }
    Trace {
        name,
        format,
        keys,
        sizes: (format == Format::Cdn).then_some(sizes),
        distinct: ids.map.len(),
        skipped,
    }
}

#[derive(Default)]
struct Renumber {
    map: HashMap<u64, u32>,
}

impl Renumber {
    fn id(&mut self, key: u64) -> u32 {
        let next = self.map.len() as u32;
        *self.map.entry(key).or_insert(next)
    }
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&b| b == b'\n')
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace() || *b == b',')
        .filter(|f| !f.is_empty())
}

fn parse_u64(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_prefix() {
        assert_eq!(Format::from_file_name("arc-P3.lis.zst"), Some(Format::Arc));
        assert_eq!(
            Format::from_file_name("lirs-loop.trace.gz"),
            Some(Format::Lirs)
        );
        assert_eq!(
            Format::from_file_name("cdn-adaptsize.trace.xz"),
            Some(Format::Cdn)
        );
        assert_eq!(
            Format::from_file_name("cache2k-web07.trace.xz"),
            Some(Format::Cache2k)
        );
        assert_eq!(
            Format::from_file_name("cloudphysics-io.txt.xz"),
            Some(Format::CloudPhysics)
        );
        assert_eq!(Format::from_file_name("README.md"), None);
    }

    #[test]
    fn arc_lines_expand_into_block_runs() {
        let t = parse(
            "arc-x".into(),
            Format::Arc,
            b"10 3 0 0\n11 1 0 1\n\nbad line\n",
        );
        assert_eq!(t.keys, vec![0, 1, 2, 1]);
        assert_eq!(t.distinct, 3);
        assert_eq!(t.skipped, 1);
    }

    #[test]
    fn text_binary_and_sized_traces() {
        let t = parse("lirs-x".into(), Format::Lirs, b"5\n7\n5\n*\n");
        assert_eq!(t.keys, vec![0, 1, 0]);
        assert_eq!(t.skipped, 1);
        let t = parse(
            "cache2k-x".into(),
            Format::Cache2k,
            &[0, 0, 1, 0, 0, 0, 0, 9, 0, 0, 1, 0, 7],
        );
        assert_eq!(t.keys, vec![0, 1, 0]);
        assert_eq!(t.skipped, 1, "a trailing partial key");
        let t = parse(
            "cdn-x".into(),
            Format::Cdn,
            b"1 42 100\n2 43 7\n3 42 100\n4 44\n",
        );
        assert_eq!(t.keys, vec![0, 1, 0]);
        assert_eq!(t.sizes, Some(vec![100, 7, 100]));
        assert_eq!(t.skipped, 1);
    }
}
