//! One function per CLI command, gluing manifest, plan, api, executor and report together.
//! Every command returns its exit code; nothing here calls `std::process::exit`.

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs one parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Validate(args) => validate(&args),
        other => {
            eprintln!(
                "error: `{}` is not available in this build yet",
                command_name(&other)
            );
            exit::BAD_INPUT
        }
    }
}

fn validate(args: &crate::cli::ValidateArgs) -> u8 {
    match crate::manifest::load_file(&args.manifest) {
        Ok(loaded) => {
            let groups = loaded.manifest.groups().count();
            let servers: i64 = loaded.manifest.groups().map(|g| g.count).sum();
            println!("ok: {servers} servers in {groups} groups");
            exit::OK
        }
        Err(diags) => {
            eprintln!("{diags}");
            exit::BAD_INPUT
        }
    }
}

fn command_name(command: &Command) -> &'static str {
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
        Command::Manpage => "manpage",
        Command::Sandbox(_) => "sandbox",
    }
}
