//! The budget guard: what a run would cost (as far as the billing priced it) against
//! `execution.max_spend` and the balance. Pure; the one guard every paid command uses.

use std::collections::HashMap;

use crate::manifest::{Dialect, Manifest, Payment};
use crate::money::Money;

/// What a paid run (orders, renewals) would cost, as far as the billing priced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// Paid calls to make (servers to order, services to renew).
    pub count: usize,
    /// Their total, `None` when some group has no price.
    pub total: Option<Money>,
    /// The part paid from the balance at once, `None` when some such group has no price.
    pub from_balance: Option<Money>,
}

impl Estimate {
    /// A renewal of `count` services costing `total` (`None`: some renewal has no price),
    /// all paid from the balance at once.
    pub fn renewal(count: usize, total: Option<Money>) -> Self {
        Self {
            count,
            from_balance: total.clone(),
            total,
        }
    }
}

/// Adds up the unit prices of the servers to order (`per_group`: group position → count).
pub fn estimate(
    manifest: &Manifest,
    per_group: &HashMap<usize, u64>,
    prices: &[Option<Money>],
) -> Estimate {
    let mut total = Some(Money::default());
    let mut from_balance = Some(Money::default());
    for (index, group) in manifest.groups().enumerate() {
        let Some(&n) = per_group.get(&index) else {
            continue;
        };
        let part = prices.get(index).cloned().flatten().map(|p| p.times(n));
        let add = |sum: Option<Money>| sum.zip(part.clone()).map(|(s, p)| s.plus(&p));
        total = add(total);
        if group.payment == Payment::Balance || manifest.billing.dialect == Dialect::Bm4 {
            from_balance = add(from_balance);
        }
    }
    Estimate {
        count: per_group.values().sum::<u64>() as usize,
        total,
        from_balance,
    }
}

/// The budget guard, the one every paid run passes before its first paid call: the estimate
/// against `execution.max_spend`, then the part paid at once against the balance. `Err`
/// says why nothing may be done; `nothing` ends it ("nothing was ordered", "nothing was
/// renewed"). `apply` calls it with [`estimate`], `prolong` with [`Estimate::renewal`].
pub fn guard(
    estimate: &Estimate,
    max_spend: Option<f64>,
    balance: &Money,
    nothing: &str,
) -> Result<(), String> {
    if estimate.count == 0 {
        return Ok(());
    }
    if let Some(max) = max_spend {
        match &estimate.total {
            None => {
                return Err(format!(
                    "execution.max_spend is {max}, but the billing stated no price for some \
                     servers, so the cost is unknown; {nothing}"
                ));
            }
            Some(total) if total.exceeds(max) => {
                return Err(format!(
                    "the estimated cost {} {} exceeds execution.max_spend {max}; {nothing}",
                    total.amount(),
                    total.currency
                ));
            }
            Some(_) => {}
        }
    }
    match &estimate.from_balance {
        Some(cost) if cost.value() > balance.value() => Err(format!(
            "the estimated cost {} {} exceeds the balance {} {}; {nothing}",
            cost.amount(),
            cost.currency,
            balance.amount(),
            balance.currency
        )),
        None => {
            tracing::warn!("the cost is unknown, so the balance cannot be checked before ordering");
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(count: usize, total: Option<i64>, from_balance: Option<i64>) -> Estimate {
        let eur = |c| Money::new(c, "EUR");
        Estimate {
            count,
            total: total.map(eur),
            from_balance: from_balance.map(eur),
        }
    }

    fn guard(e: &Estimate, max: Option<f64>, balance: &Money) -> Result<(), String> {
        super::guard(e, max, balance, "nothing was ordered")
    }

    #[test]
    fn renewals_are_paid_from_the_balance() {
        let balance = Money::new(1_000, "EUR");
        let r = Estimate::renewal(2, Some(Money::new(1_001, "EUR")));
        let refused = super::guard(&r, None, &balance, "nothing was renewed").unwrap_err();
        assert!(refused.ends_with("nothing was renewed"), "{refused}");
        let unknown = super::guard(&Estimate::renewal(2, None), Some(5.0), &balance, "-");
        assert!(unknown.is_err());
    }

    #[test]
    fn budget_guard() {
        let balance = Money::new(10_000, "EUR");
        assert!(guard(&estimate(2, Some(5_000), Some(5_000)), Some(50.0), &balance).is_ok());
        let over = guard(&estimate(2, Some(5_001), Some(5_001)), Some(50.0), &balance);
        assert!(
            over.unwrap_err()
                .contains("50.01 EUR exceeds execution.max_spend 50")
        );
        let unknown = guard(&estimate(2, None, None), Some(50.0), &balance);
        assert!(unknown.unwrap_err().contains("unknown"));
        assert!(guard(&estimate(2, None, None), None, &balance).is_ok());
        let poor = guard(&estimate(2, Some(10_001), Some(10_001)), None, &balance);
        assert!(poor.unwrap_err().contains("exceeds the balance 100.00 EUR"));
        // Orders left in the basket are not paid from the balance now.
        assert!(guard(&estimate(2, Some(10_001), Some(0)), None, &balance).is_ok());
        assert!(guard(&estimate(0, None, None), Some(0.0), &balance).is_ok());
    }
}
