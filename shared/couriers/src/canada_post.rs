//! Canada Post: polled at its Tracking web service
//! (`GET /vis/track/pin/{pin}/detail`), which answers a `tracking-detail`
//! document, or a `messages` document when it has nothing to show.

use crate::error::ParseError;
use crate::instant::{Offset, at_offset};
use crate::news::{ParcelNews, tracking_number};
use crate::payload::{present, xml_document, xml_root};
use crate::text::{event_text, excerpt, place};
use serde::Deserialize;
use shopflow_domain::{TrackingEvent, TrackingNumber, TrackingStatus};
use std::ops::RangeInclusive;

/// Canada Post's production gateway.
pub const PRODUCTION_HOST: &str = "https://soa-gw.canadapost.ca";
/// Canada Post's development (test) gateway.
pub const DEVELOPMENT_HOST: &str = "https://ct.soa-gw.canadapost.ca";
/// The `Accept` header the tracking detail call needs.
pub const ACCEPT: &str = "application/vnd.cpc.track-v2+xml";
/// The `Accept-Language` header: descriptions in English.
pub const ACCEPT_LANGUAGE: &str = "en-CA";
/// Tracking calls an API key may make a minute by default; more are
/// refused with "Rejected by SLM Monitor".
pub const CALLS_PER_MINUTE: u32 = 20;

/// The message code Canada Post answers for a pin it knows but has not
/// scanned yet.
pub const NO_PIN_HISTORY: &str = "004";
const SLM_REJECTION: &[u8] = b"Rejected by SLM Monitor";

/// The path of a pin's tracking detail.
pub fn detail_path(pin: &TrackingNumber) -> String {
    format!("/vis/track/pin/{pin}/detail")
}

/// Whether a response is Canada Post throttling the API key ("Rejected by
/// SLM Monitor", for up to a minute) rather than answering: a failed
/// status whose body says so, or a 429.
pub fn is_rate_limited(status: u16, body: &[u8]) -> bool {
    let failed = !(200..300).contains(&status);
    status == 429 || failed && names_slm_rejection(body)
}

fn names_slm_rejection(text: &[u8]) -> bool {
    text.windows(SLM_REJECTION.len())
        .any(|window| window.eq_ignore_ascii_case(SLM_REJECTION))
}

/// Event identifiers and what they say about the parcel, by numeric value
/// (Canada Post pads some to four digits: `0174` is `174`). Based on
/// karrio's Canada Post table, with its incident codes placed too. Any
/// other identifier (the signature image, `20`, among them) is `Unknown`.
pub const EVENT_CODES: &[(RangeInclusive<u32>, TrackingStatus)] = &[
    (100..=107, TrackingStatus::PickedUp),
    (1400..=1405, TrackingStatus::PickedUp),
    (117..=117, TrackingStatus::OnHold),
    (120..=121, TrackingStatus::OnHold),
    (125..=125, TrackingStatus::OnHold),
    (127..=127, TrackingStatus::OnHold),
    (810..=810, TrackingStatus::OnHold),
    (1411..=1411, TrackingStatus::OnHold),
    (1414..=1414, TrackingStatus::OnHold),
    (1443..=1443, TrackingStatus::OnHold),
    (1484..=1484, TrackingStatus::OnHold),
    (1487..=1487, TrackingStatus::OnHold),
    (1494..=1494, TrackingStatus::OnHold),
    (2411..=2411, TrackingStatus::OnHold),
    (2414..=2414, TrackingStatus::OnHold),
    (4700..=4700, TrackingStatus::OnHold),
    (118..=118, TrackingStatus::ReadyForPickup),
    (156..=156, TrackingStatus::ReadyForPickup),
    (1407..=1407, TrackingStatus::ReadyForPickup),
    (1410..=1410, TrackingStatus::ReadyForPickup),
    (1435..=1438, TrackingStatus::ReadyForPickup),
    (1479..=1479, TrackingStatus::ReadyForPickup),
    (1488..=1488, TrackingStatus::ReadyForPickup),
    (1701..=1701, TrackingStatus::ReadyForPickup),
    (2410..=2410, TrackingStatus::ReadyForPickup),
    (174..=174, TrackingStatus::OutForDelivery),
    (500..=500, TrackingStatus::OutForDelivery),
    (150..=150, TrackingStatus::DeliveryFailed),
    (154..=154, TrackingStatus::DeliveryFailed),
    (167..=169, TrackingStatus::DeliveryFailed),
    (179..=179, TrackingStatus::DeliveryFailed),
    (180..=190, TrackingStatus::DeliveryFailed),
    (1100..=1100, TrackingStatus::DeliveryFailed),
    (1415..=1420, TrackingStatus::DeliveryFailed),
    (1450..=1450, TrackingStatus::DeliveryFailed),
    (1481..=1483, TrackingStatus::DeliveryFailed),
    (1491..=1493, TrackingStatus::DeliveryFailed),
    (2600..=2600, TrackingStatus::DeliveryFailed),
    (2802..=2802, TrackingStatus::DeliveryFailed),
    (3001..=3001, TrackingStatus::DeliveryFailed),
    (4650..=4650, TrackingStatus::DeliveryFailed),
    (128..=138, TrackingStatus::DeliveryDelayed),
    (155..=155, TrackingStatus::DeliveryDelayed),
    (157..=166, TrackingStatus::DeliveryDelayed),
    (172..=173, TrackingStatus::DeliveryDelayed),
    (2412..=2412, TrackingStatus::DeliveryDelayed),
    (1408..=1409, TrackingStatus::Delivered),
    (1421..=1434, TrackingStatus::Delivered),
    (1441..=1442, TrackingStatus::Delivered),
    (1496..=1499, TrackingStatus::Delivered),
    (119..=119, TrackingStatus::Exception),
    (122..=124, TrackingStatus::Exception),
    (126..=126, TrackingStatus::Exception),
    (142..=149, TrackingStatus::Exception),
    (151..=153, TrackingStatus::Exception),
    (1413..=1413, TrackingStatus::Exception),
    (1440..=1440, TrackingStatus::Exception),
    (1485..=1486, TrackingStatus::Exception),
    (1489..=1490, TrackingStatus::Exception),
];

/// What a Canada Post event identifier says about the parcel.
pub fn status_of(event_identifier: &str) -> TrackingStatus {
    let code = event_identifier.trim();
    if code.is_empty() || code.len() > 9 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TrackingStatus::Unknown;
    }
    code.parse::<u32>()
        .ok()
        .and_then(|value| EVENT_CODES.iter().find(|(codes, _)| codes.contains(&value)))
        .map_or(TrackingStatus::Unknown, |(_, status)| *status)
}

/// The zones Canada Post writes `event-time-zone` in, and their offsets.
pub const TIME_ZONES: &[(&str, i32, i32)] = &[
    ("NST", -3, 30),
    ("NDT", -2, 30),
    ("AST", -4, 0),
    ("ADT", -3, 0),
    ("EST", -5, 0),
    ("EDT", -4, 0),
    ("CST", -6, 0),
    ("CDT", -5, 0),
    ("MST", -7, 0),
    ("MDT", -6, 0),
    ("PST", -8, 0),
    ("PDT", -7, 0),
    ("AKST", -9, 0),
    ("AKDT", -8, 0),
    ("HST", -10, 0),
    ("HDT", -9, 0),
    ("UTC", 0, 0),
    ("GMT", 0, 0),
];

fn zone_offset(zone: &str) -> Option<Offset> {
    let zone = zone.trim();
    TIME_ZONES
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(zone))
        .map(|(_, hours, minutes)| Offset::hours_minutes(*hours, *minutes))
}

/// What Canada Post answered about a pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackAnswer {
    /// The pin's significant events, newest first as Canada Post lists
    /// them (the newest may say nothing of where the parcel is: a
    /// signature image, say).
    News(ParcelNews),
    /// Message `004`: the label exists but nothing has been scanned yet.
    /// Not a failure: ask again later.
    NoPinHistory,
    /// "Rejected by SLM Monitor": the key is throttled for up to a minute.
    RateLimited,
    /// Any other message: the call failed for a reason Canada Post gives.
    Refused(Vec<CarrierMessage>),
}

/// One message of a Canada Post `messages` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierMessage {
    pub code: String,
    pub description: String,
}

/// Reads the body Canada Post answered to a tracking detail call (any
/// status): a `tracking-detail` document, or a `messages` one.
///
/// Each event's time is its `event-date` and `event-time` in its
/// `event-time-zone`; a zone we do not know, or a time we cannot read,
/// makes the whole answer an error naming the occurrence.
pub fn parse_detail(body: &[u8]) -> Result<TrackAnswer, ParseError> {
    let (text, root) = xml_root(body)?;
    match root.as_str() {
        "tracking-detail" => read_detail(&xml_document(text)?).map(TrackAnswer::News),
        "messages" => read_messages(&xml_document(text)?),
        other => Err(ParseError::WrongType {
            detail: format!(
                "expected a <tracking-detail> or <messages> document, found <{}>",
                excerpt(other)
            ),
        }),
    }
}

fn read_detail(detail: &wire::TrackingDetail) -> Result<ParcelNews, ParseError> {
    let pin = present(&detail.pin).ok_or_else(|| ParseError::missing("tracking-detail.pin"))?;
    let tracking_number = tracking_number("tracking-detail.pin", pin.trim())?;
    let occurrences = detail
        .significant_events
        .as_ref()
        .map(|events| events.occurrence.as_slice())
        .unwrap_or_default();
    let events = occurrences
        .iter()
        .enumerate()
        .map(|(index, occurrence)| {
            read_occurrence(
                &format!("significant-events.occurrence[{index}]"),
                occurrence,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(ParcelNews {
        tracking_number,
        events,
    })
}

fn read_occurrence(path: &str, occurrence: &wire::Occurrence) -> Result<TrackingEvent, ParseError> {
    let code = required(&occurrence.event_identifier, path, "event-identifier")?;
    let date = required(&occurrence.event_date, path, "event-date")?;
    let time = required(&occurrence.event_time, path, "event-time")?;
    let zone = required(&occurrence.event_time_zone, path, "event-time-zone")?;
    let offset = zone_offset(zone).ok_or_else(|| ParseError::UnknownTimeZone {
        field: format!("{path}.event-time-zone"),
        zone: excerpt(zone),
    })?;
    let occurred_at = (is_date(date) && is_time(time))
        .then(|| at_offset(&format!("{date}T{time}"), offset))
        .flatten()
        .ok_or_else(|| {
            ParseError::bad_timestamp(
                format!("{path}.event-date and event-time"),
                &format!("{date} {time}"),
            )
        })?;
    Ok(TrackingEvent {
        carrier_event_id: None,
        code: event_text(code),
        description: event_text(present(&occurrence.event_description).unwrap_or_default()),
        location: place(
            &[
                present(&occurrence.event_site),
                present(&occurrence.event_province),
            ],
            None,
        ),
        occurred_at,
        status: status_of(code),
        raw_ref: None,
    })
}

fn required<'a>(field: &'a Option<String>, path: &str, name: &str) -> Result<&'a str, ParseError> {
    present(field)
        .map(str::trim)
        .ok_or_else(|| ParseError::missing(format!("{path}.{name}")))
}

fn read_messages(messages: &wire::Messages) -> Result<TrackAnswer, ParseError> {
    if messages.message.is_empty() {
        return Err(ParseError::missing("messages.message"));
    }
    let messages: Vec<CarrierMessage> = messages
        .message
        .iter()
        .map(|message| CarrierMessage {
            code: event_text(present(&message.code).unwrap_or_default()),
            description: event_text(present(&message.description).unwrap_or_default()),
        })
        .collect();
    let throttled = messages
        .iter()
        .any(|message| names_slm_rejection(message.description.as_bytes()));
    if throttled {
        Ok(TrackAnswer::RateLimited)
    } else if messages
        .iter()
        .any(|message| message.code == NO_PIN_HISTORY)
    {
        Ok(TrackAnswer::NoPinHistory)
    } else {
        Ok(TrackAnswer::Refused(messages))
    }
}

/// `YYYY-MM-DD`, digits where digits belong.
fn is_date(text: &str) -> bool {
    shaped(text, b"dddd-dd-dd")
}

/// `HH:MM:SS`, digits where digits belong.
fn is_time(text: &str) -> bool {
    shaped(text, b"dd:dd:dd")
}

fn shaped(text: &str, pattern: &[u8]) -> bool {
    text.len() == pattern.len()
        && text
            .bytes()
            .zip(pattern)
            .all(|(byte, expected)| match expected {
                b'd' => byte.is_ascii_digit(),
                other => byte == *other,
            })
}

/// The Tracking v2 shapes we read (elements in kebab-case; their
/// namespace is not checked). Every field is optional here; the readers
/// above say what is required. Unknown elements are ignored: Canada Post
/// adds elements.
mod wire {
    use super::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub(super) struct TrackingDetail {
        pub pin: Option<String>,
        pub significant_events: Option<SignificantEvents>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct SignificantEvents {
        #[serde(default)]
        pub occurrence: Vec<Occurrence>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub(super) struct Occurrence {
        pub event_identifier: Option<String>,
        pub event_date: Option<String>,
        pub event_time: Option<String>,
        pub event_time_zone: Option<String>,
        pub event_description: Option<String>,
        pub event_site: Option<String>,
        pub event_province: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct Messages {
        #[serde(default)]
        pub message: Vec<Message>,
    }

    #[derive(Debug, Deserialize)]
    pub(super) struct Message {
        pub code: Option<String>,
        pub description: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackingStatus as T;

    #[test]
    fn codes_are_read_by_numeric_value() {
        assert_eq!(status_of("0174"), T::OutForDelivery);
        assert_eq!(status_of("174"), T::OutForDelivery);
        assert_eq!(status_of(" 1496 "), T::Delivered);
        assert_eq!(status_of("20"), T::Unknown);
        assert_eq!(status_of("0020"), T::Unknown);
        assert_eq!(status_of("ABC"), T::Unknown);
        assert_eq!(status_of("-174"), T::Unknown);
        assert_eq!(status_of("99999999999999999999"), T::Unknown);
    }

    #[test]
    fn no_code_is_in_two_ranges() {
        for (index, (codes, _)) in EVENT_CODES.iter().enumerate() {
            for (other, _) in &EVENT_CODES[index + 1..] {
                assert!(
                    codes.end() < other.start() || other.end() < codes.start(),
                    "{codes:?} overlaps {other:?}"
                );
            }
        }
    }

    #[test]
    fn zones_are_offsets_from_utc() {
        assert_eq!(zone_offset("EST"), Some(Offset::hours_minutes(-5, 0)));
        assert_eq!(zone_offset(" ndt "), Some(Offset::hours_minutes(-2, 30)));
        assert_eq!(zone_offset("XYZ"), None);
    }

    #[test]
    fn slm_rejections_are_recognised_only_on_failures() {
        let body = b"<messages><message><code>Server</code><description>Rejected by SLM Monitor</description></message></messages>";
        assert!(is_rate_limited(503, body));
        assert!(is_rate_limited(429, b""));
        assert!(!is_rate_limited(200, body));
        assert!(!is_rate_limited(404, b"<messages/>"));
    }

    #[test]
    fn dates_and_times_must_have_their_shape() {
        assert!(is_date("2011-02-03"));
        assert!(!is_date("2011-2-3"));
        assert!(is_time("08:27:43"));
        assert!(!is_time("08:27"));
        assert!(!is_time("08:27:4Z"));
    }
}
