//! The only code that writes to the terminal or report files: logging set-up, progress,
//! CSV reports, summaries.

use tracing_subscriber::EnvFilter;

/// Sets up `tracing` on stderr: `-q` errors only, default info, `-v` debug, `-vv` trace;
/// `RUST_LOG` wins when set.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "billfleet=debug,info",
        _ => "billfleet=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
