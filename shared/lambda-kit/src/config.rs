//! Configuration from environment variables, read once at start-up. A missing
//! or malformed variable fails initialisation with a message naming it.

use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// The parsed value of `name`, or `default` when it is not set.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => {
            raw.trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                })
        }
        _ => Ok(default),
    }
}

/// A comma-separated list, each item parsed with `parse`.
pub fn list_or<T, E: std::fmt::Display>(
    name: &'static str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ConfigError> {
    let raw = std::env::var(name).unwrap_or_else(|_| default.to_owned());
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
