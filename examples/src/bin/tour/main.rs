//! A tour of Stratus: each crate shows its main job on a small, real workload.
//!
//! Run it with `cargo run --release -p examples --bin tour`.
#![forbid(unsafe_code)]

mod access_tour;
mod edge_hostile_tour;
mod edgecache_tour;
mod funcrt_blocking;
mod funcrt_tour;
mod network_tour;
mod objstore_tour;
mod presign_tour;

type TourResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> TourResult {
    objstore_tour::run().await?;
    presign_tour::run().await?;
    access_tour::run().await?;
    funcrt_tour::run().await?;
    funcrt_blocking::run().await?;
    edgecache_tour::run().await?;
    edge_hostile_tour::run().await?;
    network_tour::run().await?;
    Ok(())
}
