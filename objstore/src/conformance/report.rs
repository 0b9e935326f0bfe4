//! The storage report.

use stratus_clock::ManualClock;

use crate::{PutOptions, Store};

/// The storage report: objects and bytes per bucket and class (noncurrent versions and upload parts
/// included, delete markers not), costs from a replaceable price table.
pub async fn storage_report(store: &Store, _clock: &ManualClock) {
    use crate::{MultipartOptions, PriceTable, StorageClass as C};
    let a = store.create_bucket("rep-a").await.unwrap();
    let b = store.create_bucket("rep-b").await.unwrap();
    a.set_versioning(crate::Versioning::Enabled).await.unwrap();
    a.put("k", vec![0u8; 1000]).await.unwrap();
    a.put("k", vec![0u8; 500]).await.unwrap(); // the 1000 bytes stay as a noncurrent version
    a.delete("k").await.unwrap(); // a marker: no bytes
    let glacier = PutOptions {
        storage_class: C::Glacier,
        ..Default::default()
    };
    a.put_opts("cold", vec![0u8; 300], glacier).await.unwrap();
    let up = b
        .create_multipart_upload(
            "mp",
            MultipartOptions {
                storage_class: C::StandardIa,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    b.upload_part("mp", &up.upload_id, 1, vec![0u8; 70], None)
        .await
        .unwrap();
    b.put("x", vec![0u8; 30]).await.unwrap();

    let prices = PriceTable::default().with_price(C::Standard, 2.0);
    assert_eq!(prices.price(C::Glacier), 0.0036);
    let report = store.storage_report(&prices).await.unwrap();
    assert_eq!(
        report
            .buckets
            .iter()
            .map(|u| u.bucket.as_str())
            .collect::<Vec<_>>(),
        ["rep-a", "rep-b"]
    );
    let ra = &report.buckets[0];
    let std = &ra.classes[&C::Standard];
    assert_eq!((std.objects, std.bytes, std.upload_bytes), (2, 1500, 0));
    let cold = &ra.classes[&C::Glacier];
    assert_eq!((cold.objects, cold.bytes), (1, 300));
    assert_eq!(ra.classes.len(), 2);
    let gb = (1u64 << 30) as f64;
    let close = |x: f64, y: f64| (x - y).abs() < 1e-15;
    assert!(close(std.monthly_cost, 1500.0 / gb * 2.0));
    assert!(close(cold.monthly_cost, 300.0 / gb * 0.0036));
    assert!(close(ra.monthly_cost, std.monthly_cost + cold.monthly_cost));
    let rb = &report.buckets[1];
    assert_eq!(rb.classes[&C::StandardIa].upload_bytes, 70);
    assert_eq!(rb.classes[&C::StandardIa].objects, 0);
    assert_eq!(rb.classes[&C::Standard].bytes, 30);
    assert!(close(
        rb.classes[&C::StandardIa].monthly_cost,
        70.0 / gb * 0.0125
    ));
    assert!(close(
        report.monthly_cost,
        ra.monthly_cost + rb.monthly_cost
    ));
    // A changed price changes only its class.
    let cheaper = store
        .storage_report(&prices.clone().with_price(C::Glacier, 0.0))
        .await
        .unwrap();
    assert!(close(cheaper.buckets[0].monthly_cost, std.monthly_cost));
}
