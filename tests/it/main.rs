//! billfleet's integration tests: one test crate, one module per area.

mod api;
mod executor;
mod manifest;
mod onboard;
mod plan;
