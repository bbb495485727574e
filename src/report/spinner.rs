//! A spinner saying what is happening while nothing else moves (logging in, reading the
//! service lists, pricing), so a run is never silent for seconds. Only on a terminal and
//! without `-q`; cleared by the first progress bar, prompt, data on stdout, or error.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// The spinner on screen, if any. A std mutex: held only to swap or update it.
static SPINNER: Mutex<Option<(ProgressBar, super::ActiveGuard)>> = Mutex::new(None);

/// Shows `message` beside a spinner (replacing the message of one already shown).
pub fn start(message: &str) {
    if !super::term::live_progress() {
        return;
    }
    let mut slot = SPINNER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((bar, _)) = slot.as_ref() {
        bar.set_message(message.to_owned());
        return;
    }
    let multi = MultiProgress::new();
    let bar = multi.add(ProgressBar::new_spinner());
    let template = if super::term::stderr_colour() {
        "{spinner:.cyan} {wide_msg}"
    } else {
        "{spinner} {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    let guard = super::activate(&multi);
    *slot = Some((bar, guard));
}

/// Changes the message of the spinner on screen, if any.
pub fn say(message: &str) {
    let slot = SPINNER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((bar, _)) = slot.as_ref() {
        bar.set_message(message.to_owned());
    }
}

/// Takes the spinner off the screen, leaving nothing behind.
pub fn clear() {
    let taken = SPINNER.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some((bar, guard)) = taken {
        bar.finish_and_clear();
        drop(guard);
    }
}
