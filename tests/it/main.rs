//! billfleet's integration tests: one test crate, one module per area.

mod executor;
mod manifest;
