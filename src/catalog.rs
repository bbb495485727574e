//! What the billing sells, read through the client: every tariff of an item type with its
//! prices per period, and one tariff's order form. [`CatalogReader`] lists each item type's
//! tariffs at most once; `catalog`, `init` and `validate --online` share it. Rendering is
//! [`crate::report::catalog`].

use std::collections::HashMap;

use crate::api::{ApiError, BillingClient, Choice, ErrorKind, OrderForm, Tariff};
use crate::failure::CmdError;
use crate::money::Money;

/// One price of a tariff: the period as sent on the wire, its label and the price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRow {
    /// Period value (`1`, `12`, `-100`; bm4: a period id).
    pub period: String,
    /// Readable period (`1 month`, `trial`).
    pub label: String,
    /// The price of that period.
    pub price: Money,
}

/// One tariff as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffRow {
    /// The tariff as the billing listed it.
    pub tariff: Tariff,
    /// Prices per period (from the list, else from the tariff's order form).
    pub prices: Vec<PriceRow>,
}

/// The result of looking a tariff up.
#[derive(Debug)]
pub enum Lookup {
    /// The tariff exists; its order form.
    Found(OrderForm),
    /// No such tariff of that type; what is offered instead.
    Unknown(Vec<Tariff>),
}

/// Reads tariffs and order forms, listing each item type's tariffs at most once.
pub struct CatalogReader<'a> {
    client: &'a BillingClient,
    lists: HashMap<String, Vec<Tariff>>,
}

impl<'a> CatalogReader<'a> {
    /// A reader over a connected client.
    pub fn new(client: &'a BillingClient) -> Self {
        Self {
            client,
            lists: HashMap::new(),
        }
    }

    /// The tariffs of an item type, as the billing lists them.
    pub async fn tariffs(&mut self, kind: &str) -> Result<&[Tariff], ApiError> {
        if !self.lists.contains_key(kind) {
            let list = match self.client.pricelists(kind).await {
                Ok(list) => list,
                // Neither list function exists for this type: the billing sells none of it.
                Err(e) if unknown_function(&e) => Vec::new(),
                Err(e) => return Err(e),
            };
            self.lists.insert(kind.to_owned(), list);
        }
        Ok(self.lists.get(kind).map_or(&[], Vec::as_slice))
    }

    /// The order form of tariff `id` of `kind`, or what is offered when there is no such tariff.
    pub async fn lookup(&mut self, kind: &str, id: &str) -> Result<Lookup, ApiError> {
        let client = self.client;
        let tariffs = self.tariffs(kind).await?.to_vec();
        if !tariffs.is_empty() && !tariffs.iter().any(|t| t.id == id) {
            return Ok(Lookup::Unknown(tariffs));
        }
        match client.order_form(kind, id).await {
            Ok(form) => Ok(Lookup::Found(form)),
            Err(e) if refuses_tariff(&e) || unknown_function(&e) => Ok(Lookup::Unknown(tariffs)),
            Err(e) => Err(e),
        }
    }

    /// The order form and name of tariff `id` of `kind`; an unknown tariff is bad input whose
    /// message lists what is offered.
    pub async fn tariff(
        &mut self,
        kind: &str,
        id: &str,
    ) -> Result<(OrderForm, Option<String>), CmdError> {
        let form = match self.lookup(kind, id).await? {
            Lookup::Found(form) => form,
            Lookup::Unknown(offered) => {
                return Err(CmdError::bad_input(format!(
                    "the billing sells no {kind} tariff with id `{id}`; {kind} tariffs: {}",
                    offered_tariffs(&offered)
                )));
            }
        };
        let name = self
            .tariffs(kind)
            .await?
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone());
        Ok((form, name))
    }

    /// Every tariff of `kind` with prices; tariffs listed without prices (the `<type>.order`
    /// fallback) get them from their order form's periods.
    pub async fn priced(&mut self, kind: &str) -> Result<Vec<TariffRow>, ApiError> {
        let client = self.client;
        let tariffs = self.tariffs(kind).await?.to_vec();
        let mut rows = Vec::with_capacity(tariffs.len());
        for mut tariff in tariffs {
            let mut prices: Vec<PriceRow> = tariff
                .prices
                .iter()
                .map(|(period, price)| PriceRow {
                    label: period_label(period),
                    period: period.clone(),
                    price: price.clone(),
                })
                .collect();
            if prices.is_empty() {
                match client.order_form(kind, &tariff.id).await {
                    Ok(form) => {
                        prices = form_prices(&form);
                        if tariff.datacenters.is_empty() {
                            tariff.datacenters = pairs(&form.datacenters);
                        }
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => tracing::warn!("cannot read the prices of tariff {}: {e}", tariff.id),
                }
            }
            rows.push(TariffRow { tariff, prices });
        }
        Ok(rows)
    }
}

/// An answer refusing the tariff id itself (`pricelist`/`price` has an invalid value), or
/// the order function of an item type the billing does not sell.
fn refuses_tariff(e: &ApiError) -> bool {
    match &e.kind {
        ErrorKind::InvalidValue { object } | ErrorKind::Missing { object } => {
            matches!(object.as_str(), "pricelist" | "price" | "elid")
        }
        _ => false,
    }
}

/// An answer meaning "no such function" (type `missed`, object `func`).
fn unknown_function(e: &ApiError) -> bool {
    match &e.kind {
        ErrorKind::Missing { object } | ErrorKind::InvalidValue { object } => object == "func",
        ErrorKind::Refused { kind, object } => kind.contains("missed") || object == "func",
        _ => false,
    }
}

/// Prices per period from an order form: each period option's `cost`, in the form's currency.
pub fn form_prices(form: &OrderForm) -> Vec<PriceRow> {
    let currency = form
        .total
        .as_ref()
        .map(|m| m.currency.clone())
        .unwrap_or_default();
    form.periods
        .iter()
        .filter_map(|p| {
            let mut price = p.cost.clone()?;
            if price.currency.is_empty() {
                price.currency.clone_from(&currency);
            }
            Some(PriceRow {
                period: p.key.clone(),
                label: p.label.clone(),
                price,
            })
        })
        .collect()
}

/// `(key, label)` pairs of option values.
fn pairs(choices: &[Choice]) -> Vec<(String, String)> {
    choices
        .iter()
        .map(|c| (c.key.clone(), c.label.clone()))
        .collect()
}

/// A readable label of a period in months (`1 month`, `12 months`, `trial` for `-100`).
pub fn period_label(period: &str) -> String {
    match period.trim().parse::<i64>() {
        Ok(1) => "1 month".to_owned(),
        Ok(n) if n > 1 => format!("{n} months"),
        Ok(-100) => "trial".to_owned(),
        _ => format!("period {period}"),
    }
}

/// "id (name), id (name), …" of the offered tariffs, for hints.
pub fn offered_tariffs(tariffs: &[Tariff]) -> String {
    if tariffs.is_empty() {
        return "none".to_owned();
    }
    tariffs
        .iter()
        .map(|t| format!("{} ({})", t.id, t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_prices_take_the_form_currency() {
        let form = OrderForm {
            periods: vec![
                Choice {
                    key: "1".into(),
                    label: "1 month".into(),
                    cost: Some(Money::new(500, "")),
                },
                Choice {
                    key: "12".into(),
                    label: "1 year".into(),
                    cost: None,
                },
            ],
            total: Some(Money::new(500, "EUR")),
            ..OrderForm::default()
        };
        let prices = form_prices(&form);
        assert_eq!(prices.len(), 1);
        assert_eq!(prices[0].period, "1");
        assert_eq!(prices[0].label, "1 month");
        assert_eq!(prices[0].price, Money::new(500, "EUR"));
    }

    #[test]
    fn period_labels() {
        assert_eq!(period_label("1"), "1 month");
        assert_eq!(period_label("12"), "12 months");
        assert_eq!(period_label("-100"), "trial");
        assert_eq!(period_label("x"), "period x");
    }

    #[test]
    fn offered_tariffs_hint() {
        let t = |id: &str, name: &str| Tariff {
            id: id.into(),
            name: name.into(),
            ..Tariff::default()
        };
        assert_eq!(
            offered_tariffs(&[t("6", "VDS Start"), t("8", "Promo")]),
            "6 (VDS Start), 8 (Promo)"
        );
        assert_eq!(offered_tariffs(&[]), "none");
    }
}
