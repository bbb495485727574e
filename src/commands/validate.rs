//! `billfleet validate`: parse and check a manifest; never contacts the billing.

use super::CmdResult;
use crate::cli::ValidateArgs;
use crate::exit;

/// Prints `ok: N servers in G groups`, or every problem with its position (exit 2).
pub async fn run(args: &ValidateArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let groups = loaded.manifest.groups().count();
    let servers: i64 = loaded.manifest.groups().map(|g| g.count).sum();
    println!("ok: {servers} servers in {groups} groups");
    Ok(exit::OK)
}
