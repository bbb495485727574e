//! The confirmation rule of every mutating command: without `--yes` it asks on a terminal
//! (showing what will happen and what it costs) and refuses when stdin is not a terminal.
//!
//! Like Terraform, what cannot be undone (deleting services: `destroy`, `--prune`) needs
//! the word `yes` typed out; anything else accepts `y` or `yes`. The prompts (this one, and
//! the password's) are written here (commands reach this module as `commands::confirm`).

use std::io::{BufRead, IsTerminal, Write};

/// What the user decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Proceed,
    /// The user said no.
    Declined,
}

/// How much must be typed to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// `y` or `yes`.
    Short,
    /// Only `yes` (deleting services).
    TypedYes,
}

/// Checked before anything is sent: refuses a mutating command without `--yes` when stdin is
/// not a terminal (CI, pipes), so a script never hangs on a prompt nor acts unasked.
pub fn require_yes_or_terminal(yes: bool, command: &str) -> Result<(), String> {
    if yes || std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(format!(
            "`billfleet {command}` changes (and may pay for) services: pass --yes to run it without a terminal"
        ))
    }
}

/// The strength a question needs: deleting needs `yes` typed out.
pub fn strength_for(command: Option<&str>, question: &str) -> Strength {
    let lower = question.to_ascii_lowercase();
    if command == Some("destroy") || lower.contains("delete") || lower.contains("prune") {
        Strength::TypedYes
    } else {
        Strength::Short
    }
}

/// The prompt as shown on the terminal (pure, for tests): the question, and what to type.
pub fn prompt_text(question: &str, strength: Strength) -> String {
    match strength {
        Strength::Short => format!("{question} [y/N] "),
        Strength::TypedYes => format!(
            "{question}\n  This cannot be undone. Only 'yes' will be accepted to approve.\n\n  \
             Enter a value: "
        ),
    }
}

/// Whether `answer` approves at `strength`.
pub fn accepts(answer: &str, strength: Strength) -> bool {
    let answer = answer.trim();
    match strength {
        Strength::Short => matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"),
        Strength::TypedYes => answer == "yes",
    }
}

/// Asks `question` on the terminal unless `yes`; anything but `y`/`yes` (only `yes` when
/// services would be deleted) declines.
pub fn confirm(yes: bool, question: &str) -> Decision {
    if yes {
        return Decision::Proceed;
    }
    crate::report::spinner::clear();
    let strength = strength_for(crate::report::term::command(), question);
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{}", prompt_text(question, strength));
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return Decision::Declined;
    }
    if accepts(&answer, strength) {
        Decision::Proceed
    } else {
        Decision::Declined
    }
}

/// True when a person can be asked: stdin and stderr are both terminals.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for a password on the terminal, without echo (the spinner cleared first).
pub fn password(prompt: &str) -> std::io::Result<String> {
    crate::report::spinner::clear();
    rpassword::prompt_password(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_needs_yes_typed_out() {
        let s = strength_for(
            Some("destroy"),
            "destroy: 3 services of this fleet. Go ahead?",
        );
        assert_eq!(s, Strength::TypedYes);
        assert!(!accepts("y\n", s));
        assert!(!accepts("YES\n", s));
        assert!(accepts("yes\n", s));
        let s = strength_for(Some("apply"), "Order 2 servers and delete 1 (prune)?");
        assert_eq!(s, Strength::TypedYes);
        let s = strength_for(Some("suspend"), "suspend: 3 services. Go ahead?");
        assert_eq!(s, Strength::Short);
        assert!(accepts("Y\n", s) && accepts("yes", s) && !accepts("", s));
    }
}
