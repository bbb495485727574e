//! `billfleet catalog`: what the billing sells. Without `--pricelist` every tariff of an item
//! type with its prices per period and datacenters; with it, one tariff's order form: addons
//! with ranges and unit prices, enums, OS templates, recipes, periods, datacenters.
//!
//! Reading is [`crate::catalog`] (shared with `init` and `validate --online`), rendering
//! [`crate::report::catalog`]; this file parses the flags and glues the two.

use super::connect::connect_bare;
use super::{CmdError, CmdResult};
use crate::catalog::CatalogReader;
use crate::cli::{CatalogArgs, OutputFormat};
use crate::exit;
use crate::manifest::Dialect;
use crate::report::catalog::{self, Detail, View};

/// Reads `--dialect`: `bm4`, `bm5` or `bm6`.
pub(super) fn parse_dialect(text: &str) -> Result<Dialect, CmdError> {
    text.parse().map_err(CmdError::bad_input)
}

/// `billfleet catalog`.
pub async fn run(args: &CatalogArgs) -> CmdResult {
    let dialect = parse_dialect(&args.dialect)?;
    let kind = args.kind.trim();
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CmdError::bad_input(format!(
            "`--type {kind}` is not an item type of the billing (vds, vhost, dedic, soft, ...)"
        )));
    }
    let conn = connect_bare(&args.billing, dialect).await?;
    let written = show(&conn.client, kind, args).await;
    conn.client.logout().await;
    written?.map_err(|e| CmdError::aborted(format!("cannot write the catalog: {e}")))?;
    Ok(exit::OK)
}

/// Reads what is asked for and prints it: the tariff list, or one tariff's order form.
async fn show(
    client: &crate::api::BillingClient,
    kind: &str,
    args: &CatalogArgs,
) -> Result<std::io::Result<()>, CmdError> {
    let mut reader = CatalogReader::new(client);
    let json = args.output == OutputFormat::Json;
    Ok(match &args.pricelist {
        None => {
            let rows = reader.priced(kind).await?;
            catalog::print(&View::List { kind, rows: &rows }, json)
        }
        Some(id) => {
            let id = id.trim();
            let (form, name) = reader.tariff(kind, id).await?;
            let detail = Detail {
                kind,
                id,
                name: name.as_deref(),
                form: &form,
            };
            catalog::print(&View::Detail(detail), json)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects() {
        assert_eq!(parse_dialect(" BM4 ").unwrap(), Dialect::Bm4);
        assert_eq!(parse_dialect("bm6").unwrap(), Dialect::Bm6);
        let e = parse_dialect("bm7").unwrap_err();
        assert_eq!(e.code, exit::BAD_INPUT);
    }
}
