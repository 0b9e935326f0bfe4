//! A tour of Stratus.
fn main() {}
