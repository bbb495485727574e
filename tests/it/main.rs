//! billfleet's integration tests: one test crate, one module per area.

mod api;
mod apply;
mod contract;
mod doctor;
mod executor;
mod forms;
mod harness;
mod hostile;
mod licenses;
mod lifecycle;
mod lifecycle_settings;
mod lists;
mod locks;
mod manifest;
mod money;
mod onboard;
mod pipeline;
mod plan;
mod prices;
mod roundtrip;
mod sandbox;
mod sim;
mod terminal;
