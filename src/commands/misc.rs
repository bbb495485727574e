//! Small commands: shell completions, the man page, the schema, clearing stale locks.

use clap::CommandFactory;

use super::preflight;
use super::{CmdError, CmdResult};
use crate::cli::{Cli, CompletionsArgs, UnlockArgs};
use crate::exit;

/// `billfleet completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> CmdResult {
    let mut command = Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "billfleet", &mut script);
    write_out(&script)
}

/// `billfleet manpage`: the roff man page on stdout.
pub fn manpage() -> CmdResult {
    let page = clap_mangen::Man::new(Cli::command());
    let mut roff = Vec::new();
    page.render(&mut roff)
        .and_then(|()| crate::report::data::write(&roff))
        .map_err(|e| CmdError::aborted(format!("cannot write the man page: {e}")))?;
    Ok(exit::OK)
}

/// `billfleet schema`: the manifest's JSON Schema on stdout.
pub fn schema() -> CmdResult {
    write_out(crate::manifest::json_schema().as_bytes())
}

/// `billfleet unlock MANIFEST`: removes the lock files of the manifest's account and groups
/// (and the per-manifest lock file of earlier versions) that no live process holds. A held
/// lock is refused (exit 3) naming its holder.
pub fn unlock(args: &UnlockArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let removed = preflight::clear_locks(&loaded.manifest, &args.manifest, &args.billing)?;
    let mut text = String::new();
    if removed.is_empty() {
        text.push_str(&format!(
            "{} has no lock to remove\n",
            args.manifest.display()
        ));
    }
    for path in &removed {
        text.push_str(&format!("removed the lock {}\n", path.display()));
    }
    write_out(text.as_bytes())
}

/// Writes `bytes` to stdout (a closed pipe ends the command quietly).
fn write_out(bytes: &[u8]) -> CmdResult {
    crate::report::data::write(bytes)
        .map_err(|e| CmdError::aborted(format!("cannot write to stdout: {e}")))?;
    Ok(exit::OK)
}
