//! One function per CLI command, gluing manifest, plan, api, executor and report together.
//! Every command returns its exit code; nothing here calls `std::process::exit`.

mod apply;
mod catalog;
mod connect;
mod doctor;
mod init;
mod lifecycle;
mod misc;
mod plan;
mod sandbox;
mod validate;

use self::lifecycle::FleetAction;
use crate::cli::{Cli, Command};
use crate::exit;
pub use crate::failure::{CmdError, CmdResult};
use crate::preflight;
/// The confirmation prompt lives in [`crate::report::confirm`]; commands reach it here.
pub use crate::report::confirm;

/// Whether a command may change services (a closed stdout then stops it like Ctrl-C and
/// exits 3; a read-only command just ends, exit 0).
fn mutating(command: &Command) -> bool {
    matches!(
        command,
        Command::Apply(_)
            | Command::Prolong(_)
            | Command::Edit(_)
            | Command::Suspend(_)
            | Command::Resume(_)
            | Command::Destroy(_)
    )
}

/// The command's name, as typed (for default report names).
fn name(command: &Command) -> &'static str {
    match command {
        Command::Validate(_) => "validate",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Status(_) => "status",
        Command::Prolong(_) => "prolong",
        Command::Edit(_) => "edit",
        Command::Suspend(_) => "suspend",
        Command::Resume(_) => "resume",
        Command::Destroy(_) => "destroy",
        Command::Catalog(_) => "catalog",
        Command::Init(_) => "init",
        Command::Unlock(_) => "unlock",
        Command::Completions(_) => "completions",
        Command::Schema => "schema",
        Command::Manpage => "manpage",
        Command::Sandbox(_) => "sandbox",
        Command::Doctor(_) => "doctor",
    }
}

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    crate::report::term::configure(cli.verbose, cli.quiet, name(&cli.command));
    let mutating = mutating(&cli.command);
    let result = dispatch(cli).await;
    crate::report::spinner::clear();
    let closed = crate::report::stdout_closed();
    match result {
        Ok(_) if closed && mutating => {
            crate::report::eprint_error(
                "stdout was closed: the run stopped as on Ctrl-C; the report says what was done",
            );
            exit::ABORTED
        }
        Ok(code) => code,
        Err(e) => {
            crate::report::eprint_error(&e.render());
            e.code
        }
    }
}

async fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Validate(args) => validate::run(&args).await,
        Command::Plan(args) => plan::run(&args).await,
        Command::Apply(args) => apply::run(&args).await,
        Command::Status(args) => lifecycle::status(&args).await,
        Command::Prolong(args) => lifecycle::prolong(&args).await,
        Command::Edit(args) => lifecycle::act(FleetAction::Edit, &args).await,
        Command::Suspend(args) => lifecycle::act(FleetAction::Suspend, &args).await,
        Command::Resume(args) => lifecycle::act(FleetAction::Resume, &args).await,
        Command::Destroy(args) => lifecycle::act(FleetAction::Destroy, &args).await,
        Command::Catalog(args) => catalog::run(&args).await,
        Command::Init(args) => init::run(&args).await,
        Command::Unlock(args) => misc::unlock(&args),
        Command::Completions(args) => misc::completions(&args),
        Command::Manpage => misc::manpage(),
        Command::Schema => misc::schema(),
        Command::Sandbox(args) => sandbox::run(&args).await,
        Command::Doctor(args) => doctor::run(&args).await,
    }
}
