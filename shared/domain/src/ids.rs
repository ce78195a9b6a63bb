//! Identifiers and small values that can only be built valid.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};
use ulid::Ulid;

/// A ULID for something made at `at`, carrying that time: two made for the
/// same millisecond sort in the order they were made, whatever was made for
/// other milliseconds between them (tests run made-up clocks side by side).
/// The last ULID of the 64 most recent milliseconds is remembered.
pub fn monotonic_ulid(at: crate::time::Timestamp) -> Ulid {
    const REMEMBERED: usize = 64;
    static RECENT: Mutex<VecDeque<Ulid>> = Mutex::new(VecDeque::new());
    let mut recent = RECENT.lock().unwrap_or_else(PoisonError::into_inner);
    let same_ms = recent
        .iter_mut()
        .find(|made| made.timestamp_ms() == at.as_millis());
    if let Some(last) = same_ms
        && let Ok(next) = last.increment()
    {
        *last = next;
        return next;
    }
    let next = Ulid::from_datetime(UNIX_EPOCH + Duration::from_millis(at.as_millis()));
    if recent.len() == REMEMBERED {
        recent.pop_front();
    }
    recent.push_back(next);
    next
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidValue {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Key-safe code: ASCII letters, digits, `-`, `_` and `.`, never `#` (our key separator).
fn parse_code(field: &'static str, raw: &str, max_len: usize) -> Result<String, InvalidValue> {
    if raw.is_empty() || raw.len() > max_len {
        return Err(InvalidValue::new(
            field,
            format!("must be 1 to {max_len} characters"),
        ));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(InvalidValue::new(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(raw.to_owned())
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                parse_code($field, raw, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(
    /// A stock-keeping unit code, as the shop's catalog names it.
    Sku, "sku", 64
);
code_type!(
    /// A warehouse code; warehouses are ranked by configured priority.
    WarehouseId, "warehouse", 32
);

/// The customer, as the identity provider's `sub` claim names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(sub: &str) -> Result<Self, InvalidValue> {
        if sub.is_empty() || sub.chars().count() > 256 || sub.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "sub",
                "must be 1 to 256 printable characters",
            ));
        }
        Ok(Self(sub.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An order id: a ULID, so orders sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(Ulid);

impl OrderId {
    pub fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    pub fn as_ulid(self) -> Ulid {
        self.0
    }
}

impl FromStr for OrderId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s)
            .map(Self)
            .map_err(|_| InvalidValue::new("order_id", "is not a valid order id"))
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Units of one SKU on an order line: 1 to 999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 999;

    pub fn parse(units: u32) -> Result<Self, InvalidValue> {
        if (1..=Self::MAX).contains(&units) {
            Ok(Self(units))
        } else {
            Err(InvalidValue::new(
                "quantity",
                format!("must be between 1 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = InvalidValue;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

/// A contact address the shop can write to: `local@domain.tld`, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue::new("email", "must look like name@example.com");
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// Where an order ships. Text fields are trimmed and length-bounded; the
/// country is an officially assigned ISO 3166-1 alpha-2 code.
/// Text a person typed for something printed or shown (a name, an address
/// line, a note): trimmed, 1 to `max` characters, none of them control
/// characters.
pub fn printable_text(field: &'static str, raw: &str, max: usize) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        return Err(InvalidValue::new(
            field,
            format!("must be 1 to {max} printable characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

impl ShippingAddress {
    /// Checks every field; on failure names the first bad one.
    pub fn validate(self) -> Result<Self, InvalidValue> {
        let text = printable_text;
        // An optional field left empty (as shop forms send it) is absent.
        let optional = |field: &'static str, value: Option<String>, max: usize| {
            value
                .filter(|v| !v.trim().is_empty())
                .map(|v| text(field, &v, max))
                .transpose()
        };
        let country = self.country.trim();
        if !crate::country::is_assigned(country) {
            return Err(InvalidValue::new(
                "shipping_address.country",
                "must be an assigned ISO 3166-1 alpha-2 code in capitals, such as DE",
            ));
        }
        Ok(Self {
            name: text("shipping_address.name", &self.name, 100)?,
            line1: text("shipping_address.line1", &self.line1, 200)?,
            line2: optional("shipping_address.line2", self.line2, 200)?,
            city: text("shipping_address.city", &self.city, 100)?,
            region: optional("shipping_address.region", self.region, 100)?,
            postal_code: text("shipping_address.postal_code", &self.postal_code, 20)?,
            country: country.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_made_in_one_millisecond_sort_as_made_and_carry_their_own_time() {
        let later = crate::time::Timestamp::from_millis(4_102_444_800_000);
        let earlier = crate::time::Timestamp::from_millis(1_796_000_000_000);
        let made: Vec<Ulid> = (0..1_000).map(|_| monotonic_ulid(later)).collect();
        assert!(made.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(made.iter().all(|id| id.timestamp_ms() == later.as_millis()));
        assert_eq!(monotonic_ulid(earlier).timestamp_ms(), earlier.as_millis());
    }

    #[test]
    fn sku_refuses_the_key_separator_and_empty_or_long_codes() {
        assert!(Sku::parse("TEE-RED.M_1").is_ok());
        for bad in ["", "A#B", "has space", &"x".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn quantity_is_one_to_nine_hundred_ninety_nine() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(1).is_ok());
        assert!(Quantity::parse(999).is_ok());
        assert!(Quantity::parse(1_000).is_err());
    }

    #[test]
    fn email_needs_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ada@example.com").is_ok());
        for bad in [
            "ada",
            "@example.com",
            "ada@example",
            "ada@.com",
            "a da@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn address_names_the_bad_field() {
        let address = ShippingAddress {
            name: "Ada".into(),
            line1: " ".into(),
            line2: None,
            city: "Berlin".into(),
            region: None,
            postal_code: "10115".into(),
            country: "DE".into(),
        };
        assert_eq!(
            address.validate().unwrap_err().field,
            "shipping_address.line1"
        );
    }

    #[test]
    fn order_ids_round_trip_through_text() {
        let id = OrderId::from_ulid(Ulid::generate());
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert!("not-an-id".parse::<OrderId>().is_err());
    }
}
