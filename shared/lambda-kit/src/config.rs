//! Configuration from environment variables, read once at start-up. A missing
//! or malformed variable fails initialisation with a message naming it.
//!
//! Readers take a [`Source`], so the local stack can hand each function the
//! environment infra/template.yaml gives it without touching the process env.

use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A function's environment: the variables the template gives it.
pub type Env = BTreeMap<String, String>;

/// The process environment, as Lambda sets it from the template.
pub fn process_env() -> Env {
    std::env::vars().collect()
}

/// Where configuration values come from.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

impl Source for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

fn present(source: &impl Source, name: &str) -> Option<String> {
    source.get(name).filter(|value| !value.trim().is_empty())
}

/// The value of `name`, if it is set to something other than blanks.
pub fn optional(source: &impl Source, name: &str) -> Option<String> {
    present(source, name)
}

pub fn required(source: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    present(source, name).ok_or(ConfigError::Missing(name))
}

/// The parsed value of `name`, or `default` when it is not set.
pub fn parsed_or<T>(source: &impl Source, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match present(source, name) {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        None => Ok(default),
    }
}

/// A comma-separated list, each item parsed with `parse`; `default` when unset.
pub fn list_or<T, E: std::fmt::Display>(
    source: &impl Source,
    name: &'static str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ConfigError> {
    let raw = present(source, name).unwrap_or_else(|| default.to_owned());
    let items = raw
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            parse(item).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        return Err(ConfigError::Invalid {
            name,
            reason: "must list at least one item".into(),
        });
    }
    Ok(items)
}

/// The seller and payment terms printed on every invoice, from
/// `SELLER_NAME`, `SELLER_ADDRESS` (lines separated by `|`),
/// `SELLER_TAX_ID`, `SELLER_EMAIL` and `INVOICE_DUE_DAYS` (14 unless set).
pub fn invoice_terms(env: &impl Source) -> Result<shopflow_domain::invoice::Terms, ConfigError> {
    let address: Vec<String> = required(env, "SELLER_ADDRESS")?
        .split('|')
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let email = optional(env, "SELLER_EMAIL")
        .map(|raw| shopflow_domain::Email::parse(raw.trim()))
        .transpose()
        .map_err(|error| ConfigError::Invalid {
            name: "SELLER_EMAIL",
            reason: error.to_string(),
        })?;
    Ok(shopflow_domain::invoice::Terms {
        seller: shopflow_domain::invoice::Party {
            name: required(env, "SELLER_NAME")?,
            address,
            tax_id: optional(env, "SELLER_TAX_ID"),
            email,
        },
        due_days: parsed_or(env, "INVOICE_DUE_DAYS", 14)?,
    })
}

/// An environment of `(name, value)` pairs, for tests.
pub fn vars(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_malformed_values_name_the_variable() {
        let source = vars(&[("TAX", "ten")]);
        assert_eq!(
            required(&source, "TABLE_NAME").unwrap_err().to_string(),
            "environment variable TABLE_NAME is required but not set"
        );
        assert!(
            parsed_or(&source, "TAX", 0u32)
                .unwrap_err()
                .to_string()
                .contains("TAX")
        );
        assert_eq!(parsed_or(&source, "OTHER", 7u32).unwrap(), 7);
    }

    #[test]
    fn lists_are_comma_separated_and_never_empty() {
        let source = vars(&[("WAREHOUSES", " A, B ,"), ("EMPTY", ",")]);
        assert_eq!(
            list_or(&source, "WAREHOUSES", "X", |s| Ok::<_, String>(
                s.to_owned()
            ))
            .unwrap(),
            ["A", "B"]
        );
        assert!(list_or(&source, "EMPTY", "X", |s| Ok::<_, String>(s.to_owned())).is_err());
    }
}
