//! The cost of the access check on a 1 KiB memory GET, in one run:
//!
//! - `no_policy`: the owner, no bucket policy (the check reads the bucket's config and returns);
//! - `owner_10_statements`: the owner under a 10-statement policy with a `Deny` (every Deny is evaluated
//!   for the owner; Allows are skipped);
//! - `other_account_10_statements`: another account, allowed by the 9th statement (every statement is
//!   evaluated, conditions included).
//!
//! `cargo bench -p benches --bench objstore_access`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use objstore::{Bucket, Identity, Store};
use tokio::runtime::Runtime;

const KEY: &str = "data/obj-0000001";

fn policy() -> String {
    let mut statements: Vec<String> = (0..8)
        .map(|i| {
            format!(
                r#"{{"Sid": "Partner{i}", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::33333333333{i}:root"}},
                    "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bench/partner{i}/*",
                    "Condition": {{"IpAddress": {{"aws:SourceIp": "10.{i}.0.0/16"}}}}}}"#
            )
        })
        .collect();
    statements.push(
        r#"{"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": "222222222222"},
            "Action": "s3:Get*", "Resource": "arn:aws:s3:::bench/data/*"}"#
            .to_string(),
    );
    statements.push(
        r#"{"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::bench", "arn:aws:s3:::bench/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#
            .to_string(),
    );
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (plain, governed) = rt.block_on(async {
        let store = Store::memory();
        let plain = store.create_bucket("plain").await.unwrap();
        plain.put(KEY, vec![7u8; 1024]).await.unwrap();
        let governed = store.create_bucket("bench").await.unwrap();
        governed.put(KEY, vec![7u8; 1024]).await.unwrap();
        governed.set_policy(&policy()).await.unwrap();
        (plain, governed)
    });
    let other = governed.as_identity(&Identity::user("222222222222", "reader"));
    let mut group = c.benchmark_group("objstore_access_get_1k");
    let mut run = |name: &str, b: &Bucket| {
        group.bench_function(name, |bench| {
            bench.iter(|| rt.block_on(async { black_box(b.get(KEY).await.unwrap()) }))
        });
    };
    run("no_policy", &plain);
    run("owner_10_statements", &governed);
    run("other_account_10_statements", &other);
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
