//! The `billfleet` binary: parse, set up logging, run, exit with the documented code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match billfleet::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; bad flags are bad input (exit 2).
            let code = if e.use_stderr() {
                billfleet::exit::BAD_INPUT
            } else {
                billfleet::exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    billfleet::report::init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            billfleet::report::eprint_error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(billfleet::exit::ABORTED);
        }
    };
    ExitCode::from(runtime.block_on(billfleet::commands::run(cli)))
}
