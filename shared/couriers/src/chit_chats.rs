//! Chit Chats: polled at its shipments API
//! (`GET /api/v1/clients/{client_id}/shipments/{id}`), whose answer lists
//! the shipment's tracking events. Its shipment id is our tracking number.

use crate::error::ParseError;
use crate::instant::instant;
use crate::news::{ParcelNews, tracking_number};
use crate::payload::{json_object, present};
use crate::text::{event_text, optional_text};
use serde::Deserialize;
use shopflow_domain::{TrackingEvent, TrackingNumber, TrackingStatus};

/// Chit Chats' production site.
pub const PRODUCTION_HOST: &str = "https://chitchats.com";
/// Chit Chats' sandbox, with its own accounts and no real postage.
pub const STAGING_HOST: &str = "https://staging.chitchats.com";
/// The header the access token goes in, as it is: no `Bearer` or other
/// scheme in front.
pub const AUTHORIZATION_HEADER: &str = "Authorization";
/// Requests allowed per IP address and account in any five minutes; more
/// are answered 429 with a `Retry-After`.
pub const REQUESTS_PER_FIVE_MINUTES: u32 = 2_000;

/// The path of one of a client's shipments.
pub fn shipment_path(client_id: u64, shipment_id: &TrackingNumber) -> String {
    format!("/api/v1/clients/{client_id}/shipments/{shipment_id}")
}

/// The `Authorization` header for `access_token`: the token alone.
pub fn authorization(access_token: &str) -> (&'static str, &str) {
    (AUTHORIZATION_HEADER, access_token.trim())
}

/// Whether Chit Chats refused the call for going over its rate limit.
pub fn is_rate_limited(status: u16) -> bool {
    status == 429
}

/// Chit Chats' shipment statuses (an event's `status` is one of these
/// when set) and where each puts the parcel. `in_transit` and `resolved`
/// are the groups Chit Chats' search offers; `returned` is not in its
/// documentation but reads plainly. Any other status is `Unknown`.
pub const STATUSES: &[(&str, TrackingStatus)] = &[
    ("pending", TrackingStatus::LabelCreated), // being created by the shop
    ("ready", TrackingStatus::LabelCreated),   // postage bought, not handed over
    ("received", TrackingStatus::PickedUp),    // Chit Chats has it
    ("released", TrackingStatus::InTransit),   // handed to the final carrier
    ("inducted", TrackingStatus::InTransit),   // the final carrier confirms it has it
    ("in_transit", TrackingStatus::InTransit),
    ("delivered", TrackingStatus::Delivered),
    ("returned", TrackingStatus::ReturnedToSender),
    ("exception", TrackingStatus::Exception), // "may have been a problem delivering"
    ("canceled", TrackingStatus::Exception),  // held at a branch or returned to the shop
    ("voided", TrackingStatus::Exception),    // postage refunded: it will not travel
    ("resolved", TrackingStatus::Unknown),    // delivered, exception or voided: says too little
];

/// Event `type`s Chit Chats documents, for events whose `status` is null
/// (its own steps). Any other type is `Unknown`.
pub const EVENT_TYPES: &[(&str, TrackingStatus)] = &[
    ("create_shipment", TrackingStatus::LabelCreated),
    ("buy_shipment_postage", TrackingStatus::LabelCreated),
    ("receive_shipment", TrackingStatus::PickedUp),
];

/// Where a Chit Chats shipment status puts the parcel.
pub fn status_of(status: &str) -> TrackingStatus {
    lookup(STATUSES, status)
}

/// Where a Chit Chats event puts the parcel: by its `status` when it has
/// one, by its `type` otherwise.
pub fn event_status(kind: &str, status: Option<&str>) -> TrackingStatus {
    match status.map(str::trim).filter(|status| !status.is_empty()) {
        Some(status) => status_of(status),
        None => lookup(EVENT_TYPES, kind),
    }
}

fn lookup(table: &[(&str, TrackingStatus)], raw: &str) -> TrackingStatus {
    let raw = raw.trim();
    table
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(raw))
        .map_or(TrackingStatus::Unknown, |(_, status)| *status)
}

/// Reads Chit Chats' answer to a shipment call.
///
/// Each event's `type` is its code; its description is its `title`, with
/// the `subtitle` in brackets when there is one; its time is `created_at`,
/// which must carry an offset. Events have no id.
pub fn parse_shipment(body: &[u8]) -> Result<ParcelNews, ParseError> {
    let answer: wire::Answer = json_object(body)?;
    let shipment = answer
        .shipment
        .ok_or_else(|| ParseError::missing("shipment"))?;
    let id = present(&shipment.id).ok_or_else(|| ParseError::missing("shipment.id"))?;
    let tracking_number = tracking_number("shipment.id", id)?;
    let events = shipment
        .tracking_events
        .ok_or_else(|| ParseError::missing("shipment.tracking_events"))?
        .iter()
        .enumerate()
        .map(|(index, event)| read_event(&format!("shipment.tracking_events[{index}]"), event))
        .collect::<Result<_, _>>()?;
    Ok(ParcelNews {
        tracking_number,
        events,
    })
}

fn read_event(path: &str, event: &wire::TrackingEvent) -> Result<TrackingEvent, ParseError> {
    let kind = present(&event.kind)
        .ok_or_else(|| ParseError::missing(format!("{path}.type")))?
        .trim();
    let written = present(&event.created_at)
        .ok_or_else(|| ParseError::missing(format!("{path}.created_at")))?;
    let occurred_at = instant(written, None)
        .ok_or_else(|| ParseError::bad_timestamp(format!("{path}.created_at"), written))?;
    let title = present(&event.title).map(str::trim).unwrap_or_default();
    let description = match present(&event.subtitle).map(str::trim) {
        Some(subtitle) if title.is_empty() => subtitle.to_owned(),
        Some(subtitle) => format!("{title} ({subtitle})"),
        None => title.to_owned(),
    };
    Ok(TrackingEvent {
        carrier_event_id: None,
        code: event_text(kind),
        description: event_text(&description),
        location: optional_text(present(&event.location_description)),
        occurred_at,
        status: event_status(kind, present(&event.status)),
        raw_ref: None,
    })
}

/// The shipments API shapes we read. Every field is optional here;
/// `parse_shipment` says what is required. Unknown fields are ignored:
/// the shipment carries dozens we have no use for.
mod wire {
    use super::Deserialize;

    #[derive(Debug, Deserialize)]
    pub(super) struct Answer {
        pub shipment: Option<Shipment>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct Shipment {
        pub id: Option<String>,
        pub tracking_events: Option<Vec<TrackingEvent>>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct TrackingEvent {
        #[serde(rename = "type")]
        pub kind: Option<String>,
        pub title: Option<String>,
        pub subtitle: Option<String>,
        pub location_description: Option<String>,
        pub created_at: Option<String>,
        pub status: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackingStatus as T;

    #[test]
    fn an_event_status_wins_over_its_type() {
        assert_eq!(event_status("receive_shipment", None), T::PickedUp);
        assert_eq!(event_status("receive_shipment", Some(" ")), T::PickedUp);
        assert_eq!(event_status("anything", Some("Delivered")), T::Delivered);
        assert_eq!(event_status("anything", None), T::Unknown);
        assert_eq!(status_of("teleported"), T::Unknown);
    }

    #[test]
    fn the_request_facts_are_as_chit_chats_documents_them() {
        let id = TrackingNumber::parse("8ERNJ8SCQ9").unwrap();
        assert_eq!(
            shipment_path(999_999, &id),
            "/api/v1/clients/999999/shipments/8ERNJ8SCQ9"
        );
        assert_eq!(authorization(" tok "), ("Authorization", "tok"));
        assert!(is_rate_limited(429));
        assert!(!is_rate_limited(503));
    }
}
