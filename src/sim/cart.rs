//! Unpaid orders and BILLmanager 6's new cart.
//!
//! An order without `skipbasket=on` is not charged and waits, with status 1, in one of three
//! places: the new cart (`clicked_button=order` or `force_use_new_cart=on`, ISPsystem's "New
//! order API"), the web interface's Dragon cart (`theme=dragon` with the `ISP-Client:
//! Web-interface` header, "Service management via API"), else the old basket. `func=cart`
//! shows the new cart the way a public BILLmanager 6 connector reads it: `doc.total.cost`,
//! `doc.total.currency`, `doc.total.count` and `list[$name=lineitems]`; with
//! `clicked_button=delete&id=<lineitem>&sok=ok` it removes an item. Paying the new cart through
//! the API is not documented publicly; the simulator does not offer it.

use super::doc::{self, ApiError, Node};
use super::funcs::{Call, Reply};
use super::http::{ISP_CLIENT, Params};

/// Where an unpaid order of these parameters waits.
pub(crate) fn which_cart(p: &Params) -> &'static str {
    if p.get("clicked_button") == Some("order") || p.is_on("force_use_new_cart") {
        "cart"
    } else if p.get("theme") == Some("dragon") && p.get(ISP_CLIENT) == Some("Web-interface") {
        "dragon"
    } else {
        "basket"
    }
}

/// `func=cart`: the account's new cart; `clicked_button=delete` with `sok` removes an item.
pub(crate) fn cart(call: &mut Call<'_>, account: &str) -> Result<Reply, ApiError> {
    if call.params.non_empty("sok").is_some() && call.params.get("clicked_button") == Some("delete")
    {
        let raw = call.params.get("id").unwrap_or("");
        let item = raw
            .parse::<u64>()
            .ok()
            .and_then(|id| call.core.state.services.get_mut(&id))
            .filter(|s| s.account == account && s.cart.as_deref() == Some("cart"))
            .ok_or_else(|| ApiError::missed("id", raw))?;
        item.status = 4;
        item.cart = None;
        call.core.dirty = true;
        return Ok(Reply::Doc(Node::doc().child(Node::new("ok"))));
    }
    let currency = call.config.currency.clone();
    let mut items = Node::new("list").attr("name", "lineitems");
    let (mut total, mut count) = (0i64, 0usize);
    let waiting = call
        .core
        .state
        .services
        .values()
        .filter(|s| s.account == account && s.status == 1 && s.cart.as_deref() == Some("cart"));
    for s in waiting {
        total += s.cost_cents;
        count += 1;
        items.push(
            Node::new("elem")
                .field("id", s.id.to_string())
                .field("item.id", s.id.to_string())
                .field("itemtype", &s.item_type)
                .field("pricelist", s.pricelist.to_string())
                .field("domain", &s.domain)
                .field("cost", doc::cents(s.cost_cents)),
        );
    }
    let summary = Node::new("total")
        .field("cost", doc::cents(total))
        .field("currency", currency)
        .field("count", count.to_string());
    Ok(Reply::Doc(Node::doc().child(summary).child(items)))
}
