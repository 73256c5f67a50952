//! The real-world FireLens table (tests/e2e/firelens_examples.rs): ECS's config generator, the
//! rewrites that point a setup at a test, the row type, and the bench that runs a row against
//! firelane as a process, moto and a fake task metadata endpoint.

/// The bench: moto, the metadata endpoint, and running one row.
pub mod bench;
/// What ECS generates for a task definition (pure).
pub mod generate;
/// Where a record landed, read back from moto or an aggregator.
pub mod land;
/// Rewriting a setup's files to point at the test (pure).
pub mod point;
/// A row of the table and its rendering in docs/guide/firelens.md (pure).
pub mod row;
/// Sending records as applications do.
pub mod send;
/// Building a row's files and environment under a temporary root.
pub mod setup;
/// The table: every example, what it sends, where it lands, what stops it today.
pub mod table;
