//! What the lifecycle commands (`prolong`, `edit`, `suspend`, `resume`, `destroy`) show and
//! write: report rows of fleet members ([`member_row`], [`settle`]), the list `destroy`
//! deletes, the diff `edit` pushes, the renewal `prolong` buys, the confirmation questions,
//! the closing report, summary and JSON result ([`finish`]) and the exit code ([`exit_code`]).

use std::io::Write;
use std::path::Path;

use crate::api::ProlongInfo;
use crate::executor::{JobResult, Outcome};
use crate::exit;
use crate::money::Money;
use crate::plan::Diff;
use crate::plan::fleet::Member;
use crate::report::{ReportRow, RowOutcome, Summary};

/// A report row with the member's identity, service and state filled in.
pub fn member_row(member: &Member, outcome: RowOutcome) -> ReportRow {
    let mut row = ReportRow::new(member.group.as_ref(), member.seq, member.domain(), outcome);
    row.remoteid = Some(member.key.clone());
    row.status = Some(member.state_word().to_owned());
    if let Some(s) = member.service() {
        row.service_id = Some(s.id.clone());
        row.ip.clone_from(&s.ip);
        row.expiredate.clone_from(&s.expiredate);
    }
    if let Some(declared) = &member.declared_domain
        && !declared.eq_ignore_ascii_case(member.domain())
    {
        row.original_domain = Some(declared.clone());
    }
    row
}

/// Fills a row from a job result: attempts, duration, and on failure the error; a skipped
/// job gives a `skipped` row.
pub fn settle<O>(row: &mut ReportRow, result: &JobResult<O>) {
    row.attempts += result.attempts;
    let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
    row.duration_ms = Some(row.duration_ms.unwrap_or(0).saturating_add(ms));
    match &result.outcome {
        Outcome::Done(_) => {}
        Outcome::Failed { error, .. } => {
            row.outcome = RowOutcome::Failed;
            row.error = Some(error.clone());
        }
        Outcome::Skipped { .. } => row.outcome = RowOutcome::Skipped,
    }
}

/// Writes the report, prints the summary and the report's path, and with `json` the result
/// object on stdout.
pub fn finish(
    path: &Path,
    rows: &[ReportRow],
    summary: &Summary,
    json: bool,
) -> Result<(), String> {
    super::write_report(path, rows).map_err(|e| e.to_string())?;
    summary.print();
    super::eprint_line(&format!("report: {}", path.display()));
    if json {
        super::result_json(rows, summary, path)
            .map_err(|e| format!("cannot write the result: {e}"))?;
    }
    Ok(())
}

/// 3 when the run was stopped (fatal error, Ctrl-C), 1 when a row failed, else 0.
pub fn exit_code(rows: &[ReportRow], stopped: bool) -> u8 {
    if stopped {
        exit::ABORTED
    } else if rows.iter().any(|r| r.outcome == RowOutcome::Failed) {
        exit::SOME_FAILED
    } else {
        exit::OK
    }
}

/// The question before a list action (`suspend`, `resume`, `destroy`) on `n` services.
pub fn act_question(verb: &str, n: usize) -> String {
    format!(
        "{verb}: {} of this fleet (no cost or refund is known). Go ahead?",
        super::plural(n, "service")
    )
}

/// `destroy` shows what it will delete before asking (stdout).
pub fn print_doomed(targets: &[&Member]) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(super::stdout());
    let mut write = || -> std::io::Result<()> {
        let n = targets.len();
        let verb = if n == 1 { "is" } else { "are" };
        let doomed = super::plural(n, "service");
        writeln!(out, "destroy: {doomed} {verb} to be deleted:")?;
        for m in targets {
            let id = m.service().map_or("-", |s| s.id.as_str());
            writeln!(out, "  {id}  {}  {}", m.domain(), m.key)?;
        }
        out.flush()
    };
    write().map_err(|e| format!("cannot write the list: {e}"))
}

/// The question before `edit` pushes changes to `n` services, with what they add to one
/// period's price where the billing stated it.
pub fn edit_question(n: usize, price_changes: &[Option<Money>]) -> String {
    let known: Vec<&Money> = price_changes.iter().flatten().collect();
    let unknown = price_changes.len() - known.len();
    let total = known.iter().fold(None::<Money>, |t, m| {
        Some(t.map_or_else(|| (*m).clone(), |t| t.plus(m)))
    });
    let money = super::plan::price_change_text(total.as_ref());
    let cost = match (total.is_some(), unknown) {
        (true, 0) | (false, _) => money,
        (true, n) => format!("{money}, {n} unknown"),
    };
    format!("Edit {} ({cost})?", super::plural(n, "service"))
}

/// `edit`'s plan on stdout: one line per changed field, notes, and a count.
pub fn print_edit_plan(planned: &[(&Member, Diff)]) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(super::stdout());
    let mut write = || -> std::io::Result<()> {
        for (member, diff) in planned {
            let id = member.service().map_or("-", |s| s.id.as_str());
            for change in &diff.changes {
                let old = change.from.as_deref().unwrap_or("(none)");
                writeln!(
                    out,
                    "{} (id {id}, {}): {}: {old} → {}",
                    member.key,
                    member.domain(),
                    change.field,
                    change.to
                )?;
            }
            for note in &diff.notes() {
                writeln!(out, "{} (id {id}): note: {note}", member.key)?;
            }
        }
        let changed = planned
            .iter()
            .filter(|(_, d)| !d.changes.is_empty())
            .count();
        writeln!(
            out,
            "edit: {changed} to change, {} unchanged",
            planned.len() - changed
        )?;
        out.flush()
    };
    write().map_err(|e| format!("cannot write the plan: {e}"))
}

/// Fills the row of a renewed service: `prolonged`, the previewed cost, the job's attempts
/// and error, and the new expiry (the billing's answer, else the preview's).
pub fn renewed(row: &mut ReportRow, quote: &ProlongInfo, result: &JobResult<ProlongInfo>) {
    row.outcome = RowOutcome::Prolonged;
    row.cost = quote.cost.as_ref().map(Money::amount);
    settle(row, result);
    if let Outcome::Done(done) = &result.outcome {
        row.expiredate = done
            .new_expiredate
            .clone()
            .or_else(|| quote.new_expiredate.clone())
            .or_else(|| row.expiredate.clone());
    }
}

/// Announces a renewal on stderr and returns the question to ask before it.
pub fn announce_renewal(services: usize, months: u32, total: Option<&Money>) -> String {
    let cost = total.map_or_else(|| "unknown".to_owned(), ToString::to_string);
    let services = super::plural(services, "service");
    let months = super::plural(months as usize, "month");
    super::eprint_line(&format!("prolong: {services} by {months}, total {cost}"));
    format!("Renew {services} for {months} at {cost}?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Service;
    use crate::plan::fleet::Found;

    #[test]
    fn edit_question_states_the_price_change() {
        let eur = |c| Some(Money::from_cents(c, "EUR"));
        assert_eq!(
            edit_question(2, &[eur(250), eur(250)]),
            "Edit 2 services (+5.00 EUR/period)?"
        );
        assert_eq!(
            edit_question(2, &[eur(-100), None]),
            "Edit 2 services (-1.00 EUR/period, 1 unknown)?"
        );
        assert_eq!(
            edit_question(1, &[None]),
            "Edit 1 service (price change unknown)?"
        );
    }

    #[test]
    fn a_moved_member_keeps_its_declared_domain() {
        let member = Member {
            group: "web".into(),
            seq: 1,
            key: "web-1".into(),
            declared_domain: Some("web-001.example.com".into()),
            item_type: "vds".into(),
            found: Found::Own(Service {
                id: "7".into(),
                domain: Some("web-004.example.com".into()),
                status: 2,
                ..Service::default()
            }),
        };
        let row = member_row(&member, RowOutcome::Unchanged);
        assert_eq!(row.domain, "web-004.example.com");
        assert_eq!(row.original_domain.as_deref(), Some("web-001.example.com"));
        assert_eq!(row.service_id.as_deref(), Some("7"));
        assert_eq!(row.status.as_deref(), Some("active"));
    }

    #[test]
    fn exit_codes_from_rows() {
        let ok = ReportRow::new("web", 1, "a", RowOutcome::Deleted);
        let failed = ReportRow::new("web", 2, "b", RowOutcome::Failed);
        assert_eq!(exit_code(std::slice::from_ref(&ok), false), exit::OK);
        assert_eq!(exit_code(&[ok.clone(), failed], false), exit::SOME_FAILED);
        assert_eq!(exit_code(&[ok], true), exit::ABORTED);
    }
}
