//! Canada Post tracking detail answers: how they read, and how its
//! refusals are told apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use shopflow_couriers::ParseError;
use shopflow_couriers::canada_post::{
    ACCEPT, CALLS_PER_MINUTE, CarrierMessage, TrackAnswer, detail_path, is_rate_limited,
    parse_detail, status_of,
};
use shopflow_domain::{TrackingNumber, TrackingStatus as T};

fn canada_post(name: &str) -> Vec<u8> {
    fixture("canada_post", name)
}

fn news(name: &str) -> shopflow_couriers::ParcelNews {
    match parse_detail(&canada_post(name)).unwrap() {
        TrackAnswer::News(news) => news,
        other => panic!("{name} answered {other:?}"),
    }
}

#[test]
fn a_history_whose_newest_event_is_a_signature_still_reads_delivered() {
    let news = news("delivered.xml");
    assert_eq!(news.tracking_number.as_str(), "1371134583769923");
    assert_eq!(news.events[0].code, "20");
    assert_eq!(news.events[0].status, T::Unknown);
    assert_eq!(
        statuses(&news),
        [
            T::Unknown,
            T::Delivered,
            T::OutForDelivery,
            T::PickedUp,
            T::PickedUp,
            T::Unknown
        ]
    );
    assert_eq!(journey_status(&news), T::Delivered);
    assert_well_formed(&news);
}

#[test]
fn zero_padded_codes_are_kept_as_sent_and_mapped_by_value() {
    let news = news("delivered.xml");
    let out_for_delivery = &news.events[2];
    assert_eq!(out_for_delivery.code, "0174");
    assert_eq!(out_for_delivery.status, T::OutForDelivery);
    assert_eq!(status_of("0174"), status_of("174"));
    assert_eq!(status_of("01496"), T::Delivered);
}

#[test]
fn each_event_is_read_in_its_own_time_zone_with_its_place() {
    let news = news("delivered.xml");
    let delivered = &news.events[1];
    assert_eq!(
        delivered.occurred_at,
        at("2024-10-08T18:58:40Z"),
        "EDT is UTC-4"
    );
    assert_eq!(delivered.description, "Item successfully delivered");
    assert_eq!(delivered.location.as_deref(), Some("MONTREAL, QC"));
    assert_eq!(delivered.carrier_event_id, None);
    assert_eq!(
        news.events[4].occurred_at,
        at("2024-10-07T02:05:52Z"),
        "PDT is UTC-7"
    );
    assert_eq!(news.events[5].location, None, "blank places are none");
}

#[test]
fn a_journey_in_progress_reads_half_hour_zones() {
    let news = news("in_transit.xml");
    assert_eq!(statuses(&news), [T::DeliveryDelayed, T::PickedUp]);
    assert_eq!(
        news.events[0].occurred_at,
        at("2024-11-20T12:45:00Z"),
        "NST is UTC-3:30"
    );
    assert_eq!(news.events[0].location.as_deref(), Some("ST. JOHN'S, NL"));
    assert_eq!(
        news.events[1].occurred_at,
        at("2024-11-18T21:44:09Z"),
        "EST is UTC-5"
    );
    assert_eq!(journey_status(&news), T::DeliveryDelayed);
}

#[test]
fn no_pin_history_is_an_answer_not_a_failure() {
    assert_eq!(
        parse_detail(&canada_post("no_pin_history.xml")),
        Ok(TrackAnswer::NoPinHistory)
    );
}

#[test]
fn other_carrier_messages_are_refusals_with_their_code() {
    assert_eq!(
        parse_detail(&canada_post("auth_error.xml")),
        Ok(TrackAnswer::Refused(vec![CarrierMessage {
            code: "AA002".into(),
            description: "The username and password of the request do not match the endpoint."
                .into(),
        }]))
    );
}

#[test]
fn an_slm_rejection_is_recognised_as_throttling() {
    let body = canada_post("slm_rejected.xml");
    assert_eq!(parse_detail(&body), Ok(TrackAnswer::RateLimited));
    assert!(is_rate_limited(503, &body));
    assert!(!is_rate_limited(200, &canada_post("delivered.xml")));
    assert!(!is_rate_limited(404, &canada_post("no_pin_history.xml")));
    assert_eq!(CALLS_PER_MINUTE, 20);
}

#[test]
fn the_request_is_the_pins_detail_in_tracking_v2_xml() {
    let pin = TrackingNumber::parse("1371134583769923").unwrap();
    assert_eq!(detail_path(&pin), "/vis/track/pin/1371134583769923/detail");
    assert_eq!(ACCEPT, "application/vnd.cpc.track-v2+xml");
}

#[test]
fn a_truncated_answer_is_refused_as_truncated() {
    assert!(matches!(
        parse_detail(&canada_post("truncated.xml")),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn an_element_where_the_pin_belongs_is_refused_as_the_wrong_type() {
    assert!(matches!(
        parse_detail(&canada_post("wrong_type.xml")),
        Err(ParseError::WrongType { .. })
    ));
}

#[test]
fn an_answer_without_its_pin_is_refused_naming_the_field() {
    assert_eq!(
        parse_detail(&canada_post("missing_pin.xml")),
        Err(ParseError::MissingField {
            field: "tracking-detail.pin".into()
        })
    );
}

#[test]
fn an_unreadable_time_makes_the_answer_an_error_naming_the_occurrence() {
    assert_eq!(
        parse_detail(&canada_post("bad_timestamp.xml")),
        Err(ParseError::BadTimestamp {
            field: "significant-events.occurrence[2].event-date and event-time".into(),
            value: "2024-10-08 8:12 AM".into(),
        })
    );
}

#[test]
fn an_unknown_time_zone_makes_the_answer_an_error_naming_the_occurrence() {
    assert_eq!(
        parse_detail(&canada_post("unknown_zone.xml")),
        Err(ParseError::UnknownTimeZone {
            field: "significant-events.occurrence[4].event-time-zone".into(),
            zone: "XST".into(),
        })
    );
}

#[test]
fn an_occurrence_without_its_identifier_or_time_is_refused() {
    let body = br#"<tracking-detail><pin>1371134583769923</pin><significant-events>
        <occurrence><event-date>2024-10-08</event-date><event-time>08:12:05</event-time>
        <event-time-zone>EDT</event-time-zone></occurrence></significant-events></tracking-detail>"#;
    assert_eq!(
        parse_detail(body),
        Err(ParseError::MissingField {
            field: "significant-events.occurrence[0].event-identifier".into()
        })
    );
    let body = br#"<tracking-detail><pin>1371134583769923</pin><significant-events>
        <occurrence><event-identifier>0174</event-identifier><event-date>2024-10-08</event-date>
        <event-time-zone>EDT</event-time-zone></occurrence></significant-events></tracking-detail>"#;
    assert_eq!(
        parse_detail(body),
        Err(ParseError::MissingField {
            field: "significant-events.occurrence[0].event-time".into()
        })
    );
}

#[test]
fn a_pin_with_no_events_yet_has_an_empty_history_and_other_documents_are_refused() {
    let body =
        b"<tracking-detail><pin>1371134583769923</pin><significant-events/></tracking-detail>";
    match parse_detail(body).unwrap() {
        TrackAnswer::News(news) => assert!(news.events.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_detail(b"<tracking-summary/>"),
        Err(ParseError::WrongType { .. })
    ));
    assert!(matches!(
        parse_detail(b"<messages></messages>"),
        Err(ParseError::MissingField { .. })
    ));
    assert!(matches!(
        parse_detail(b"not xml at all"),
        Err(ParseError::Truncated { .. } | ParseError::Malformed { .. })
    ));
}

proptest! {
    #![proptest_config(robustness_config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(body in any_bytes()) {
        if let Ok(TrackAnswer::News(news)) = parse_detail(&body) {
            assert_well_formed(&news);
        }
    }

    #[test]
    fn mutations_of_a_real_answer_never_panic_the_parser(
        body in mutations_of(canada_post("delivered.xml"))
    ) {
        if let Ok(TrackAnswer::News(news)) = parse_detail(&body) {
            assert_well_formed(&news);
        }
    }

    #[test]
    fn mutations_of_a_message_never_panic_the_parser(
        body in mutations_of(canada_post("slm_rejected.xml"))
    ) {
        let _ = parse_detail(&body);
    }

    #[test]
    fn arbitrary_codes_never_panic_the_mapping(code in ".{0,12}") {
        let _ = status_of(&code);
    }
}
