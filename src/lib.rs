//! billfleet provisions whole fleets of hosting services through the ISPsystem BILLmanager
//! billing API from a manifest kept in git.
//!
//! The data flows one way: **manifest → settings → survey → plan → executor → report**, with
//! `api` underneath and `sim` beside. Each stage hands plain values to the next: the survey a
//! [`survey::Survey`] (services, prices, balance), the planner a [`plan::Plan`], the executor
//! its results and report rows.
//!
//! | module | owns |
//! |---|---|
//! | [`cli`] | clap argument types only |
//! | [`config`] | profiles (TOML), credentials, where and as whom to connect |
//! | [`settings`] | the one merge of flags and the manifest's `execution` into validated run settings |
//! | [`connect`] | from flags, profile, environment and manifest to a client (or the in-process sandbox); the password prompt |
//! | [`manifest`] | the typed manifest, loading with positions, validation, the domain-pattern parser, online checks against order forms, the `init` scaffold |
//! | [`protocol`] | leaf: the wire choices a billing speaks (dialect, format, login mode), shared by manifest and api |
//! | [`survey`] | the reads before planning: login, account, service lists, price previews, edit forms (I/O, never a paid call) |
//! | [`plan`] | pure: manifest + survey snapshot (services, edit forms, prices) + journal → the Plan (order, update, delete, conflict, with exact calls); fleet membership; targets; the budget guard; saved plans |
//! | [`planfile`] | saved plans on disk: `plan --out` writes, `apply FILE` reads and checks them |
//! | [`api`] | the BILLmanager client: dialects, auth, response decoding, error kinds (no manifest types) |
//! | [`preflight`] | before spending: the account and group lock keys, report and journal writability |
//! | [`catalog`] | what the billing sells: tariffs with prices, order forms (each list read once) |
//! | [`doctor`] | `doctor`'s read-only probing of an install (checks, capture of every exchange) |
//! | [`pace`] | the shared rate limiter and cool-down every call passes through |
//! | [`executor`] | the engine (retries, reconcile-before-retry, events), the order jobs, convergence (updates, deletes), waiting for active servers, journal, lock |
//! | [`report`] | the only code that writes to the terminal or report files |
//! | [`sim`] | the embedded BILLmanager simulator with fault injection |
//! | [`commands`] | one function per CLI command: parse → settings → survey → plan → confirm → execute → report |
//! | [`failure`] | `CmdError`: why a command stopped, with its exit code and typed cause |
//! | [`money`], [`secret`], [`exit`] | amounts, redacted secrets, exit codes |

pub mod api;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod doctor;
pub mod executor;
pub mod exit;
pub mod failure;
pub mod manifest;
pub mod money;
pub mod pace;
pub mod plan;
pub mod planfile;
pub mod preflight;
pub mod protocol;
pub mod report;
pub mod secret;
pub mod settings;
pub mod sim;
pub mod survey;
