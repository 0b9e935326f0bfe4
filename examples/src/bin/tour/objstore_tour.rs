//! objstore: S3 semantics in-process.

pub(crate) async fn run() -> crate::TourResult {
    println!("== objstore");
    Ok(())
}
