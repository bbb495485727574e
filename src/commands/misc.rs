//! Small commands: shell completions, the man page, clearing a stale apply lock.

use std::io::Write;

use clap::CommandFactory;

use super::{CmdError, CmdResult};
use crate::cli::{Cli, CompletionsArgs, UnlockArgs};
use crate::executor::ApplyLock;
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
    page.render(&mut crate::report::stdout())
        .map_err(|e| CmdError::aborted(format!("cannot write the man page: {e}")))?;
    Ok(exit::OK)
}

/// `billfleet schema`: the manifest's JSON Schema on stdout.
pub fn schema() -> CmdResult {
    write_out(crate::manifest::json_schema().as_bytes())
}

/// `billfleet unlock MANIFEST`: removes a lock file no live process holds.
pub fn unlock(args: &UnlockArgs) -> CmdResult {
    match ApplyLock::clear(&args.manifest) {
        Ok(true) => {
            write_out(format!("removed the apply lock of {}\n", args.manifest.display()).as_bytes())
        }
        Ok(false) => {
            write_out(format!("{} has no apply lock\n", args.manifest.display()).as_bytes())
        }
        Err(e) => Err(CmdError::bad_input(e.to_string())),
    }
}

/// Writes `bytes` to stdout (a closed pipe ends the command quietly).
fn write_out(bytes: &[u8]) -> CmdResult {
    let mut out = crate::report::stdout();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CmdError::aborted(format!("cannot write to stdout: {e}")))?;
    Ok(exit::OK)
}
