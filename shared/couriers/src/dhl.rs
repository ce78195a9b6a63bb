//! DHL: Shipment Tracking – Unified pushes (the shape of its
//! `/track/shipments` answer, one or more shipments each), and the static
//! token its push sends in a header we register with it.

use crate::error::{AuthError, ParseError};
use crate::instant::{Offset, instant};
use crate::news::{ParcelNews, tracking_number};
use crate::payload::{json_object, present};
use crate::text::{event_text, place};
use sha2::{Digest, Sha256};
use shopflow_domain::{TrackingEvent, TrackingStatus};
use subtle::ConstantTimeEq;

/// The header DHL's push sends our token in, unless configured otherwise.
pub const DEFAULT_TOKEN_HEADER: &str = "dhl-api-key";

/// DHL's five `statusCode`s and where each puts the parcel before its
/// text is read (see `PHRASES`). An unknown code reads as `unknown`.
pub const STATUS_CODES: &[(&str, TrackingStatus)] = &[
    ("pre-transit", TrackingStatus::LabelCreated),
    ("transit", TrackingStatus::InTransit),
    ("delivered", TrackingStatus::Delivered),
    ("failure", TrackingStatus::DeliveryFailed),
    ("unknown", TrackingStatus::Unknown),
];

/// Words in an event's `status` or `description` that say more than its
/// `statusCode`, tried in this order as whole words, whatever the case and
/// punctuation. They refine `transit`, `failure` and `unknown` (and codes
/// DHL may add); `delivered` is refined only into `returned_to_sender`
/// (DHL reports a parcel delivered back to its sender as delivered);
/// `pre-transit` is never refined.
pub const PHRASES: &[(&str, TrackingStatus)] = &[
    ("returned", TrackingStatus::ReturnedToSender),
    ("return to sender", TrackingStatus::ReturnedToSender),
    ("return to shipper", TrackingStatus::ReturnedToSender),
    ("back to the sender", TrackingStatus::ReturnedToSender),
    ("refused", TrackingStatus::Exception),
    ("damaged", TrackingStatus::Exception),
    ("lost", TrackingStatus::Exception),
    ("delivery attempt", TrackingStatus::DeliveryFailed),
    ("delivery attempted", TrackingStatus::DeliveryFailed),
    ("attempted delivery", TrackingStatus::DeliveryFailed),
    ("could not be delivered", TrackingStatus::DeliveryFailed),
    ("not at home", TrackingStatus::DeliveryFailed),
    ("out for delivery", TrackingStatus::OutForDelivery),
    ("with delivery courier", TrackingStatus::OutForDelivery),
    ("delivery vehicle", TrackingStatus::OutForDelivery),
    ("ready for pickup", TrackingStatus::ReadyForPickup),
    ("ready for pick up", TrackingStatus::ReadyForPickup),
    ("available for pickup", TrackingStatus::ReadyForPickup),
    ("available for pick up", TrackingStatus::ReadyForPickup),
    ("ready for collection", TrackingStatus::ReadyForPickup),
    ("available for collection", TrackingStatus::ReadyForPickup),
    ("on hold", TrackingStatus::OnHold),
    ("held", TrackingStatus::OnHold),
    ("delay", TrackingStatus::DeliveryDelayed),
    ("delayed", TrackingStatus::DeliveryDelayed),
    ("picked up", TrackingStatus::PickedUp),
    ("posted", TrackingStatus::PickedUp),
    ("dropped off", TrackingStatus::PickedUp),
];

/// Where a DHL event puts the parcel: its `statusCode`, refined by the
/// words of its `status` and `description` (see `PHRASES`).
pub fn status_of(status_code: &str, status: &str, description: &str) -> TrackingStatus {
    let code = status_code.trim();
    let by_code = STATUS_CODES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map_or(TrackingStatus::Unknown, |(_, status)| *status);
    let said = said_in(&format!("{status} {description}"));
    match by_code {
        TrackingStatus::LabelCreated => TrackingStatus::LabelCreated,
        TrackingStatus::Delivered => said
            .filter(|status| *status == TrackingStatus::ReturnedToSender)
            .unwrap_or(TrackingStatus::Delivered),
        other => said.unwrap_or(other),
    }
}

/// The first of `PHRASES` the text says, as whole words.
fn said_in(text: &str) -> Option<TrackingStatus> {
    let words = normalised(text);
    PHRASES
        .iter()
        .find(|(phrase, _)| words.contains(&normalised(phrase)))
        .map(|(_, status)| *status)
}

/// Lower case, punctuation as spaces, single spaces, and a space at each
/// end, so phrases match whole words only ("lost" is not in "closest").
fn normalised(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    format!(
        " {} ",
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// Reads the body of a DHL push: one `ParcelNews` per shipment, its
/// tracking number being the shipment's `id`.
///
/// A shipment's events are its `events`; a shipment that lists none is
/// reported by its latest `status` alone. Times with an offset or `Z`
/// keep it; times without one are UTC. DHL gives events no id.
pub fn parse_push(body: &[u8]) -> Result<Vec<ParcelNews>, ParseError> {
    let push: wire::Push = json_object(body)?;
    push.shipments
        .ok_or_else(|| ParseError::missing("shipments"))?
        .iter()
        .enumerate()
        .map(|(index, shipment)| read_shipment(&format!("shipments[{index}]"), shipment))
        .collect()
}

fn read_shipment(path: &str, shipment: &wire::Shipment) -> Result<ParcelNews, ParseError> {
    let id = present(&shipment.id).ok_or_else(|| ParseError::missing(format!("{path}.id")))?;
    let tracking_number = tracking_number(&format!("{path}.id"), id)?;
    let listed = shipment.events.as_deref().unwrap_or_default();
    let events = if listed.is_empty() {
        shipment
            .status
            .iter()
            .map(|status| read_event(&format!("{path}.status"), status))
            .collect::<Result<_, _>>()?
    } else {
        listed
            .iter()
            .enumerate()
            .map(|(index, event)| read_event(&format!("{path}.events[{index}]"), event))
            .collect::<Result<_, _>>()?
    };
    Ok(ParcelNews {
        tracking_number,
        events,
    })
}

fn read_event(path: &str, event: &wire::Status) -> Result<TrackingEvent, ParseError> {
    let written = present(&event.timestamp)
        .ok_or_else(|| ParseError::missing(format!("{path}.timestamp")))?;
    let occurred_at = instant(written, Some(Offset::UTC))
        .ok_or_else(|| ParseError::bad_timestamp(format!("{path}.timestamp"), written))?;
    let code = present(&event.status_code)
        .ok_or_else(|| ParseError::missing(format!("{path}.statusCode")))?
        .trim();
    let status = present(&event.status).unwrap_or_default();
    let description = present(&event.description).unwrap_or_default();
    let address = event
        .location
        .as_ref()
        .and_then(|location| location.address.as_ref());
    Ok(TrackingEvent {
        carrier_event_id: None,
        code: event_text(code),
        description: event_text(if description.is_empty() {
            status
        } else {
            description
        }),
        location: address.and_then(|address| {
            place(
                &[
                    present(&address.address_locality),
                    present(&address.postal_code),
                ],
                present(&address.country_code),
            )
        }),
        occurred_at,
        status: status_of(code, status, description),
        raw_ref: None,
    })
}

/// Checks the token DHL's push presented against the one we registered.
/// Both are hashed first and the digests compared in constant time, so
/// neither the token's content nor its length shows in the timing.
pub fn verify_token(expected: &str, presented: Option<&str>) -> Result<(), AuthError> {
    if expected.is_empty() {
        return Err(AuthError::NoSecret);
    }
    let presented = presented
        .filter(|token| !token.is_empty())
        .ok_or(AuthError::MissingToken)?;
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    if bool::from(expected.as_slice().ct_eq(presented.as_slice())) {
        Ok(())
    } else {
        Err(AuthError::TokenMismatch)
    }
}

/// The Shipment Tracking – Unified shapes we read. Every field is optional
/// here; `parse_push` says what is required. Unknown fields are ignored:
/// DHL adds fields.
mod wire {
    use serde::{Deserialize, Deserializer, de};
    use std::fmt;

    #[derive(Debug, Deserialize)]
    pub(super) struct Push {
        pub shipments: Option<Vec<Shipment>>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct Shipment {
        #[serde(default, deserialize_with = "text_or_whole_number")]
        pub id: Option<String>,
        pub status: Option<Status>,
        pub events: Option<Vec<Status>>,
    }

    /// A shipment's latest status and each of its events have this shape.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Status {
        pub timestamp: Option<String>,
        pub status_code: Option<String>,
        pub status: Option<String>,
        pub description: Option<String>,
        pub location: Option<Location>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct Location {
        pub address: Option<Address>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Address {
        pub address_locality: Option<String>,
        pub postal_code: Option<String>,
        pub country_code: Option<String>,
    }

    /// DHL documents `id` as text, yet its own samples print some ids as
    /// numbers.
    fn text_or_whole_number<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        struct Id;
        impl<'de> de::Visitor<'de> for Id {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a shipment id, as text or a whole number")
            }
            fn visit_str<E: de::Error>(self, id: &str) -> Result<Self::Value, E> {
                Ok(Some(id.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, id: u64) -> Result<Self::Value, E> {
                Ok(Some(id.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        deserializer.deserialize_any(Id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackingStatus as T;

    #[test]
    fn the_status_code_decides_unless_the_words_say_more() {
        assert_eq!(
            status_of("transit", "Processed at LEIPZIG", ""),
            T::InTransit
        );
        assert_eq!(
            status_of("transit", "", "Shipment is out for delivery"),
            T::OutForDelivery
        );
        assert_eq!(status_of("TRANSIT", "", ""), T::InTransit);
        assert_eq!(
            status_of("failure", "", "Delivery attempted; recipient not at home"),
            T::DeliveryFailed
        );
        assert_eq!(
            status_of("failure", "", "The shipment is being returned"),
            T::ReturnedToSender
        );
        assert_eq!(
            status_of("unknown", "", "Shipment on hold at customs"),
            T::OnHold
        );
        assert_eq!(status_of("unknown", "", "Nothing to say"), T::Unknown);
        assert_eq!(status_of("teleported", "", ""), T::Unknown);
        assert_eq!(
            status_of("delivered", "", "Delivered back to the sender"),
            T::ReturnedToSender
        );
        assert_eq!(
            status_of("delivered", "", "Left with a neighbour, delayed"),
            T::Delivered
        );
        assert_eq!(
            status_of(
                "pre-transit",
                "DELIVERED",
                "Electronic notification received"
            ),
            T::LabelCreated
        );
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert_eq!(said_in("Arrived at the closest hub"), None);
        assert_eq!(said_in("Parcel LOST in transit."), Some(T::Exception));
        assert_eq!(
            said_in("Ready for pick-up at the DHL ServicePoint"),
            Some(T::ReadyForPickup)
        );
    }

    #[test]
    fn every_phrase_is_already_in_normal_form() {
        for (phrase, _) in PHRASES {
            assert_eq!(normalised(phrase).trim(), *phrase);
        }
    }
}
