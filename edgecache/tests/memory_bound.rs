//! Issue 18: the memory tier's byte bound is the memory it takes. `Entry::weight` counted 192 bytes beyond key
//! and body while an entry held about 360, so a full tier of small entries took 1.6x its bound. Measured here
//! in a child process (this test runs itself again) by the growth of its RSS (`/proc/self/status`) while a
//! tier bounded at 100k entries' weight is filled with 110k small entries.

use std::sync::Arc;

use bytes::Bytes;
use edgecache::Entry;
use edgecache::tier::MemoryTier;
use http::{HeaderMap, HeaderValue, StatusCode, header};

const CHILD: &str = "EDGECACHE_MEMORY_BOUND_CHILD";

fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn entry(i: usize, with_headers: bool) -> (String, Arc<Entry>) {
    let body = Bytes::from(vec![1u8; 100]);
    let mut headers = HeaderMap::new();
    if with_headers {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str("max-age=60").unwrap(),
        );
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&format!("\"{i:x}\"")).unwrap(),
        );
        headers.insert("x-custom", HeaderValue::from_str("some value").unwrap());
    }
    // shared once, as the edge shares a stored response with the one it serves
    let served = (body.clone(), headers.clone());
    let e = Entry::new(
        StatusCode::OK,
        headers,
        body,
        std::time::UNIX_EPOCH,
        std::time::UNIX_EPOCH,
    );
    drop(served);
    (format!("example.com/objects/{i:010}"), Arc::new(e))
}

#[test]
fn a_full_memory_tier_takes_the_memory_of_its_bound() {
    const N: usize = 100_000;
    let Some(kind) = std::env::var_os(CHILD) else {
        if rss().is_none() {
            println!("skipped: no /proc/self/status VmRSS on this system");
            return;
        }
        for kind in ["bare", "headers"] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "a_full_memory_tier_takes_the_memory_of_its_bound",
                    "--nocapture",
                ])
                .env(CHILD, kind)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            println!("{stdout}");
            assert!(
                out.status.success(),
                "{kind}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("RSS growth / bound"), "{stdout}");
        }
        return;
    };
    let with_headers = kind == "headers";
    let (k, e) = entry(0, with_headers);
    let bound = e.weight(&k) * N as u64;
    drop((k, e));
    let before = rss().unwrap();
    let tier = MemoryTier::builder()
        .with_capacity_bytes(bound)
        .build()
        .unwrap();
    for i in 0..N + N / 10 {
        let (k, e) = entry(i, with_headers);
        tier.insert_sync(&k, e);
    }
    let ratio = (rss().unwrap() - before) as f64 / bound as f64;
    println!(
        "{kind:?}: RSS growth / bound {ratio:.3} at {} entries",
        edgecache::Tier::len(&tier)
    );
    assert!(
        (0.93..=1.05).contains(&ratio),
        "{kind:?}: the tier took {ratio:.3}x its bound"
    );
}
