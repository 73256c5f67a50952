//! Outputs: each consumes a channel of batches and reports what it delivered.
