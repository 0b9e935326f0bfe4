//! `LifecycleConfiguration::from_json` on arbitrary text, then the rules put on a versioned bucket and run
//! at four points in time (now, a day, 400 days, 100,000 days on): never a panic (dates far out, sizes
//! at the integer limits, empty and huge filters); a configuration that loads serializes and loads again
//! to the same value; one that fails S3's checks is refused by `set_lifecycle` with `MalformedXML`; a run
//! never fails on a configuration that was accepted, and never removes an object it was not asked to.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use objstore::{LifecycleConfiguration, MultipartOptions, PutOptions, Store, Versioning};
use stratus_clock::ManualClock;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(config) = LifecycleConfiguration::from_json(&text) else {
        return;
    };
    let again = serde_json::to_string(&config).expect("a loaded configuration serializes");
    assert_eq!(
        LifecycleConfiguration::from_json(&again).expect("its JSON loads again"),
        config
    );
    let valid = config.validate("fuzz").is_ok();
    let expires = !config.rules.is_empty();

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let clock = ManualClock::new();
        let store = Store::builder().with_clock(clock.clock()).build().unwrap();
        let b = store.create_bucket("fuzz").await.unwrap();
        b.set_versioning(Versioning::Enabled).await.unwrap();
        for (key, size) in [("logs/a", 10usize), ("logs/b", 4096), ("data/c", 0), ("d", 1 << 16)] {
            let mut opts = PutOptions::default();
            opts.tags.insert("class".into(), key.into());
            b.put_opts(key, vec![7u8; size], opts.clone()).await.unwrap();
            b.put_opts(key, vec![8u8; size], opts).await.unwrap();
        }
        b.delete("data/c").await.unwrap();
        b.create_multipart_upload("logs/up", MultipartOptions::default())
            .await
            .unwrap();
        match b.set_lifecycle(Some(config)).await {
            Ok(()) => assert!(valid, "a configuration that fails validate was accepted"),
            Err(e) => {
                assert!(!valid, "a valid configuration was refused: {e}");
                assert_eq!(e.code(), "MalformedXML", "{e}");
                return;
            }
        }
        let before = b.list_all_versions("").await.unwrap().len();
        for days in [0u64, 1, 399, 99_600] {
            clock.advance(Duration::from_secs(days * 86_400));
            b.run_lifecycle().await.expect("a run of an accepted configuration");
            let now = b.list_all_versions("").await.unwrap().len();
            assert!(expires || now == before, "versions removed with no rule");
        }
    });
});
