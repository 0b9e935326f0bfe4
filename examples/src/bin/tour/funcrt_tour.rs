//! funcrt's part of the tour.

pub(crate) async fn run() -> crate::TourResult {
    println!("== funcrt");
    Ok(())
}
