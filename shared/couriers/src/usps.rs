//! USPS: Tracking API v3 events, pushed to our webhook by its tracking
//! subscriptions, and the HMAC that authenticates each push.
//!
//! The body is one parcel in the Tracking API v3 `TrackingDetails` shape
//! (`trackingNumber` and its `trackingEvents`, newest first): a bare
//! event names no parcel, and nothing in the API describes batches, so a
//! top-level array is refused.

use crate::error::{AuthError, ParseError};
use crate::instant::{Offset, instant};
use crate::news::{ParcelNews, tracking_number};
use crate::payload::{json_object, present};
use crate::text::{event_text, place, words};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use shopflow_domain::{Timestamp, TrackingEvent, TrackingStatus};

/// The header carrying the hex HMAC-SHA256 of `<timestamp>.<raw body>`.
pub const SIGNATURE_HEADER: &str = "x-usps-signature";
/// The header carrying the Unix time, in seconds, the push was signed at.
pub const TIMESTAMP_HEADER: &str = "x-usps-timestamp";
/// How far from now a signed timestamp may be, either way.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// USPS event codes (Publication 199, Appendix G-4, and the codes the
/// Tracking API v3 answers with) and what they say about the parcel. Any
/// other code is `Unknown`: USPS adds codes, and an event we cannot place
/// must not move a journey.
pub const EVENT_CODES: &[(&str, TrackingStatus)] = &[
    ("GX", TrackingStatus::LabelCreated), // Shipping label created, USPS awaiting item
    ("MA", TrackingStatus::LabelCreated), // Pre-shipment info (manifest) received
    ("03", TrackingStatus::PickedUp),     // Accepted / USPS in possession of item
    ("TM", TrackingStatus::PickedUp),     // Shipment acceptance (truck manifest)
    ("PA", TrackingStatus::PickedUp),     // Shipment acceptance (passive)
    ("80", TrackingStatus::PickedUp),     // Picked up by shipping partner
    ("06", TrackingStatus::InTransit),    // Forwarded
    ("07", TrackingStatus::InTransit),    // Arrival at unit (post office)
    ("10", TrackingStatus::InTransit),    // Processed / arrived at a facility
    ("42", TrackingStatus::InTransit),    // Handed to shipping partner
    ("81", TrackingStatus::InTransit),    // Arrived at shipping partner facility
    ("82", TrackingStatus::InTransit),    // Departed shipping partner facility
    ("A1", TrackingStatus::InTransit),    // Arrived at USPS regional facility
    ("EF", TrackingStatus::InTransit),    // Departed sort facility
    ("PC", TrackingStatus::InTransit),    // Sorting / processing complete
    ("SF", TrackingStatus::InTransit),    // Departed post office
    ("T1", TrackingStatus::InTransit),    // Departed USPS regional facility
    ("TL", TrackingStatus::InTransit),    // In transit to next facility
    ("OF", TrackingStatus::OutForDelivery),
    ("02", TrackingStatus::DeliveryFailed), // Notice left (no authorized recipient)
    ("30", TrackingStatus::DeliveryFailed), // No access to delivery location
    ("51", TrackingStatus::DeliveryFailed), // Business closed
    ("52", TrackingStatus::DeliveryFailed), // Notice left
    ("53", TrackingStatus::DeliveryFailed), // Receptacle blocked
    ("54", TrackingStatus::DeliveryFailed), // Receptacle full / item oversized
    ("55", TrackingStatus::DeliveryFailed), // No secure location available
    ("56", TrackingStatus::DeliveryFailed), // No authorized recipient available
    ("08", TrackingStatus::DeliveryDelayed), // Missent
    ("15", TrackingStatus::DeliveryDelayed), // Mis-shipped
    ("71", TrackingStatus::DeliveryDelayed), // Rescheduled to next delivery day
    ("14", TrackingStatus::ReadyForPickup), // Arrival at pickup point
    ("16", TrackingStatus::ReadyForPickup), // Available for pickup
    ("01", TrackingStatus::Delivered),
    ("17", TrackingStatus::Delivered), // Picked up at the post office by the addressee's agent
    ("09", TrackingStatus::ReturnedToSender), // Return to sender
    ("21", TrackingStatus::ReturnedToSender), // No such number
    ("22", TrackingStatus::ReturnedToSender), // Insufficient address
    ("23", TrackingStatus::ReturnedToSender), // Moved, left no address
    ("24", TrackingStatus::ReturnedToSender), // Forward expired
    ("25", TrackingStatus::ReturnedToSender), // Addressee unknown
    ("26", TrackingStatus::ReturnedToSender), // Vacant
    ("27", TrackingStatus::ReturnedToSender), // Unclaimed
    ("28", TrackingStatus::ReturnedToSender), // Deceased
    ("29", TrackingStatus::ReturnedToSender), // Returned, other reason
    ("31", TrackingStatus::ReturnedToSender), // Not picked up
    ("44", TrackingStatus::ReturnedToSender), // Recalled by the sender
    ("04", TrackingStatus::Exception), // Refused
    ("05", TrackingStatus::Exception), // Undeliverable as addressed
    ("11", TrackingStatus::Exception), // Dead letter
];

/// What a USPS event code says about the parcel.
pub fn status_of(event_code: &str) -> TrackingStatus {
    let code = event_code.trim();
    EVENT_CODES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map_or(TrackingStatus::Unknown, |(_, status)| *status)
}

/// Reads the body of a USPS tracking push.
///
/// Each event's instant comes from `GMTTimestamp` (UTC, with or without
/// `Z`); without it, from `eventTimestamp` (local time) at `GMTOffset`.
/// An event with neither, or with a time we cannot read, makes the whole
/// body an error naming the event.
pub fn parse_push(body: &[u8]) -> Result<ParcelNews, ParseError> {
    let details: wire::TrackingDetails = json_object(body)?;
    let number =
        present(&details.tracking_number).ok_or_else(|| ParseError::missing("trackingNumber"))?;
    let tracking_number = tracking_number("trackingNumber", number)?;
    let events = details
        .tracking_events
        .ok_or_else(|| ParseError::missing("trackingEvents"))?
        .iter()
        .enumerate()
        .map(|(index, event)| read_event(&format!("trackingEvents[{index}]"), event))
        .collect::<Result<_, _>>()?;
    Ok(ParcelNews {
        tracking_number,
        events,
    })
}

fn read_event(path: &str, event: &wire::TrackingEvent) -> Result<TrackingEvent, ParseError> {
    let code = present(&event.event_code)
        .ok_or_else(|| ParseError::missing(format!("{path}.eventCode")))?
        .trim();
    let state_zip = words(&[present(&event.event_state), present(&event.event_zip)]);
    Ok(TrackingEvent {
        carrier_event_id: None,
        code: event_text(code),
        description: event_text(present(&event.event_type).unwrap_or_default()),
        location: place(
            &[present(&event.event_city), state_zip.as_deref()],
            present(&event.event_country),
        ),
        occurred_at: occurred_at(path, event)?,
        status: status_of(code),
        raw_ref: None,
    })
}

fn occurred_at(path: &str, event: &wire::TrackingEvent) -> Result<Timestamp, ParseError> {
    if let Some(gmt) = present(&event.gmt_timestamp) {
        return instant(gmt, Some(Offset::UTC))
            .ok_or_else(|| ParseError::bad_timestamp(format!("{path}.GMTTimestamp"), gmt));
    }
    let local = present(&event.event_timestamp).ok_or_else(|| {
        ParseError::missing(format!(
            "{path}.GMTTimestamp (or eventTimestamp and GMTOffset)"
        ))
    })?;
    let offset = match present(&event.gmt_offset) {
        Some(written) => Some(
            Offset::parse(written)
                .ok_or_else(|| ParseError::bad_timestamp(format!("{path}.GMTOffset"), written))?,
        ),
        None => None,
    };
    // A local time that spells out its own offset is read with it.
    instant(local, offset).ok_or_else(|| {
        let readable_with_an_offset = instant(local, Some(Offset::UTC)).is_some();
        if offset.is_none() && readable_with_an_offset {
            ParseError::missing(format!("{path}.GMTOffset"))
        } else {
            ParseError::bad_timestamp(format!("{path}.eventTimestamp"), local)
        }
    })
}

/// Checks a push's signature: `SIGNATURE_HEADER` must hold the hex
/// HMAC-SHA256, under the subscription's `secret`, of the
/// `TIMESTAMP_HEADER` value, a `.`, and the raw body; and that timestamp
/// must be within `tolerance_secs` of `now`, before or after. Checked on
/// the raw bytes, before anything is parsed; compared in constant time.
pub fn verify_signature(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
    tolerance_secs: u64,
) -> Result<(), AuthError> {
    if secret.is_empty() {
        return Err(AuthError::NoSecret);
    }
    let timestamp = timestamp.ok_or(AuthError::MissingHeader {
        header: TIMESTAMP_HEADER,
    })?;
    let signature = signature.ok_or(AuthError::MissingHeader {
        header: SIGNATURE_HEADER,
    })?;
    let signed_at = unix_seconds(timestamp).ok_or(AuthError::MalformedHeader {
        header: TIMESTAMP_HEADER,
    })?;
    let skew_secs = now.as_secs().abs_diff(signed_at);
    if skew_secs > tolerance_secs {
        return Err(AuthError::Stale { skew_secs });
    }
    let claimed = decode_hex(signature.trim()).ok_or(AuthError::MalformedHeader {
        header: SIGNATURE_HEADER,
    })?;
    // verify_slice compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&claimed)
        .map_err(|_| AuthError::SignatureMismatch)
}

/// The signature USPS would send for `body` signed at `timestamp_secs`
/// (what the tests and the local simulator sign with).
pub fn sign(secret: &[u8], timestamp_secs: u64, body: &[u8]) -> String {
    mac(secret, &timestamp_secs.to_string(), body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Unix seconds written as plain digits, exactly as they were signed.
fn unix_seconds(raw: &str) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The Tracking API v3 shapes we read. Every field is optional here (USPS
/// sends `null` for what it does not know); `parse_push` says what is
/// required. Unknown fields are ignored: USPS adds fields.
mod wire {
    use super::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct TrackingDetails {
        pub tracking_number: Option<String>,
        pub tracking_events: Option<Vec<TrackingEvent>>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct TrackingEvent {
        #[serde(rename = "eventType")]
        pub event_type: Option<String>,
        #[serde(rename = "eventCode")]
        pub event_code: Option<String>,
        #[serde(rename = "eventTimestamp")]
        pub event_timestamp: Option<String>,
        #[serde(rename = "GMTTimestamp")]
        pub gmt_timestamp: Option<String>,
        #[serde(rename = "GMTOffset")]
        pub gmt_offset: Option<String>,
        #[serde(rename = "eventCity")]
        pub event_city: Option<String>,
        #[serde(rename = "eventState")]
        pub event_state: Option<String>,
        #[serde(rename = "eventZIP")]
        pub event_zip: Option<String>,
        #[serde(rename = "eventCountry")]
        pub event_country: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_in_the_table_is_listed_once() {
        for (index, (code, _)) in EVENT_CODES.iter().enumerate() {
            assert!(
                EVENT_CODES[index + 1..]
                    .iter()
                    .all(|(other, _)| other != code),
                "{code} is listed twice"
            );
        }
    }

    #[test]
    fn codes_are_matched_whatever_their_case_and_padding() {
        assert_eq!(status_of(" of "), TrackingStatus::OutForDelivery);
        assert_eq!(status_of("01"), TrackingStatus::Delivered);
        assert_eq!(status_of("ZZ"), TrackingStatus::Unknown);
        assert_eq!(status_of(""), TrackingStatus::Unknown);
    }

    #[test]
    fn hex_is_decoded_strictly() {
        assert_eq!(decode_hex("00ff"), Some(vec![0, 255]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("+f+f"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(unix_seconds("+17"), None);
        assert_eq!(unix_seconds("99999999999999999999"), None);
    }
}
