//! Reading the price a form states: `total_summary`, `pricelist_summary`, `orderinfo`, or a
//! plain `total`/`cost`.
//!
//! **Edit previews (an unconfirmed assumption).** An order form submitted without `sok` only
//! shows the form with the price of what was submitted; billfleet assumes `<type>.edit` does
//! the same: `<type>.edit elid=ID addon_N=V` without `sok` answers the form (the current
//! values, nothing changed) stating one period's price of the service *with the submitted
//! values*, in any of the shapes above. The change's price is then that total minus the total
//! the plain edit form (`elid` only) states, see [`price_change`]. ISPsystem's public docs
//! ("Service management via API" for BILLmanager 5/6; the generic `<type>.edit` reference,
//! e.g. `paidsupport.edit`: "simultaneously used to view object's parameters, to change an
//! object") document `skipbasket=on` for edits but name no cost field of the edit form, so
//! when either answer states no price the change's price is *unknown* — never zero, never an
//! error.

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

/// The price of an edit: the `after` total minus the `before` total, when both are known and
/// in the same currency (an empty currency takes the other's).
pub fn price_change(before: Option<&Money>, after: Option<&Money>) -> Option<Money> {
    let (before, after) = (before?, after?);
    let currency = match (before.currency.as_str(), after.currency.as_str()) {
        (b, a) if b == a || b.is_empty() => a,
        (b, "") => b,
        _ => return None,
    };
    let change = after.value().checked_sub(before.value())?;
    Some(Money::from_decimal(change, currency))
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

    #[test]
    fn price_change_needs_both_totals_in_one_currency() {
        let eur = |c| Money::from_cents(c, "EUR");
        let up = price_change(Some(&eur(1000)), Some(&eur(1250))).unwrap();
        assert_eq!((up.cents(), up.currency.as_str()), (250, "EUR"));
        let down = price_change(Some(&Money::from_cents(1000, "")), Some(&eur(800))).unwrap();
        assert_eq!((down.cents(), down.currency.as_str()), (-200, "EUR"));
        assert_eq!(price_change(None, Some(&eur(1))), None);
        assert_eq!(price_change(Some(&eur(1)), None), None);
        assert_eq!(
            price_change(Some(&eur(1)), Some(&Money::from_cents(2, "USD"))),
            None
        );
    }
}
