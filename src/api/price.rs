//! Reading the price a form states: `total_summary`, `pricelist_summary`, `orderinfo`, or a
//! plain `total`/`cost`.

use super::doc::{Doc, Node};
use crate::money::Money;

/// The total of a form and where it was read: `list[$name=total_summary]` (BILLmanager 6
/// v2 forms since 2024), else `list[$name=pricelist_summary]`, else "Total amount:" in
/// `orderinfo`, else `total`/`cost`. In a summary list the first row's
/// `cost.price.cost` is the total, as the public BILLmanager 6 front end
/// `Karantir-dev/billing-typescript` reads it (`DedicOrderPage.jsx`:
/// `list.find($name === 'total_summary').elem[0].cost.price.cost.$`, and the same path under
/// `pricelist_summary` in `dedicOperations.js`).
pub(crate) fn form_total(doc: &Doc) -> Option<(Money, &'static str)> {
    for name in ["total_summary", "pricelist_summary"] {
        if let Some(m) = summary_total(doc, name) {
            return Some((m, name));
        }
    }
    if let Some(m) = doc
        .find("orderinfo")
        .and_then(Node::text)
        .and_then(orderinfo_total)
    {
        return Some((m, "orderinfo"));
    }
    ["total", "cost"].iter().find_map(|name| {
        let node = doc.find(name)?;
        let mut money = Money::parse(node.text()?)?;
        if money.currency.is_empty() {
            money.currency = node
                .attr("currency")
                .or_else(|| doc.value("currency"))
                .unwrap_or_default()
                .to_owned();
        }
        Some((money, "total"))
    })
}

fn summary_total(doc: &Doc, name: &str) -> Option<Money> {
    let list = doc
        .children("list")
        .chain(doc.children("doc").flat_map(|d| d.children("list")))
        .find(|l| l.attr("name") == Some(name))?;
    let price = list.child("elem")?.child("cost")?.child("price")?;
    let mut money = Money::parse(price.value("cost")?)?;
    if money.currency.is_empty() {
        money.currency = price.value("currency").unwrap_or_default().to_owned();
    }
    Some(money)
}

/// Parses "… Total amount: 12.50 EUR" (the last such mention), tolerant of `<br/>` and tags.
pub(crate) fn orderinfo_total(text: &str) -> Option<Money> {
    let lower = text.to_ascii_lowercase();
    let at = lower.rfind("total amount:")?;
    let rest = &text[at + "total amount:".len()..];
    let end = rest.find(['<', '\n']).unwrap_or(rest.len());
    Money::parse(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orderinfo_total_is_read_from_text() {
        let m = orderinfo_total(
            "Order details<br/>Base price: 10.00 EUR<br/>Total amount: 12.50 EUR<br/>",
        )
        .unwrap();
        assert_eq!((m.cents(), m.currency.as_str()), (1250, "EUR"));
        assert_eq!(orderinfo_total("nothing here"), None);
    }
}
