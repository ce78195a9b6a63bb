//! Integer fields of request bodies, read as JSON Schema reads them: any
//! number with no fractional part is an integer, so `878.0` is `878`
//! (the API description declares them `type: integer`). `878.5`, `1e300`
//! and numbers outside the field's range are refused, naming the field.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

struct Integral;

impl Visitor<'_> for Integral {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom("an integer too large"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // i64::MAX as f64 rounds up to 2^63, which is out of range.
        let in_range = value >= -(2f64.powi(63)) && value < 2f64.powi(63);
        if value.fract() == 0.0 && in_range {
            Ok(value as i64)
        } else {
            Err(E::custom(format!("{value} is not an integer")))
        }
    }
}

/// An integer field (`#[serde(deserialize_with = "integral::i64")]`).
pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(Integral)
}

/// An optional integer field (with `#[serde(default)]`).
pub fn optional_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    i64(deserializer).map(Some)
}

/// An integer field that may be `null`, which means none.
pub fn nullable_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct Nullable;

    impl Visitor<'_> for Nullable {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer or null")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<i64>, E> {
            Integral.visit_i64(value).map(Some)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<i64>, E> {
            Integral.visit_u64(value).map(Some)
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Option<i64>, E> {
            Integral.visit_f64(value).map(Some)
        }
    }

    deserializer.deserialize_any(Nullable)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::i64")]
        quantity: i64,
        #[serde(default, deserialize_with = "super::optional_i64")]
        amount: Option<i64>,
    }

    fn read(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn integral_numbers_are_integers_whatever_their_spelling() {
        for json in [
            r#"{"quantity": 878}"#,
            r#"{"quantity": 878.0}"#,
            r#"{"quantity": 8.78e2}"#,
        ] {
            assert_eq!(read(json).unwrap().quantity, 878, "{json}");
        }
        assert_eq!(read(r#"{"quantity": -3.0}"#).unwrap().quantity, -3);
        let body = read(r#"{"quantity": 1, "amount": 250.0}"#).unwrap();
        assert_eq!(body.amount, Some(250));
        assert_eq!(read(r#"{"quantity": 1}"#).unwrap().amount, None);
    }

    #[test]
    fn fractions_huge_numbers_and_other_types_are_refused() {
        for json in [
            r#"{"quantity": 878.5}"#,
            r#"{"quantity": 1e300}"#,
            r#"{"quantity": 18446744073709551615}"#,
            r#"{"quantity": "878"}"#,
            r#"{"quantity": null}"#,
        ] {
            assert!(read(json).is_err(), "{json}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Threshold {
        #[serde(deserialize_with = "super::nullable_i64")]
        threshold: Option<i64>,
    }

    #[test]
    fn a_nullable_integer_is_required_and_null_means_none() {
        let read = |json: &str| serde_json::from_str::<Threshold>(json).map(|t| t.threshold);
        assert_eq!(read(r#"{"threshold": 5.0}"#).unwrap(), Some(5));
        assert_eq!(read(r#"{"threshold": null}"#).unwrap(), None);
        for json in [r#"{}"#, r#"{"threshold": 1.5}"#, r#"{"threshold": "5"}"#] {
            assert!(read(json).is_err(), "{json}");
        }
    }
}
