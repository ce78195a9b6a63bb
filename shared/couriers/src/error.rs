//! Why a payload could not be read, and why a call was not let in.

use crate::text::excerpt;

/// A carrier's payload we cannot read. Every variant says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON (or XML) at all: a syntax error, bytes that are not UTF-8.
    #[error("the payload is not well-formed: {detail}")]
    Malformed { detail: String },
    /// The document stops before it is complete.
    #[error("the payload ends before it is complete: {detail}")]
    Truncated { detail: String },
    /// Well-formed, but a value is not what the carrier's format says it
    /// is (a number where text belongs, an array where an object does).
    #[error("the payload has a value of the wrong type: {detail}")]
    WrongType { detail: String },
    /// A field we cannot do without is absent or null.
    #[error("the payload has no `{field}`")]
    MissingField { field: String },
    /// An event's time cannot be read, so neither can the payload.
    #[error("`{field}` is not a time we can read: {value:?}")]
    BadTimestamp { field: String, value: String },
    /// An event's time is in a zone we do not know (Canada Post).
    #[error("`{field}` names a time zone we do not know: {zone:?}")]
    UnknownTimeZone { field: String, zone: String },
    /// The parcel's number is not a tracking number.
    #[error("`{field}` is not a tracking number: {value:?} ({reason})")]
    BadTrackingNumber {
        field: String,
        value: String,
        reason: String,
    },
}

impl ParseError {
    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::MissingField {
            field: field.into(),
        }
    }

    pub(crate) fn bad_timestamp(field: impl Into<String>, value: &str) -> Self {
        Self::BadTimestamp {
            field: field.into(),
            value: excerpt(value),
        }
    }
}

/// Why a carrier's call to our webhook is refused. The variants are for
/// logs and metrics; the caller answers every one of them the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// We have nothing to check against: an empty secret or token would
    /// let anyone in, so it lets no one in.
    #[error("no secret is configured to check the call against")]
    NoSecret,
    #[error("the {header} header is missing")]
    MissingHeader { header: &'static str },
    #[error("the {header} header is malformed")]
    MalformedHeader { header: &'static str },
    /// Signed too long ago, or too far in the future: a replay, or a clock
    /// we cannot trust.
    #[error("the call was signed {skew_secs}s away from now, outside the tolerance")]
    Stale { skew_secs: u64 },
    #[error("the signature does not match the body")]
    SignatureMismatch,
    #[error("no token was presented")]
    MissingToken,
    #[error("the token does not match")]
    TokenMismatch,
}
