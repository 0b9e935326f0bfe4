//! The fs root lock: one opener at a time (issue 16, "a second opener loses acknowledged data").
//!
//! Before the lock, a second process opening a root deleted the first one's work in progress (temp files,
//! upload staging, data folders of a complete in flight) and both served from stale indexes. Now a second
//! opener, in this process or another, gets `RootLocked` naming the root and touches nothing; a writer
//! killed with SIGKILL releases the lock (the OS drops it with the process), and the opener that then gets
//! in finds every acknowledged write.
//!
//! The children are this test binary itself, running the ignored `*_child` entry points.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use objstore::{CompletedPart, ETag, FsBackend, FsOptions, Store};
use rand::Rng;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn body(key: &str) -> Vec<u8> {
    let mut out = format!("{key}|").into_bytes();
    out.extend((0..(key.len() * 37) % 4096).map(|i| (i * 31) as u8));
    out
}

fn child(exe: &Path, name: &str, root: &Path) -> Command {
    let mut c = Command::new(exe);
    c.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("OBJSTORE_LOCK_ROOT", root)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    c
}

/// Everything under `root` but the lock file, with sizes: what "touched nothing" compares.
fn tree(root: &Path) -> Vec<(PathBuf, u64)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.map(Result::unwrap) {
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(&path, out);
            } else {
                out.push((path, e.metadata().unwrap().len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out.sort();
    out
}

/// In one process: the second open is refused with the root named, and leaves the first one's upload in
/// progress, its objects and its files exactly as they were; once the first is dropped, the root opens.
#[test]
fn a_second_opener_in_this_process_is_refused_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    rt().block_on(async {
        let store = Store::fs(&root).unwrap();
        let b = store.create_bucket("held").await.unwrap();
        b.put("a", "alpha").await.unwrap();
        let up = b
            .create_multipart_upload("big", Default::default())
            .await
            .unwrap();
        let part = b
            .upload_part(
                "big",
                &up.upload_id,
                1,
                vec![7u8; objstore::limits::MIN_PART_SIZE as usize],
                None,
            )
            .await
            .unwrap();
        let before = tree(&root);
        for _ in 0..3 {
            let err = FsBackend::open(&root, FsOptions::default()).unwrap_err();
            assert_eq!(err.code(), "ServiceUnavailable");
            assert_eq!(err.status(), 503);
            assert!(
                matches!(&err, objstore::Error::RootLocked { root: r } if r == &root),
                "{err:?}"
            );
            assert!(
                err.to_string().contains(&root.display().to_string()),
                "{err}"
            );
            assert!(Store::fs(&root).is_err());
        }
        assert_eq!(
            tree(&root),
            before,
            "the refused opener changed nothing under the root"
        );
        // The first store goes on as if nothing happened.
        let p2 = b
            .upload_part("big", &up.upload_id, 2, b"end".to_vec(), None)
            .await
            .unwrap();
        let parts = [
            CompletedPart {
                part_number: 1,
                etag: part.etag,
            },
            CompletedPart {
                part_number: 2,
                etag: p2.etag,
            },
        ];
        b.complete_multipart_upload("big", &up.upload_id, &parts, &Default::default())
            .await
            .unwrap();
        assert_eq!(&b.get("a").await.unwrap().body[..], b"alpha");
        drop((b, store));
        let again = Store::fs(&root).unwrap();
        let b = again.bucket("held").unwrap();
        assert_eq!(
            b.get("big").await.unwrap().body.len(),
            objstore::limits::MIN_PART_SIZE as usize + 3
        );
        assert_eq!(&b.get("a").await.unwrap().body[..], b"alpha");
    });
}

/// The opener of `a_second_process_retrying_changes_nothing`: tries to open the root 1,000 times, and
/// prints how many were refused as `RootLocked`.
#[test]
#[ignore = "child process of a_second_process_retrying_changes_nothing"]
fn opener_child() {
    let Ok(root) = std::env::var("OBJSTORE_LOCK_ROOT") else {
        return;
    };
    let tries: usize = std::env::var("OBJSTORE_LOCK_TRIES").map_or(1000, |t| t.parse().unwrap());
    let mut locked = 0;
    let mut opened = false;
    println!("READY");
    for _ in 0..tries {
        match FsBackend::open(&root, FsOptions::default()) {
            Err(objstore::Error::RootLocked { .. }) => locked += 1,
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => {
                opened = true;
                break;
            }
        }
        // Spread 1,000 tries over about a second of the writer's work; the long-running opener spins.
        if tries <= 1000 {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            std::thread::yield_now();
        }
    }
    println!("LOCKED {locked} OPENED {opened}");
}

/// Another process retries the open 1,000 times while this one writes (puts, overwrites, deletes and
/// multipart completes): every try is refused, and every acknowledged write reads back, now and after a
/// reopen.
#[test]
fn a_second_process_retrying_changes_nothing() {
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    rt().block_on(async {
        let backend = FsBackend::open(&root, FsOptions::default().with_sync(false)).unwrap();
        let store = Store::builder().with_backend(backend).build().unwrap();
        let b = store.create_bucket("busy").await.unwrap();
        let mut opener = child(&exe, "opener_child", &root).spawn().unwrap();
        let stdout = opener.stdout.take().unwrap();
        let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>());
        let mut acked = std::collections::BTreeMap::new();
        let mut i = 0u64;
        // Write until the opener is done (at least a few rounds of each kind).
        while i < 20 || opener.try_wait().unwrap().is_none() {
            let key = format!("k{}", i % 50);
            match i % 10 {
                9 => {
                    b.delete(&key).await.unwrap();
                    acked.insert(key, None);
                }
                5 => {
                    let up = b.create_multipart_upload(&key, Default::default()).await.unwrap();
                    let p1 = b.upload_part(&key, &up.upload_id, 1, body(&key), None).await.unwrap();
                    let parts = [CompletedPart { part_number: 1, etag: p1.etag }];
                    b.complete_multipart_upload(&key, &up.upload_id, &parts, &Default::default()).await.unwrap();
                    acked.insert(key.clone(), Some(body(&key)));
                }
                _ => {
                    let data = [body(&key), i.to_le_bytes().to_vec()].concat();
                    b.put(&key, data.clone()).await.unwrap();
                    acked.insert(key, Some(data));
                }
            }
            i += 1;
            if i > 1_000_000 {
                panic!("the opener never finished");
            }
        }
        let status = opener.wait().unwrap();
        let lines = reader.join().unwrap();
        assert!(status.success(), "opener: {lines:?}");
        assert!(lines.iter().any(|l| l.ends_with("LOCKED 1000 OPENED false")), "{lines:?}");
        let check = |b: objstore::Bucket, acked: std::collections::BTreeMap<String, Option<Vec<u8>>>| async move {
            for (key, want) in &acked {
                match (want, b.get(key).await) {
                    (Some(data), Ok(obj)) => {
                        assert_eq!(&obj.body[..], &data[..], "{key}");
                        assert_eq!(b.head(key).await.unwrap().etag, obj.meta.etag, "{key}: head and get agree");
                    }
                    (None, Err(e)) => assert_eq!(e.code(), "NoSuchKey", "{key}"),
                    (want, got) => panic!("{key}: acknowledged {:?}, read {:?}", want.as_ref().map(Vec::len), got.map(|o| o.body.len())),
                }
            }
        };
        check(b.clone(), acked.clone()).await;
        println!("{i} writes acknowledged while another process tried to open the root 1,000 times");
        drop((b, store));
        let reopened = Store::fs(&root).unwrap();
        check(reopened.bucket("busy").unwrap(), acked).await;
    });
}

/// The writer of `sigkill_writer_while_another_process_opens`: a new key per write, each acknowledged
/// with a line once durable.
#[test]
#[ignore = "child process of sigkill_writer_while_another_process_opens"]
fn writer_child() {
    let Ok(root) = std::env::var("OBJSTORE_LOCK_ROOT") else {
        return;
    };
    let start: u64 = std::env::var("OBJSTORE_LOCK_START")
        .unwrap()
        .parse()
        .unwrap();
    rt().block_on(async move {
        let store = Store::fs(&root).unwrap();
        let b = match store.create_bucket("writes").await {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        println!("READY");
        for v in start.. {
            let key = format!("k{v}");
            if v % 5 == 4 {
                let up = b
                    .create_multipart_upload(&key, Default::default())
                    .await
                    .unwrap();
                let p = b
                    .upload_part(&key, &up.upload_id, 1, body(&key), None)
                    .await
                    .unwrap();
                let parts = [CompletedPart {
                    part_number: 1,
                    etag: p.etag,
                }];
                b.complete_multipart_upload(&key, &up.upload_id, &parts, &Default::default())
                    .await
                    .unwrap();
            } else {
                b.put(&key, body(&key)).await.unwrap();
            }
            println!("ACK {key}");
        }
    });
}

/// 30 rounds: a writer starts, a second process starts trying to open the same root, the writer is killed
/// with SIGKILL at a random moment; the second process gets in only after the kill (never while the
/// writer lives), and every write the writer acknowledged is there, byte-identical, for it and for the
/// next round.
#[test]
fn sigkill_writer_while_another_process_opens() {
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut rng = rand::rng();
    let mut acked: Vec<String> = Vec::new();
    let mut refused_total = 0usize;
    const ROUNDS: u64 = 30;
    for round in 0..ROUNDS {
        let mut writer = child(&exe, "writer_child", &root)
            .env("OBJSTORE_LOCK_START", (round * 1_000_000).to_string())
            .spawn()
            .unwrap();
        let out = writer.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            let ready = line.ends_with("READY");
            lines.push(line);
            if ready {
                break;
            }
        }
        // The second opener starts while the writer holds the root, and keeps trying until it gets in.
        let mut opener = child(&exe, "opener_child", &root)
            .env("OBJSTORE_LOCK_TRIES", "100000000")
            .spawn()
            .unwrap();
        let o_out = opener.stdout.take().unwrap();
        let o_reader = std::thread::spawn(move || {
            BufReader::new(o_out)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        // Time only chooses when the kill lands; nothing asserts on it.
        std::thread::sleep(Duration::from_millis(rng.random_range(20..120)));
        writer.kill().unwrap();
        writer.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        assert!(
            opener.wait().unwrap().success(),
            "round {round}: the opener failed"
        );
        let o_lines = o_reader.join().unwrap();
        let result = o_lines
            .iter()
            .find(|l| l.contains("LOCKED"))
            .unwrap_or_else(|| panic!("round {round}: {o_lines:?}"));
        assert!(
            result.ends_with("OPENED true"),
            "round {round}: the opener got in after the kill: {result}"
        );
        let refused: usize = result.split(' ').nth(1).unwrap().parse().unwrap();
        refused_total += refused;
        acked.extend(
            lines
                .iter()
                .filter_map(|l| l.strip_prefix("ACK ").map(str::to_string)),
        );
        rt().block_on(async {
            let backend = FsBackend::open(&root, FsOptions::default()).unwrap();
            let store = Store::builder().with_backend(backend).build().unwrap();
            let b = store.bucket("writes").unwrap();
            for key in &acked {
                let got = b
                    .get(key)
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: acknowledged {key} lost: {e}"));
                assert_eq!(&got.body[..], &body(key)[..], "round {round}: {key}");
                let multipart = got.meta.etag.as_str().contains('-');
                assert_eq!(
                    multipart,
                    key[1..].parse::<u64>().unwrap() % 5 == 4,
                    "round {round}: {key}"
                );
                if !multipart {
                    assert_eq!(got.meta.etag, ETag::of(&got.body));
                }
            }
        });
    }
    println!(
        "{ROUNDS} SIGKILL rounds with a second opener waiting: {} acknowledged writes kept, {refused_total} opens refused while the writer lived",
        acked.len()
    );
    assert!(
        acked.len() > ROUNDS as usize,
        "the writer wrote in most rounds"
    );
    assert!(
        refused_total >= ROUNDS as usize,
        "the opener was refused while the writer held the root"
    );
}
