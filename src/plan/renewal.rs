//! Renewal budgeting for `prolong` (pure): which services can be renewed, what the billing's
//! previews add up to ([`total`]), and whether that total is within `execution.max_spend`
//! ([`within_limit`]) and the balance ([`within_balance`]). The command reads the balance
//! only when [`within_limit`] says it must be checked.

use crate::money::Money;

/// Statuses that can be renewed: active and suspended.
pub const RENEWABLE: [u8; 2] = [2, 3];

/// The sum of the previews' costs; `None` when one of them states no price.
pub fn total<'a>(costs: impl IntoIterator<Item = Option<&'a Money>>) -> Option<Money> {
    costs.into_iter().try_fold(Money::default(), |sum, cost| {
        let cost = cost?;
        let mut next = sum.plus(cost);
        if next.currency.is_empty() {
            next.currency.clone_from(&cost.currency);
        }
        Some(next)
    })
}

/// Checks `total` against `max_spend` (a plain amount of the account's currency). Refuses
/// when the total exceeds it, or cannot be known while a limit is set. Returns the total the
/// balance must cover: `None` when the total is unknown (nothing to compare).
pub fn within_limit(
    total: Option<&Money>,
    max_spend: Option<f64>,
) -> Result<Option<&Money>, String> {
    let Some(total) = total else {
        return match max_spend {
            Some(max) => Err(format!(
                "the billing states no price for some renewals; cannot check max_spend {max}"
            )),
            None => Ok(None),
        };
    };
    match max_spend {
        Some(max) if total.exceeds(max) => Err(format!(
            "budget guard: the renewal costs {total}, max_spend is {max}"
        )),
        _ => Ok(Some(total)),
    }
}

/// Refuses when the balance does not cover `total`.
pub fn within_balance(total: &Money, balance: &Money) -> Result<(), String> {
    if balance.value() < total.value() {
        return Err(format!(
            "insufficient balance: the renewal costs {total}, the balance is {balance}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: &str) -> Money {
        Money::parse(&format!("{amount} EUR")).expect("an amount")
    }

    #[test]
    fn totals_limits_and_balance() {
        let (a, b) = (eur("10"), eur("2.50"));
        let sum = total([Some(&a), Some(&b)]).expect("both priced");
        assert_eq!(sum.value(), eur("12.50").value());
        assert!(total([Some(&a), None]).is_none());
        assert!(within_limit(Some(&sum), Some(12.0)).is_err());
        assert!(within_limit(Some(&sum), Some(20.0)).is_ok_and(|t| t.is_some()));
        assert!(within_limit(None, Some(20.0)).is_err());
        assert!(within_limit(None, None).is_ok_and(|t| t.is_none()));
        assert!(within_balance(&sum, &eur("12")).is_err());
        assert!(within_balance(&sum, &eur("12.50")).is_ok());
    }
}
