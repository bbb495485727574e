//! `billfleet sandbox`: the embedded BILLmanager simulator in the foreground. The flags
//! become a `SimConfig` in [`crate::sim::config`].

use super::{CmdError, CmdResult};
use crate::cli::SandboxArgs;
use crate::exit;
use crate::sim::Sim;

/// `billfleet sandbox`: serves the simulator on `--listen` until Ctrl-C.
pub async fn run(args: &SandboxArgs) -> CmdResult {
    if let Some(path) = &args.replay {
        return replay(args, path).await;
    }
    let config = crate::sim::config::from_args(args).map_err(CmdError::bad_input)?;
    let sim = Sim::new(config).map_err(|e| CmdError::bad_input(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CmdError::bad_input(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CmdError::aborted(format!("cannot read the bound address: {e}")))?;
    announce(&format!("listening on http://{addr}/billmgr"))?;
    let shutdown = async {
        // An error here means no signal handler could be installed: stop rather than run
        // a server nobody can stop with Ctrl-C.
        let _ = tokio::signal::ctrl_c().await;
    };
    crate::sim::serve(listener, sim, shutdown)
        .await
        .map_err(|e| CmdError::aborted(format!("the simulator stopped: {e}")))?;
    Ok(exit::OK)
}

/// `billfleet sandbox --replay FILE`: serves a capture's answers until Ctrl-C.
async fn replay(args: &SandboxArgs, path: &std::path::Path) -> CmdResult {
    let replay =
        crate::sim::replay::Replay::load(path).map_err(|e| CmdError::bad_input(e.to_string()))?;
    if replay.is_empty() {
        return Err(CmdError::bad_input(format!(
            "{}: the capture holds no exchange",
            path.display()
        )));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CmdError::bad_input(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CmdError::aborted(format!("cannot read the bound address: {e}")))?;
    tracing::info!("replaying {} exchanges of {}", replay.len(), path.display());
    announce(&format!("listening on http://{addr}/billmgr"))?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    crate::sim::replay::serve(listener, replay, shutdown)
        .await
        .map_err(|e| CmdError::aborted(format!("the replay stopped: {e}")))?;
    Ok(exit::OK)
}

/// The single line scripts wait for, on stdout, flushed.
fn announce(line: &str) -> Result<(), CmdError> {
    crate::report::data::announce(line)
        .map_err(|e| CmdError::aborted(format!("cannot write to stdout: {e}")))
}
