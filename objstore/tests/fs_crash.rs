//! Crash safety of the fs backend: a child process writes and deletes objects and is killed with SIGKILL at
//! random moments; after every kill the store reopens cleanly, every acknowledged write reads back
//! byte-identical with its ETag, and no temp file or partial object is visible. The child shuts down
//! cleanly and reopens every 64 operations, and each round's check ends with a clean shutdown, so every
//! round opens from an index snapshot and kills land while one is written, taken, or trusted.
//!
//! The child is this test binary itself, running the ignored `crash_child` entry point.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use objstore::{ETag, Store};
use rand::Rng;

const KEYS: u64 = 40;
const ROUNDS: u64 = 32;

/// The content of version `v` of `key`: a self-describing header, then pseudo-random bytes.
fn content(key: &str, v: u64) -> Vec<u8> {
    let len = (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 47) as usize; // 0..128 KiB
    let mut out = format!("{key}|{v}|").into_bytes();
    let mut x = v ^ 0xDEAD_BEEF;
    out.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }));
    out
}

fn version_of(data: &[u8]) -> Option<(String, u64)> {
    let s = std::str::from_utf8(&data[..data.len().min(64)])
        .ok()
        .or_else(|| {
            let cut = data.iter().take(64).position(|&b| b > 127).unwrap_or(64);
            std::str::from_utf8(&data[..cut]).ok()
        })?;
    let mut parts = s.splitn(3, '|');
    let key = parts.next()?.to_string();
    let v = parts.next()?.parse().ok()?;
    Some((key, v))
}

/// The writer run in the child process. Not a test on its own: `sigkill_loses_no_acknowledged_write`
/// starts it and kills it.
#[test]
#[ignore = "child process of sigkill_loses_no_acknowledged_write"]
fn crash_child() {
    let Ok(root) = std::env::var("OBJSTORE_CRASH_ROOT") else {
        return;
    };
    let start: u64 = std::env::var("OBJSTORE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut store = Store::fs(&root).unwrap();
        let mut bucket = match store.create_bucket("crash").await {
            Ok(b) => b,
            Err(e) if e.code() == "BucketAlreadyOwnedByYou" => store.bucket("crash").unwrap(),
            Err(e) => panic!("{e}"),
        };
        println!("READY");
        for v in start.. {
            if v % 64 == 63 {
                // A clean shutdown (the index snapshot is written) and a reopen (it is taken): the kill
                // lands in either, or in the writes after, as often as anywhere else.
                drop((bucket, store));
                store = Store::fs(&root).unwrap();
                bucket = store.bucket("crash").unwrap();
            }
            let key = format!("k{}", v % KEYS);
            if v % 7 == 0 {
                bucket.delete(&key).await.unwrap();
                println!("DEL {key} {v}");
            } else {
                let meta = bucket.put(&key, content(&key, v)).await.unwrap();
                println!("ACK {key} {v} {}", meta.etag.unquoted());
            }
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Acked {
    Put(u64),
    Deleted(u64),
}

/// Runs one child and kills it; returns the operation that may have been in flight at the kill (the one
/// after the last acknowledged), whose effect may or may not have landed.
fn run_round(
    exe: &Path,
    root: &Path,
    start: u64,
    kill_after: Duration,
    acked: &mut BTreeMap<String, Acked>,
) -> u64 {
    let mut child = Command::new(exe)
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OBJSTORE_CRASH_ROOT", root)
        .env("OBJSTORE_CRASH_START", start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the crash child");
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print `test crash_child ... ` before the child's first line.
            if line.ends_with("READY") {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    // Kill at a random moment of the writing, counted from when the child is ready, so a slow start on a
    // loaded machine does not eat the round (time only chooses when; nothing asserts on it).
    let _ = ready_rx.recv_timeout(Duration::from_secs(60));
    std::thread::sleep(kill_after);
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    let mut in_flight = start;
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["ACK", key, v, etag] => {
                let v: u64 = v.parse().unwrap();
                assert_eq!(
                    *etag,
                    ETag::of(&content(key, v)).unquoted(),
                    "the ack carries the content's MD5"
                );
                acked.insert(key.to_string(), Acked::Put(v));
                in_flight = v + 1;
            }
            ["DEL", key, v] => {
                let v: u64 = v.parse().unwrap();
                acked.insert(key.to_string(), Acked::Deleted(v));
                in_flight = v + 1;
            }
            _ => {}
        }
    }
    in_flight
}

/// Temp files left anywhere under the root: `.tmp-*` beside objects, anything in `tmp/`.
fn temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                temp_files(&e.path())
                    + if name == "tmp" {
                        std::fs::read_dir(e.path()).unwrap().count()
                    } else {
                        0
                    }
            } else {
                usize::from(name.starts_with(".tmp-"))
            }
        })
        .sum()
}

/// The SIGKILL tests run one at a time, so their children do not compete for the CPU.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn sigkill_loses_no_acknowledged_write() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut acked: BTreeMap<String, Acked> = BTreeMap::new();
    let mut rng = rand::rng();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut total_acks = 0usize;
    for round in 0..ROUNDS {
        let before = acked.clone();
        let kill_after = Duration::from_millis(rng.random_range(30..250));
        let in_flight = run_round(&exe, &root, round * 1_000_000, kill_after, &mut acked);
        let (flight_key, flight_is_delete) = (
            format!("k{}", in_flight % KEYS),
            in_flight.is_multiple_of(7),
        );
        total_acks += acked
            .iter()
            .filter(|(k, a)| before.get(*k) != Some(a))
            .count();

        rt.block_on(async {
            let backend = objstore::FsBackend::open(&root, objstore::FsOptions::default())
                .unwrap_or_else(|e| panic!("round {round}: the store must reopen cleanly: {e}"));
            assert_eq!(
                backend.recovery_report().quarantined,
                0,
                "round {round}: no torn object file"
            );
            let store = Store::builder().with_backend(backend).build().unwrap();
            let Ok(bucket) = store.bucket("crash") else {
                unreachable!()
            };
            if store.head_bucket("crash").await.is_err() {
                assert!(
                    acked.is_empty(),
                    "round {round}: the bucket exists once anything was acknowledged"
                );
                return;
            }
            let listed = bucket.list_all("").await.unwrap();
            for meta in &listed {
                assert!(
                    meta.key.starts_with('k') && !meta.key.contains("tmp"),
                    "round {round}: unexpected key {:?}",
                    meta.key
                );
            }
            for k in 0..KEYS {
                let key = format!("k{k}");
                let got = bucket.get(&key).await;
                let may_differ = key == flight_key;
                match (acked.get(&key), got) {
                    (None | Some(Acked::Deleted(_)), Err(e)) => assert_eq!(e.code(), "NoSuchKey"),
                    // Only the in-flight delete may have removed an acknowledged object.
                    (Some(Acked::Put(_)), Err(e)) if may_differ && flight_is_delete => assert_eq!(e.code(), "NoSuchKey"),
                    (Some(Acked::Put(v)), Err(e)) => panic!("round {round}: acknowledged {key} v{v} is lost: {e}"),
                    (expect, Ok(obj)) => {
                        let (k2, v) = version_of(&obj.body).unwrap_or_else(|| panic!("round {round}: {key} holds garbage"));
                        assert_eq!(k2, key);
                        assert_eq!(&obj.body[..], &content(&key, v)[..], "round {round}: {key} v{v} is byte-identical");
                        assert_eq!(obj.meta.etag, ETag::of(&obj.body), "round {round}: {key} ETag matches its bytes");
                        // It is the acknowledged version, or the in-flight put that landed before the kill.
                        let acked_version = match expect {
                            Some(Acked::Put(av)) => Some(*av),
                            _ => None,
                        };
                        let in_flight_put = may_differ && !flight_is_delete && v == in_flight;
                        assert!(acked_version == Some(v) || in_flight_put, "round {round}: {key} holds v{v}, acknowledged {expect:?}, in flight v{in_flight}");
                        assert!(listed.iter().any(|m| m.key == key), "round {round}: {key} is listed");
                    }
                }
            }
            // Resynchronise the model with what is on disk, for the next round: an in-flight delete that
            // landed (checked above) removed its key, and an in-flight put that landed wrote its version.
            for (key, a) in acked.iter_mut() {
                if matches!(a, Acked::Put(_)) && !listed.iter().any(|m| &m.key == key) {
                    *a = Acked::Deleted(in_flight);
                }
            }
            for meta in listed {
                let obj = bucket.get(&meta.key).await.unwrap();
                let (_, v) = version_of(&obj.body).unwrap();
                acked.insert(meta.key.clone(), Acked::Put(v));
            }
        });
        assert_eq!(
            temp_files(&root),
            0,
            "round {round}: reopen removed every temp file"
        );
    }
    println!("{ROUNDS} SIGKILL rounds, {total_acks} acknowledged writes checked");
    assert!(
        total_acks > ROUNDS as usize,
        "the child wrote in most rounds ({total_acks} acks)"
    );
}

/// Part 1 of version `v` of the multipart object: 5 MiB that start with `v` and differ per version.
fn mp_part1(v: u64) -> Vec<u8> {
    let mut out = vec![0u8; objstore::limits::MIN_PART_SIZE as usize];
    let mut x = v.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    out[..8].copy_from_slice(&v.to_le_bytes());
    out
}

fn mp_part2(v: u64) -> Vec<u8> {
    format!("tail of version {v}").into_bytes()
}

/// The writer of `sigkill_during_multipart_complete_leaves_old_or_new`: completes one multipart upload of
/// the same key after another.
#[test]
#[ignore = "child process of sigkill_during_multipart_complete_leaves_old_or_new"]
fn multipart_crash_child() {
    let Ok(root) = std::env::var("OBJSTORE_CRASH_ROOT") else {
        return;
    };
    let start: u64 = std::env::var("OBJSTORE_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut store = Store::fs(&root).unwrap();
        let mut bucket = match store.create_bucket("crash").await {
            Ok(b) => b,
            Err(e) if e.code() == "BucketAlreadyOwnedByYou" => store.bucket("crash").unwrap(),
            Err(e) => panic!("{e}"),
        };
        println!("READY");
        for v in start.. {
            if v % 64 == 63 {
                // A clean shutdown (the index snapshot is written) and a reopen (it is taken): the kill
                // lands in either, or in the writes after, as often as anywhere else.
                drop((bucket, store));
                store = Store::fs(&root).unwrap();
                bucket = store.bucket("crash").unwrap();
            }
            let up = bucket
                .create_multipart_upload("mp", Default::default())
                .await
                .unwrap();
            let a = bucket
                .upload_part("mp", &up.upload_id, 1, mp_part1(v), None)
                .await
                .unwrap();
            let b = bucket
                .upload_part("mp", &up.upload_id, 2, mp_part2(v), None)
                .await
                .unwrap();
            let parts = [
                objstore::CompletedPart {
                    part_number: 1,
                    etag: a.etag,
                },
                objstore::CompletedPart {
                    part_number: 2,
                    etag: b.etag,
                },
            ];
            println!("COMPLETING {v}");
            let meta = bucket
                .complete_multipart_upload("mp", &up.upload_id, &parts, &Default::default())
                .await
                .unwrap();
            println!("ACK mp {v} {}", meta.etag.unquoted());
        }
    });
}

#[test]
fn sigkill_during_multipart_complete_leaves_old_or_new() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut rng = rand::rng();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut acked: Option<u64> = None;
    let mut kills_in_complete = 0;
    for round in 0..12u64 {
        let start = round * 1_000_000;
        let mut child = Command::new(&exe)
            .args([
                "multipart_crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("OBJSTORE_CRASH_ROOT", &root)
            .env("OBJSTORE_CRASH_START", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the crash child");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Kill 0 to 4 ms into the n-th complete (a complete links the parts and commits a manifest in
        // a few ms), so most kills land inside one (time only chooses when; nothing asserts on it).
        let nth = rng.random_range(1..=3);
        let mut lines = Vec::new();
        let mut seen = 0;
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            let is_complete = line.starts_with("COMPLETING");
            lines.push(line);
            if is_complete {
                seen += 1;
                if seen == nth {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..4_000)));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let mut completing = None;
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["COMPLETING", v] => completing = Some(v.parse::<u64>().unwrap()),
                ["ACK", "mp", v, _] => {
                    acked = Some(v.parse().unwrap());
                    completing = None;
                }
                _ => {}
            }
        }
        if completing.is_some() {
            kills_in_complete += 1;
        }
        rt.block_on(async {
            let backend = objstore::FsBackend::open(&root, objstore::FsOptions::default())
                .unwrap_or_else(|e| panic!("round {round}: the store must reopen cleanly: {e}"));
            assert_eq!(backend.recovery_report().quarantined, 0, "round {round}");
            let store = Store::builder().with_backend(backend).build().unwrap();
            let bucket = store.bucket("crash").unwrap();
            // Reopening leaves exactly the part folder of the version that is there, if any.
            let folders = std::fs::read_dir(root.join("crash").join("data"))
                .map(|d| d.count())
                .unwrap_or(0);
            assert_eq!(
                folders,
                usize::from(bucket.head("mp").await.is_ok()),
                "round {round}: part folders left after reopen"
            );
            match bucket.get("mp").await {
                Err(e) => {
                    assert!(
                        e.code() == "NoSuchKey" || e.code() == "NoSuchBucket",
                        "round {round}: {e}"
                    );
                    assert!(
                        acked.is_none(),
                        "round {round}: acknowledged version {acked:?} is lost"
                    );
                }
                Ok(obj) => {
                    let v = u64::from_le_bytes(obj.body[..8].try_into().unwrap());
                    let (p1, p2) = (mp_part1(v), mp_part2(v));
                    assert_eq!(obj.body.len(), p1.len() + p2.len(), "round {round}: whole");
                    assert!(
                        obj.body[..p1.len()] == p1[..] && obj.body[p1.len()..] == p2[..],
                        "round {round}: version {v} is byte-identical, never a mix"
                    );
                    let want = objstore::multipart_etag([&ETag::of(&p1), &ETag::of(&p2)]).unwrap();
                    assert_eq!(obj.meta.etag, want, "round {round}");
                    // The acknowledged version, or the one whose complete was in flight.
                    assert!(
                        Some(v) == acked || Some(v) == completing,
                        "round {round}: holds v{v}, acknowledged {acked:?}, completing {completing:?}"
                    );
                    acked = Some(v);
                }
            }
        });
        assert_eq!(
            temp_files(&root),
            0,
            "round {round}: reopen removed every temp file"
        );
    }
    println!("12 SIGKILL rounds, {kills_in_complete} during a complete");
    assert!(acked.is_some(), "the child completed uploads");
}
