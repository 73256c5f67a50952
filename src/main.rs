//! firelane binary (thin; see the library).
fn main() {}
