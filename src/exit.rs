//! Process exit codes: a documented contract (see README "Exit codes").

/// Everything asked for is done (or, for `plan`/`validate`, the manifest is valid).
pub const OK: u8 = 0;
/// The run finished, but some servers failed; the report says which.
pub const SOME_FAILED: u8 = 1;
/// Bad input: invalid manifest, flags or configuration; nothing was sent to the billing.
pub const BAD_INPUT: u8 = 2;
/// Aborted before finishing: authentication refused, budget guard tripped,
/// insufficient balance, interrupted.
pub const ABORTED: u8 = 3;
/// Only with `plan --detailed-exitcode`: the plan is valid and changes are pending.
pub const CHANGES_PENDING: u8 = 4;
