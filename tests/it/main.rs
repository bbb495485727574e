//! billfleet's integration tests: one test crate, one module per area.

mod api;
mod apply;
mod doctor;
mod executor;
mod forms;
mod harness;
mod licenses;
mod lifecycle;
mod manifest;
mod onboard;
mod plan;
mod roundtrip;
mod sandbox;
mod sim;
