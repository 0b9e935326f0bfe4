//! The tier conformance suite against the memory and disk tiers, and the disk tier's recovery: after a kill
//! (no clean shutdown, and a child process killed mid-writes), and after bytes in its files are flipped.

use std::path::Path;
use std::sync::Arc;

use edgecache::tier::{DiskOptions, DiskTier, MemoryTier, conformance};
use edgecache::{Entry, Tier};

async fn disk(dir: &Path, capacity: u64) -> DiskTier {
    DiskTier::open(dir, DiskOptions::default().with_capacity_bytes(capacity))
        .await
        .expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_tier_conforms() {
    conformance::all(|capacity| async move {
        MemoryTier::builder()
            .with_capacity_bytes(capacity)
            .with_shards(1)
            .build()
            .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disk_tier_conforms() {
    let root = tempfile::tempdir().expect("tempdir");
    let n = std::sync::atomic::AtomicU32::new(0);
    let root_path = root.path().to_path_buf();
    conformance::all(|capacity| {
        let dir = root_path.join(
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_string(),
        );
        async move { disk(&dir, capacity).await }
    })
    .await;
}

#[tokio::test]
async fn disk_tier_recovers_its_index_after_a_drop_without_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tier = disk(dir.path(), 1 << 20).await;
    for i in 0..20 {
        tier.insert(
            &format!("k{i}"),
            Arc::new(conformance::rich_entry().with_surrogate_keys(vec![format!("t{i}")])),
        )
        .await
        .expect("insert");
    }
    tier.remove("k3").await.expect("remove");
    let used = tier.used_bytes();
    // a write the process never finished: a temporary file left behind
    std::fs::write(dir.path().join(".tmp-00000000deadbeef-1-1"), b"half a file")
        .expect("stray temp");
    std::mem::forget(tier); // no destructor, no shutdown: as if the process died here
    let reopened = disk(dir.path(), 1 << 20).await;
    assert_eq!(reopened.len(), 19);
    assert_eq!(reopened.used_bytes(), used);
    assert!(reopened.get("k3").await.expect("get").is_none());
    let e = reopened.get("k7").await.expect("get").expect("recovered");
    assert_eq!(e.surrogate_keys, vec!["t7".to_string()]);
    assert_eq!(e.body, conformance::rich_entry().body);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listing")
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files survive recovery");
}

#[tokio::test]
async fn disk_tier_recovery_respects_a_smaller_capacity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tier = disk(dir.path(), 1 << 20).await;
    for i in 0..30 {
        tier.insert(
            &format!("k{i}"),
            Arc::new(Entry::from_body(vec![1u8; 1000])),
        )
        .await
        .expect("insert");
    }
    drop(tier);
    let small = disk(dir.path(), 10_000).await;
    assert!(small.used_bytes() <= 10_000);
    assert!(small.len() < 30 && !small.is_empty());
    let files = std::fs::read_dir(dir.path()).expect("listing").count();
    assert_eq!(files, small.len(), "evicted entries keep no file");
}

#[tokio::test]
async fn flipped_or_truncated_bytes_are_a_miss_and_removed_never_wrong_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tier = disk(dir.path(), 1 << 20).await;
    let entry = Arc::new(conformance::rich_entry());
    let keys: Vec<String> = (0..40).map(|i| format!("example.com/{i}")).collect();
    for k in &keys {
        tier.insert(k, entry.clone()).await.expect("insert");
    }
    // damage files in different places: every 4th gets a flipped byte at a different offset, one is truncated
    let mut damaged = Vec::new();
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let path = tier.path_of(k);
        let mut bytes = std::fs::read(&path).expect("read");
        let at = (i * 97) % bytes.len();
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");
        damaged.push(k.clone());
    }
    let truncated = &keys[1];
    let path = tier.path_of(truncated);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    damaged.push(truncated.clone());

    for k in &keys {
        let got = tier.get(k).await.expect("a corrupt entry is not an error");
        if damaged.contains(k) {
            assert!(got.is_none(), "{k} was damaged but served");
            assert!(!tier.path_of(k).exists(), "{k}'s damaged file was kept");
        } else {
            assert_eq!(got.as_deref(), Some(&*entry), "{k}");
        }
    }
    assert_eq!(tier.len(), keys.len() - damaged.len());

    // the same damage found at start-up instead of on read
    drop(tier);
    let k = &keys[2];
    let p = dir.path().join(
        DiskTier::open(dir.path(), DiskOptions::default())
            .await
            .expect("open")
            .path_of(k),
    );
    let mut bytes = std::fs::read(&p).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&p, &bytes).expect("write");
    let reopened = disk(dir.path(), 1 << 20).await;
    assert!(reopened.get(k).await.expect("get").is_none());
    assert!(!p.exists());
    assert_eq!(reopened.len(), keys.len() - damaged.len() - 1);
}

/// The child half of the kill test: writes entries forever until killed.
#[test]
#[ignore = "run as a child process by disk_tier_survives_a_killed_writer_process"]
fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os("EDGECACHE_KILL_TEST_DIR") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tier = disk(Path::new(&dir), 200_000).await;
        std::fs::write(Path::new(&dir).join("ready"), b"").expect("ready marker");
        for i in 0u64.. {
            let body = vec![(i % 251) as u8; 500 + (i % 3000) as usize];
            tier.insert(&format!("k{}", i % 500), Arc::new(Entry::from_body(body)))
                .await
                .expect("insert");
        }
    });
}

#[tokio::test]
async fn disk_tier_survives_a_killed_writer_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "child_writes_until_killed",
            "--nocapture",
        ])
        .env("EDGECACHE_KILL_TEST_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    // wait (on real time: this is another process) until it is writing, then let it write a while
    let ready = dir.path().join("ready");
    let mut waited = 0;
    while !ready.exists() && waited < 600 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    }
    assert!(ready.exists(), "child never started");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("kill");
    child.wait().expect("reap");
    std::fs::remove_file(&ready).expect("marker");

    let tier = disk(dir.path(), 200_000).await;
    assert!(!tier.is_empty(), "nothing recovered");
    assert!(tier.used_bytes() <= 200_000);
    for k in 0..500u64 {
        let key = format!("k{k}");
        if let Some(e) = tier.get(&key).await.expect("get") {
            // every recovered entry is one the child wrote for this key: uniform bytes of a consistent length
            let fill = e.body[0];
            assert!(e.body.iter().all(|b| *b == fill), "{key} holds mixed bytes");
            assert_eq!(u64::from(fill) % 251, u64::from(fill));
        }
    }
}
