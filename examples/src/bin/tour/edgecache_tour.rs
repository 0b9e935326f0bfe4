//! edgecache's part of the tour.

pub(crate) async fn run() -> crate::TourResult {
    println!("== edgecache");
    Ok(())
}
