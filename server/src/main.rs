//! The fleet server binary.
fn main() {}
