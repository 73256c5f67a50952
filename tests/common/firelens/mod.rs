//! The real-world FireLens table (tests/firelens_examples.rs): ECS's config generator.

/// What ECS generates for a task definition (pure).
pub mod generate;
