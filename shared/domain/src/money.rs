//! Money as integer minor units of one ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 alphabetic code: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency must be a three-letter ISO 4217 code such as EUR, got {0:?}")]
    InvalidCurrency(String),
    #[error("cannot combine amounts in {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount is out of range")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(MoneyError::InvalidCurrency(code.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point of its minor unit (ISO 4217): 0 for
    /// JPY, 3 for KWD, 2 for most.
    pub fn exponent(&self) -> u32 {
        match self.0.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// `minor` units as a decimal amount in this currency, without the
    /// code: `81.75` for 8175 EUR cents, `8175` for 8175 yen, `-10.00`.
    pub fn amount(&self, minor: i64) -> String {
        let exponent = self.exponent();
        let sign = if minor < 0 { "-" } else { "" };
        let magnitude = minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{magnitude}");
        }
        let scale = 10u64.pow(exponent);
        let width = exponent as usize;
        format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale)
    }

    /// `minor` units with the code before them, as a reader expects money
    /// shown: `EUR 81.75`, `JPY 8175`.
    pub fn show(&self, minor: i64) -> String {
        format!("{} {}", self.0, self.amount(minor))
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A non-negative amount in minor units (cents) of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self { minor, currency })
    }

    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency.clone(),
                right: other.currency.clone(),
            });
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency.clone(),
        })
    }

    pub fn times(&self, quantity: u32) -> Result<Money, MoneyError> {
        let minor = self
            .minor
            .checked_mul(i64::from(quantity))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency.clone(),
        })
    }

    /// `rate_bps` basis points of this amount, rounded half up to a minor unit.
    pub fn percentage_bps(&self, rate_bps: u32) -> Result<Money, MoneyError> {
        let scaled = i128::from(self.minor) * i128::from(rate_bps) + 5_000;
        let minor = i64::try_from(scaled / 10_000).map_err(|_| MoneyError::Overflow)?;
        Ok(Money {
            minor,
            currency: self.currency.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
    }

    #[test]
    fn currency_accepts_only_three_upper_case_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn amounts_in_different_currencies_do_not_add() {
        let usd = Money::new(1, Currency::parse("USD").unwrap()).unwrap();
        assert!(matches!(
            eur(1).checked_add(&usd),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn negative_amounts_are_refused() {
        assert_eq!(
            Money::new(-1, Currency::parse("EUR").unwrap()),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn multiplication_overflow_is_an_error_not_a_wrap() {
        assert_eq!(eur(i64::MAX / 2).times(3), Err(MoneyError::Overflow));
    }

    #[test]
    fn money_reads_in_its_currencys_minor_unit() {
        let code = |c: &str| Currency::parse(c).unwrap();
        assert_eq!(code("EUR").show(8_175), "EUR 81.75");
        assert_eq!(code("JPY").show(8_175), "JPY 8175");
        assert_eq!(code("KWD").show(8_175), "KWD 8.175");
        assert_eq!(code("EUR").amount(5), "0.05");
        assert_eq!(code("EUR").amount(-1_000), "-10.00");
        assert_eq!(code("USD").amount(0), "0.00");
    }

    #[test]
    fn percentage_rounds_half_up_to_the_minor_unit() {
        assert_eq!(eur(1_000).percentage_bps(2_000).unwrap().minor, 200);
        assert_eq!(eur(5).percentage_bps(1_000).unwrap().minor, 1); // 0.5 -> 1
        assert_eq!(eur(4).percentage_bps(1_000).unwrap().minor, 0); // 0.4 -> 0
    }
}
