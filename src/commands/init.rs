//! `billfleet init`: a commented, valid manifest for a tariff, read from its order form.
//! The writing is [`crate::manifest::scaffold`]; this file reads the tariff and says where
//! the manifest went.

use super::catalog::parse_dialect;
use super::connect::connect_bare;
use super::{CmdError, CmdResult};
use crate::catalog::CatalogReader;
use crate::cli::InitArgs;
use crate::exit;
use crate::manifest::scaffold::{
    InitSpec, check_generated, refuse_overwrite, render_manifest, write_file,
};

/// `billfleet init`.
pub async fn run(args: &InitArgs) -> CmdResult {
    let dialect = parse_dialect(&args.dialect)?;
    if let Some(path) = &args.output {
        refuse_overwrite(path, args.force)?;
    }
    let conn = connect_bare(&args.billing, dialect).await?;
    let kind = args.kind.trim();
    let id = args.pricelist.trim();
    let read = CatalogReader::new(&conn.client).tariff(kind, id).await;
    conn.client.logout().await;
    let (form, tariff_name) = read?;
    let file = args.output.as_ref().map(|p| p.display().to_string());
    let spec = InitSpec {
        dialect,
        kind,
        name: args.name.trim(),
        count: args.count,
        domain: &args.domain,
        pricelist: id,
        tariff_name: tariff_name.as_deref(),
        file: file.as_deref(),
    };
    let text = render_manifest(&spec, &form);
    check_generated(args.output.as_deref(), &text)?;
    match &args.output {
        Some(path) => {
            write_file(path, &text, args.force)?;
            crate::report::eprint_line(&format!(
                "wrote {0}; next: billfleet validate {0} --online, then billfleet plan {0}",
                path.display()
            ));
        }
        None => {
            crate::report::data::write(text.as_bytes())
                .map_err(|e| CmdError::aborted(format!("cannot write the manifest: {e}")))?;
        }
    }
    Ok(exit::OK)
}
