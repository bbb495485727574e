//! The typed calls the executor and commands use, built on [`BillingClient::call`]; the
//! service lists are read in [`super::listing`].

use super::catalog;
use super::client::{BillingClient, CallKind};
use super::doc::Node;
use super::error::{ApiError, ErrorKind};
use super::types::{
    Account, EditForm, LicenseInfo, OrderAck, OrderForm, ProlongInfo, Quote, Tariff,
};
use crate::money::Money;
use crate::protocol::Dialect;

/// A list action on services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `<type>.suspend`
    Suspend,
    /// `<type>.resume`
    Resume,
    /// `<type>.delete`
    Delete,
}

impl Action {
    /// The function suffix (`suspend`, `resume`, `delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Delete => "delete",
        }
    }
}

impl BillingClient {
    /// The account's name and balance (`func=whoami`).
    pub async fn whoami(&self) -> Result<Account, ApiError> {
        let doc = self.call("whoami", &[], CallKind::Read).await?;
        let user = doc.find("user");
        let field = |name: &str| {
            user.and_then(|u| u.value(name))
                .or_else(|| doc.value(name))
                .map(str::to_owned)
        };
        let balance_text = field("balance").ok_or_else(|| {
            ApiError::new(ErrorKind::Protocol, "whoami", true, false)
                .with_detail("no balance in the whoami answer")
        })?;
        let mut balance = Money::parse(&balance_text).ok_or_else(|| {
            ApiError::new(ErrorKind::Protocol, "whoami", true, false)
                .with_detail(format!("unreadable balance '{balance_text}'"))
        })?;
        if balance.currency.is_empty() {
            balance.currency = field("currency").unwrap_or_default();
        }
        let name = field("name")
            .or_else(|| field("realname"))
            .or_else(|| user.and_then(Node::text).map(str::to_owned));
        Ok(Account { name, balance })
    }

    /// The price preview: the order form `func` with `params`, without `sok`.
    pub async fn quote(&self, func: &str, params: &[(&str, &str)]) -> Result<Quote, ApiError> {
        let params: Vec<(&str, &str)> = params
            .iter()
            .copied()
            .filter(|(k, _)| *k != "sok")
            .collect();
        let doc = self.call(func, &params, CallKind::Read).await?;
        Ok(Quote::from_doc(&doc))
    }

    /// Submits an order (adds `sok=ok` unless given). Ids in the answer may be absent.
    pub async fn order(&self, func: &str, params: &[(&str, &str)]) -> Result<OrderAck, ApiError> {
        let mut params = params.to_vec();
        if !params.iter().any(|(k, _)| *k == "sok") {
            params.push(("sok", "ok"));
        }
        let doc = self.call(func, &params, CallKind::Write).await?;
        Ok(OrderAck::from_doc(&doc))
    }

    /// What renewing service `id` for `period` would cost and until when (nothing is charged).
    pub async fn prolong_quote(&self, id: &str, period: u32) -> Result<ProlongInfo, ApiError> {
        let period = period.to_string();
        let params = [("elid", id), ("period", period.as_str())];
        let doc = self
            .call("service.prolong", &params, CallKind::Read)
            .await?;
        Ok(ProlongInfo::from_doc(&doc))
    }

    /// Renews service `id` for `period`, paid from the balance at once.
    pub async fn prolong(&self, id: &str, period: u32) -> Result<ProlongInfo, ApiError> {
        let period = period.to_string();
        let params = [
            ("elid", id),
            ("period", period.as_str()),
            ("skipbasket", "on"),
            ("sok", "ok"),
        ];
        let doc = self
            .call("service.prolong", &params, CallKind::Write)
            .await?;
        Ok(ProlongInfo::from_doc(&doc))
    }

    /// Submits `<type>.edit` for service `id` with `params`.
    pub async fn edit(
        &self,
        item_type: &str,
        id: &str,
        params: &[(&str, &str)],
    ) -> Result<(), ApiError> {
        let mut all = vec![("elid", id)];
        all.extend(
            params
                .iter()
                .copied()
                .filter(|(k, _)| *k != "sok" && *k != "elid"),
        );
        all.push(("sok", "ok"));
        self.call(&format!("{item_type}.edit"), &all, CallKind::Write)
            .await?;
        Ok(())
    }

    /// The current values of service `id`'s edit form (addons, autoprolong, …).
    pub async fn edit_form(&self, item_type: &str, id: &str) -> Result<EditForm, ApiError> {
        let doc = self
            .call(
                &format!("{item_type}.edit"),
                &[("elid", id)],
                CallKind::Read,
            )
            .await?;
        Ok(EditForm::from_doc(&doc))
    }

    /// The price preview of an edit: `<type>.edit elid=ID` with the changed `params` and
    /// without `sok` (nothing changes). See [`super::price`] for how the price is read.
    pub async fn edit_quote(
        &self,
        item_type: &str,
        id: &str,
        params: &[(&str, &str)],
    ) -> Result<EditForm, ApiError> {
        let mut all = vec![("elid", id)];
        all.extend(
            params
                .iter()
                .copied()
                .filter(|(k, _)| !matches!(*k, "sok" | "elid" | "skipbasket")),
        );
        let doc = self
            .call(&format!("{item_type}.edit"), &all, CallKind::Read)
            .await?;
        Ok(EditForm::from_doc(&doc))
    }

    /// A license's key and expiry from its edit form (`<type>.edit elid=ID`, read only).
    pub async fn license_info(&self, item_type: &str, id: &str) -> Result<LicenseInfo, ApiError> {
        let func = format!("{item_type}.edit");
        let doc = self.call(&func, &[("elid", id)], CallKind::Read).await?;
        Ok(LicenseInfo::from_doc(&doc))
    }

    /// Suspends, resumes or deletes services in one call (`elid=1, 2`).
    pub async fn act(&self, item_type: &str, action: Action, ids: &[&str]) -> Result<(), ApiError> {
        let elid = ids.join(", ");
        let func = format!("{item_type}.{}", action.as_str());
        let params = [("elid", elid.as_str()), ("sok", "ok")];
        self.call(&func, &params, CallKind::Write).await?;
        Ok(())
    }

    /// The tariffs on sale: `v2.<type>.order.pricelist`, else the `<type>.order` form's list.
    pub async fn pricelists(&self, item_type: &str) -> Result<Vec<Tariff>, ApiError> {
        let func = format!("v2.{item_type}.order.pricelist");
        match self.call(&func, &[], CallKind::Read).await {
            Ok(doc) => Ok(catalog::tariffs_from_pricelist(&doc)),
            Err(e) if unknown_function(&e) => {
                tracing::debug!(func, error = %e, "no pricelist function; reading the order form");
                let doc = self
                    .call(&format!("{item_type}.order"), &[], CallKind::Read)
                    .await?;
                Ok(catalog::tariffs_from_order_slist(&doc))
            }
            Err(e) => Err(e),
        }
    }

    /// The order form of one tariff: addons, enums, OS templates, recipes, periods, price.
    pub async fn order_form(
        &self,
        item_type: &str,
        pricelist: &str,
    ) -> Result<OrderForm, ApiError> {
        let (func, key) = match self.inner.opts.dialect {
            Dialect::Bm4 => (format!("{item_type}.order.7"), "price"),
            Dialect::Bm5 => (format!("{item_type}.order.param"), "pricelist"),
            Dialect::Bm6 => (format!("v2.{item_type}.order.param"), "pricelist"),
        };
        let doc = self
            .call(&func, &[(key, pricelist)], CallKind::Read)
            .await?;
        Ok(catalog::order_form(&doc))
    }
}

/// An answer meaning "no such function" (type `missed`/`func` or similar).
pub(super) fn unknown_function(e: &ApiError) -> bool {
    match &e.kind {
        ErrorKind::Missing { .. } => true,
        ErrorKind::InvalidValue { object } => object == "func",
        ErrorKind::Refused { kind, object } => {
            kind.contains("func") || kind.contains("missed") || object == "func"
        }
        _ => false,
    }
}
