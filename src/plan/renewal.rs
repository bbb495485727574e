//! Renewal pricing for `prolong` (pure): which services can be renewed and what the billing's
//! previews add up to ([`total`]). Whether that is within `execution.max_spend` and the
//! balance is the one budget guard's business ([`super::budget::guard`] with
//! [`super::budget::Estimate::renewal`]).

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

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: &str) -> Money {
        Money::parse(&format!("{amount} EUR")).expect("an amount")
    }

    #[test]
    fn totals_and_the_one_guard() {
        let (a, b) = (eur("10"), eur("2.50"));
        let sum = total([Some(&a), Some(&b)]).expect("both priced");
        assert_eq!(sum.value(), eur("12.50").value());
        assert!(total([Some(&a), None]).is_none());
        let guard = |total: Option<&Money>, max: Option<f64>, balance: &str| {
            let estimate = crate::plan::budget::Estimate::renewal(2, total.cloned());
            crate::plan::budget::guard(&estimate, max, &eur(balance), "nothing was renewed")
        };
        assert!(guard(Some(&sum), Some(12.0), "100").is_err());
        assert!(guard(Some(&sum), Some(20.0), "100").is_ok());
        assert!(guard(None, Some(20.0), "100").is_err());
        assert!(guard(None, None, "100").is_ok());
        assert!(guard(Some(&sum), None, "12").is_err());
        assert!(guard(Some(&sum), None, "12.50").is_ok());
    }
}
