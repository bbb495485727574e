//! `doctor --capture FILE`: every exchange as one JSON line, written owner-only.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::api::tap::{CapturedExchange, Tap};
use crate::failure::CmdError;

/// The capture file: JSON lines, owner-only.
pub struct Capture {
    out: Mutex<BufWriter<File>>,
    failed: AtomicBool,
}

impl Capture {
    /// Creates (or truncates) the capture file, owner-only.
    pub fn create(path: &Path) -> Result<Arc<Self>, CmdError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|e| {
            CmdError::bad_input(format!("cannot create the capture {}: {e}", path.display()))
        })?;
        // An existing file keeps its mode on open: make it owner-only too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        Ok(Arc::new(Self {
            out: Mutex::new(BufWriter::new(file)),
            failed: AtomicBool::new(false),
        }))
    }

    /// The tap that records every exchange in this file.
    pub fn tap(self: &Arc<Self>) -> Tap {
        let me = Arc::clone(self);
        Arc::new(move |exchange: &CapturedExchange| me.record(exchange))
    }

    fn record(&self, exchange: &CapturedExchange) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let written = serde_json::to_writer(&mut *out, exchange)
            .map_err(std::io::Error::other)
            .and_then(|()| out.write_all(b"\n"));
        if written.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Flushes the file; an error when any exchange could not be written.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        if self.failed.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("some exchanges could not be written"));
        }
        Ok(())
    }
}
