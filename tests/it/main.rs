//! billfleet's integration tests: one test crate, one module per area.

mod api;
mod apply;
mod executor;
mod harness;
mod manifest;
mod plan;
