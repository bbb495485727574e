//! Report cells: one status vocabulary (code and word), and text that a spreadsheet will
//! never run as a formula.

/// The billing's service status codes and their words.
const STATUS_WORDS: [(u8, &str); 5] = [
    (1, "ordered"),
    (2, "active"),
    (3, "suspended"),
    (4, "deleted"),
    (5, "processing"),
];

/// `(code, word)` of a status given as either.
pub(super) fn status_pair(
    status: Option<&str>,
    text: Option<&str>,
) -> (Option<String>, Option<String>) {
    let Some(status) = status.map(str::trim).filter(|s| !s.is_empty()) else {
        return (None, text.map(str::to_owned));
    };
    if let Ok(code) = status.parse::<u8>() {
        let word = STATUS_WORDS
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("unknown", |(_, w)| w);
        return (Some(status.to_owned()), Some(word.to_owned()));
    }
    match STATUS_WORDS.iter().find(|(_, w)| *w == status) {
        Some((code, word)) => (Some(code.to_string()), Some((*word).to_owned())),
        None => (None, Some(status.to_owned())),
    }
}

/// A cell a spreadsheet would take for a formula gets a leading `'`; numbers stay as they are.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}
