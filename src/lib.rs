//! billfleet provisions whole fleets of hosting services through the ISPsystem BILLmanager
//! billing API from a manifest kept in git.
//!
//! The data flows one way: **manifest → plan → executor → report**, with `api` underneath
//! and `sim` beside.
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | clap argument types only |
//! | [`config`] | validated runtime options, profiles (TOML), credentials |
//! | [`manifest`] | the typed manifest, loading with positions, validation, domain patterns |
//! | [`plan`] | pure: manifest + survey snapshot (services, edit forms, prices) → the Plan (order, update, delete, conflict, with exact calls); targets; saved plans |
//! | [`api`] | the BILLmanager client: dialects, auth, response decoding, error kinds |
//! | [`pace`] | the shared rate limiter and cool-down every call passes through |
//! | [`executor`] | retries, reconcile-before-retry, journal, lock, events |
//! | [`report`] | the only code that writes to the terminal or report files |
//! | [`sim`] | the embedded BILLmanager simulator with fault injection |
//! | [`commands`] | one function per CLI command, gluing the above |
//! | [`money`], [`secret`], [`exit`] | amounts, redacted secrets, exit codes |

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod executor;
pub mod exit;
pub mod manifest;
pub mod money;
pub mod pace;
pub mod plan;
pub mod planfile;
pub mod report;
pub mod secret;
pub mod sim;
pub mod survey;
