//! Small commands: shell completions, the man page, clearing a stale apply lock.

use clap::CommandFactory;

use super::{CmdError, CmdResult};
use crate::cli::{Cli, CompletionsArgs, UnlockArgs};
use crate::executor::ApplyLock;
use crate::exit;

/// `billfleet completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> CmdResult {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "billfleet",
        &mut std::io::stdout(),
    );
    Ok(exit::OK)
}

/// `billfleet manpage`: the roff man page on stdout.
pub fn manpage() -> CmdResult {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout())
        .map_err(|e| CmdError::aborted(format!("cannot write the man page: {e}")))?;
    Ok(exit::OK)
}

/// `billfleet schema`: the manifest's JSON Schema on stdout.
pub fn schema() -> CmdResult {
    print!("{}", crate::manifest::json_schema());
    Ok(exit::OK)
}

/// `billfleet unlock MANIFEST`: removes a lock file no live process holds.
pub fn unlock(args: &UnlockArgs) -> CmdResult {
    match ApplyLock::clear(&args.manifest) {
        Ok(true) => {
            println!("removed the apply lock of {}", args.manifest.display());
            Ok(exit::OK)
        }
        Ok(false) => {
            println!("{} has no apply lock", args.manifest.display());
            Ok(exit::OK)
        }
        Err(e) => Err(CmdError::bad_input(e.to_string())),
    }
}
