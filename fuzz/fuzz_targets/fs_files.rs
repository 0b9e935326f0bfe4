//! The fs backend's files damaged by arbitrary bytes: object frames (header and bytes), multipart part
//! files and manifests, the index snapshot and `bucket.json`. `FsBackend::open` never panics, never
//! allocates from a length it has not checked against the file, and always opens (a damaged bucket is
//! quarantined, not fatal); a get either fails with a typed error or serves the object's length.
//!
//! Input: byte 0 picks the file, byte 1 the mode. In *patch* mode (bit 0 clear) bytes 2..6 are an offset
//! and up to 4 more bytes are XORed in there: CRC32C detects every burst of 32 bits or fewer, so each get
//! must then return exactly the bytes that were written, or an error. In *replace* mode the rest of the
//! input becomes the whole file. Bit 1 drops the snapshot, so the open scans every file.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use objstore::{
    ByteRange, CompletedPart, Conditions, FsBackend, FsOptions, GetOptions, MultipartOptions, Store,
};

const BUCKET: &str = "fuzz";
/// Name of the index snapshot a clean shutdown writes beside each bucket's folders.
const SNAPSHOT: &str = "index.snap";

struct Fixture {
    rt: tokio::runtime::Runtime,
    template: PathBuf,
    run: PathBuf,
    /// Files of the template root (relative paths), sorted, each with the index of the object whose write
    /// made it (none: a file of the bucket, such as the snapshot, that every object depends on).
    files: Vec<(PathBuf, Option<usize>)>,
    stamps: Vec<(u64, std::time::SystemTime)>,
    /// Every object written, with its bytes.
    objects: Vec<(&'static str, Vec<u8>)>,
}

fn options() -> FsOptions {
    FsOptions::default().with_sync(false)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_type().unwrap().is_dir() {
            walk(root, &path, out);
        } else if e.file_name() != ".lock" {
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

/// Rebuilds the template's tree at `to` with its files hard-linked (cheap for the 5 MiB part); the file
/// about to be damaged is then copied, so the damage never reaches the template. The backend replaces
/// files by rename and never writes into one in place, which [`unchanged`] checks after every run.
fn link_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            link_tree(&e.path(), &target);
        } else {
            fs::hard_link(e.path(), target).unwrap();
        }
    }
}

/// Length and modification time of each template file.
fn stamps(root: &Path, files: &[(PathBuf, Option<usize>)]) -> Vec<(u64, std::time::SystemTime)> {
    files
        .iter()
        .map(|(f, _)| {
            let m = fs::metadata(root.join(f)).unwrap();
            (m.len(), m.modified().unwrap())
        })
        .collect()
}

fn unchanged(fx: &Fixture) {
    assert!(stamps(&fx.template, &fx.files) == fx.stamps, "a template file was written in place");
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = Path::new("/dev/shm")
            .exists()
            .then(|| PathBuf::from("/dev/shm"))
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("stratus-fuzz-fs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let template = base.join("template");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let objects = vec![
            ("small", pattern(1000, 1)),
            ("mid", pattern(200 * 1024 + 7, 2)),
            ("big", [pattern(5 * 1024 * 1024, 3), pattern(70 * 1024, 4)].concat()),
        ];
        let mut owners: Vec<(PathBuf, Option<usize>)> = Vec::new();
        rt.block_on(async {
            let backend = FsBackend::open(&template, options()).unwrap();
            let store = Store::builder().with_backend(backend).build().unwrap();
            let b = store.create_bucket(BUCKET).await.unwrap();
            let mut known = Vec::new();
            walk(&template, &template, &mut known);
            let mut mark = |owner: usize| {
                let mut now = Vec::new();
                walk(&template, &template, &mut now);
                for f in now {
                    if !known.contains(&f) {
                        known.push(f.clone());
                        owners.push((f, Some(owner)));
                    }
                }
            };
            b.put("small", objects[0].1.clone()).await.unwrap();
            mark(0);
            b.put("mid", objects[1].1.clone()).await.unwrap();
            mark(1);
            let up = b
                .create_multipart_upload("big", MultipartOptions::default())
                .await
                .unwrap();
            let (one, two) = objects[2].1.split_at(5 * 1024 * 1024);
            let mut parts = Vec::new();
            for (n, data) in [(1u32, one), (2, two)] {
                let info = b
                    .upload_part("big", &up.upload_id, n, data.to_vec(), None)
                    .await
                    .unwrap();
                parts.push(CompletedPart {
                    part_number: n,
                    etag: info.etag,
                });
            }
            b.complete_multipart_upload("big", &up.upload_id, &parts, &Conditions::default())
                .await
                .unwrap();
            mark(2);
        });
        let mut all = Vec::new();
        walk(&template, &template, &mut all);
        assert!(all.iter().any(|f| f.ends_with(SNAPSHOT)), "{all:?}");
        // Files that moved since their write (upload staging renamed into place) and the bucket's own files
        // count for every object.
        let files = all
            .into_iter()
            .map(|f| {
                let owner = owners.iter().find(|(o, _)| *o == f).and_then(|(_, i)| *i);
                (f, owner)
            })
            .collect::<Vec<_>>();
        let stamps = stamps(&template, &files);
        Fixture {
            rt,
            run: base.join("run"),
            template,
            files,
            stamps,
            objects,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let fx = fixture();
    let (file, owner) = &fx.files[data[0] as usize % fx.files.len()];
    let patch = data[1] & 1 == 0;
    let _ = fs::remove_dir_all(&fx.run);
    link_tree(&fx.template, &fx.run);
    let path = fx.run.join(file);
    fs::remove_file(&path).unwrap();
    fs::copy(fx.template.join(file), &path).unwrap();
    if patch {
        if data.len() < 7 {
            return;
        }
        let mut bytes = fs::read(&path).unwrap();
        if bytes.is_empty() {
            return;
        }
        let at = u32::from_le_bytes(data[2..6].try_into().unwrap()) as usize % bytes.len();
        for (i, x) in data[6..].iter().take(4).enumerate() {
            if let Some(b) = bytes.get_mut(at + i) {
                *b ^= x;
            }
        }
        fs::write(&path, bytes).unwrap();
    } else {
        fs::write(&path, &data[2..]).unwrap();
    }
    if data[1] & 2 != 0 {
        let _ = fs::remove_file(fx.run.join(BUCKET).join(SNAPSHOT));
    }
    fx.rt.block_on(async {
        let backend = match FsBackend::open(&fx.run, options()) {
            Ok(b) => b,
            Err(e) => panic!("open refused a root with one damaged file ({file:?}): {e}"),
        };
        let store = Store::builder().with_backend(backend).build().unwrap();
        let Ok(b) = store.bucket(BUCKET) else {
            return;
        };
        for (i, (key, want)) in fx.objects.iter().enumerate() {
            if owner.is_some_and(|o| o != i) {
                // Not this object's file: a head is enough to show the store still answers.
                let _ = b.head(key).await;
                continue;
            }
            if let Ok(got) = b.get(key).await {
                assert_eq!(got.body.len() as u64, got.meta.size, "{key}: body and size differ");
                if patch {
                    assert!(got.body[..] == want[..], "{key}: damaged bytes served ({file:?})");
                }
            }
            let (first, last) = (want.len() as u64 / 3, want.len() as u64 * 2 / 3);
            let ranged = GetOptions {
                range: Some(ByteRange::Inclusive { first, last }),
                ..Default::default()
            };
            if let Ok(got) = b.get_opts(key, ranged).await {
                if patch {
                    let want = &want[first as usize..=last as usize];
                    assert!(got.body[..] == want[..], "{key}: damaged range served ({file:?})");
                }
            }
        }
        let _ = b.list_all("").await;
    });
    unchanged(fx);
});
