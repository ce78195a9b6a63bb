//! What the parsers hand back: one parcel's events, in the domain's terms.

use crate::error::ParseError;
use crate::text::excerpt;
use shopflow_domain::{TrackingEvent, TrackingNumber};

/// What a carrier told us about one parcel.
///
/// The events are listed as the carrier listed them (newest first for
/// USPS, Canada Post and Chit Chats); `Journey` puts them in time order
/// and decides the status. No event has `raw_ref` set: the caller knows
/// where it archived the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelNews {
    pub tracking_number: TrackingNumber,
    pub events: Vec<TrackingEvent>,
}

/// The carrier's number for the parcel, read from `field`.
pub(crate) fn tracking_number(field: &str, raw: &str) -> Result<TrackingNumber, ParseError> {
    TrackingNumber::parse(raw).map_err(|invalid| ParseError::BadTrackingNumber {
        field: field.to_owned(),
        value: excerpt(raw),
        reason: invalid.reason,
    })
}
