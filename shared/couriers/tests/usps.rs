//! USPS pushes: how their bodies read, and which calls get in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use shopflow_couriers::usps::{
    DEFAULT_TOLERANCE_SECS, SIGNATURE_HEADER, TIMESTAMP_HEADER, parse_push, sign, status_of,
    verify_signature,
};
use shopflow_couriers::{AuthError, ParseError};
use shopflow_domain::{Timestamp, TrackingStatus as T};

fn usps(name: &str) -> Vec<u8> {
    fixture("usps", name)
}

#[test]
fn a_delivered_journey_reads_every_scan_in_utc_with_its_place() {
    let news = parse_push(&usps("delivered.json")).unwrap();
    assert_eq!(news.tracking_number.as_str(), "9400136208070254311742");
    assert_eq!(
        statuses(&news),
        [
            T::Delivered,
            T::OutForDelivery,
            T::InTransit,
            T::InTransit,
            T::InTransit,
            T::InTransit,
            T::InTransit,
            T::InTransit,
            T::PickedUp,
            T::LabelCreated,
        ]
    );
    let delivered = &news.events[0];
    assert_eq!(delivered.code, "01");
    assert_eq!(delivered.description, "Delivered, In/At Mailbox");
    assert_eq!(delivered.location.as_deref(), Some("ASHEVILLE, NC 28801"));
    assert_eq!(delivered.occurred_at, at("2024-05-03T18:12:31Z"));
    assert_eq!(delivered.carrier_event_id, None);
    assert_eq!(
        news.events[3].location.as_deref(),
        Some("GREENSBORO NC DISTRIBUTION CENTER")
    );
    assert_eq!(
        news.events[4].location, None,
        "a scan with no place has none"
    );
    assert_eq!(journey_status(&news), T::Delivered);
    assert_well_formed(&news);
}

#[test]
fn a_journey_in_progress_takes_its_time_from_the_local_time_and_offset_when_gmt_is_absent() {
    let news = parse_push(&usps("in_transit.json")).unwrap();
    assert_eq!(
        statuses(&news),
        [T::Unknown, T::InTransit, T::InTransit, T::PickedUp]
    );
    assert_eq!(news.events[1].occurred_at, at("2024-06-12T05:15:33.041Z"));
    // No GMTTimestamp: 14:05 at "-7:00" is 21:05 UTC.
    assert_eq!(news.events[2].occurred_at, at("2024-06-11T21:05:00Z"));
    // A GMTTimestamp without "Z" is still GMT.
    assert_eq!(news.events[3].occurred_at, at("2024-06-10T16:41:00Z"));
    assert_eq!(
        news.events[3].location.as_deref(),
        Some("TUCSON, AZ 85705 (US)")
    );
    assert_eq!(journey_status(&news), T::InTransit);
}

#[test]
fn unknown_codes_say_nothing_rather_than_fail() {
    let news = parse_push(&usps("in_transit.json")).unwrap();
    assert_eq!(news.events[0].code, "DX");
    assert_eq!(news.events[0].status, T::Unknown);
    assert_eq!(status_of("Q9"), T::Unknown);
}

#[test]
fn a_truncated_body_is_refused_as_truncated() {
    assert!(matches!(
        parse_push(&usps("truncated.json")),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn a_number_where_a_code_belongs_is_refused_as_the_wrong_type() {
    let error = parse_push(&usps("wrong_type.json")).unwrap_err();
    assert!(
        matches!(&error, ParseError::WrongType { detail } if detail.contains("integer")),
        "{error}"
    );
}

#[test]
fn a_body_without_its_tracking_number_is_refused_naming_the_field() {
    assert_eq!(
        parse_push(&usps("missing_tracking_number.json")),
        Err(ParseError::MissingField {
            field: "trackingNumber".into()
        })
    );
}

#[test]
fn an_event_with_no_time_at_all_makes_the_body_an_error_naming_the_event() {
    let error = parse_push(&usps("missing_event_time.json")).unwrap_err();
    assert!(
        matches!(&error, ParseError::MissingField { field } if field.starts_with("trackingEvents[4].GMTTimestamp")),
        "{error}"
    );
}

#[test]
fn an_unreadable_time_makes_the_body_an_error_naming_the_event() {
    assert_eq!(
        parse_push(&usps("bad_timestamp.json")),
        Err(ParseError::BadTimestamp {
            field: "trackingEvents[1].GMTTimestamp".into(),
            value: "2024-05-03 at noon".into(),
        })
    );
}

#[test]
fn a_batch_of_parcels_is_not_a_push_usps_sends() {
    assert!(matches!(
        parse_push(&usps("batch.json")),
        Err(ParseError::WrongType { .. })
    ));
}

#[test]
fn an_event_without_its_code_or_with_a_bad_offset_is_refused() {
    let no_code = br#"{"trackingNumber": "9400136208070254311742", "trackingEvents": [
        {"eventType": "Delivered", "GMTTimestamp": "2024-05-03T18:12:31Z", "eventCode": null}]}"#;
    assert_eq!(
        parse_push(no_code),
        Err(ParseError::MissingField {
            field: "trackingEvents[0].eventCode".into()
        })
    );
    let bad_offset = br#"{"trackingNumber": "9400136208070254311742", "trackingEvents": [
        {"eventCode": "01", "eventTimestamp": "2024-05-03T14:12:00", "GMTOffset": "EDT"}]}"#;
    assert!(matches!(
        parse_push(bad_offset),
        Err(ParseError::BadTimestamp { field, .. }) if field == "trackingEvents[0].GMTOffset"
    ));
    let no_offset = br#"{"trackingNumber": "9400136208070254311742", "trackingEvents": [
        {"eventCode": "01", "eventTimestamp": "2024-05-03T14:12:00"}]}"#;
    assert_eq!(
        parse_push(no_offset),
        Err(ParseError::MissingField {
            field: "trackingEvents[0].GMTOffset".into()
        })
    );
}

#[test]
fn a_tracking_number_that_cannot_be_one_is_refused() {
    let body = br#"{"trackingNumber": "94 00", "trackingEvents": []}"#;
    assert!(matches!(
        parse_push(body),
        Err(ParseError::BadTrackingNumber { field, .. }) if field == "trackingNumber"
    ));
}

#[test]
fn descriptions_and_places_are_trimmed_and_cut_to_the_domain_limit() {
    let long = "Ä".repeat(300);
    let body = format!(
        r#"{{"trackingNumber": "9400136208070254311742", "trackingEvents": [
        {{"eventType": "  {long}  ", "eventCode": "01", "GMTTimestamp": "2024-05-03T18:12:31Z",
          "eventCity": " {long} "}}]}}"#
    );
    let news = parse_push(body.as_bytes()).unwrap();
    assert_eq!(news.events[0].description.chars().count(), 200);
    assert_well_formed(&news);
}

const SECRET: &[u8] = b"usps-subscription-secret-0123456";
const BODY: &[u8] = br#"{"trackingNumber":"9400136208070254311742","trackingEvents":[]}"#;
const SIGNED_AT: u64 = 1_714_760_000;

fn now() -> Timestamp {
    Timestamp::from_millis(SIGNED_AT * 1_000)
}

fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), AuthError> {
    verify_signature(
        secret,
        timestamp,
        signature,
        body,
        now,
        DEFAULT_TOLERANCE_SECS,
    )
}

#[test]
fn a_push_signed_with_the_secret_over_its_timestamp_and_body_gets_in() {
    let signature = sign(SECRET, SIGNED_AT, BODY);
    assert_eq!(signature.len(), 64);
    let timestamp = SIGNED_AT.to_string();
    assert_eq!(
        verify(
            SECRET,
            Some(&timestamp),
            Some(&signature),
            BODY,
            now().plus_secs(30)
        ),
        Ok(())
    );
    assert_eq!(
        verify(
            SECRET,
            Some(&timestamp),
            Some(&signature.to_uppercase()),
            BODY,
            now()
        ),
        Ok(()),
        "hex is hex, whatever its case"
    );
}

#[test]
fn a_push_signed_with_another_secret_is_refused() {
    let signature = sign(b"someone-else's-secret", SIGNED_AT, BODY);
    assert_eq!(
        verify(
            SECRET,
            Some(&SIGNED_AT.to_string()),
            Some(&signature),
            BODY,
            now()
        ),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn a_tampered_body_or_timestamp_is_refused() {
    let signature = sign(SECRET, SIGNED_AT, BODY);
    let tampered = br#"{"trackingNumber":"9400136208070254311743","trackingEvents":[]}"#;
    assert_eq!(
        verify(
            SECRET,
            Some(&SIGNED_AT.to_string()),
            Some(&signature),
            tampered,
            now()
        ),
        Err(AuthError::SignatureMismatch)
    );
    let other_time = (SIGNED_AT + 1).to_string();
    assert_eq!(
        verify(SECRET, Some(&other_time), Some(&signature), BODY, now()),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn a_push_missing_either_header_is_refused_naming_it() {
    let signature = sign(SECRET, SIGNED_AT, BODY);
    assert_eq!(
        verify(SECRET, None, Some(&signature), BODY, now()),
        Err(AuthError::MissingHeader {
            header: TIMESTAMP_HEADER
        })
    );
    assert_eq!(
        verify(SECRET, Some(&SIGNED_AT.to_string()), None, BODY, now()),
        Err(AuthError::MissingHeader {
            header: SIGNATURE_HEADER
        })
    );
}

#[test]
fn malformed_headers_are_refused_naming_them() {
    let signature = sign(SECRET, SIGNED_AT, BODY);
    for timestamp in ["", "soon", "-1714760000", "1714760000.5", " 1714760000"] {
        assert_eq!(
            verify(SECRET, Some(timestamp), Some(&signature), BODY, now()),
            Err(AuthError::MalformedHeader {
                header: TIMESTAMP_HEADER
            }),
            "{timestamp:?}"
        );
    }
    for signature in ["xyz", "abc", "sha256=00"] {
        assert_eq!(
            verify(
                SECRET,
                Some(&SIGNED_AT.to_string()),
                Some(signature),
                BODY,
                now()
            ),
            Err(AuthError::MalformedHeader {
                header: SIGNATURE_HEADER
            }),
            "{signature:?}"
        );
    }
    assert_eq!(
        verify(
            SECRET,
            Some(&SIGNED_AT.to_string()),
            Some("00ff"),
            BODY,
            now()
        ),
        Err(AuthError::SignatureMismatch),
        "a well-formed signature of the wrong length simply does not match"
    );
}

#[test]
fn a_signature_outside_the_tolerance_is_refused_in_the_past_and_in_the_future() {
    let tolerance = DEFAULT_TOLERANCE_SECS;
    for signed_at in [SIGNED_AT - tolerance - 1, SIGNED_AT + tolerance + 1] {
        let signature = sign(SECRET, signed_at, BODY);
        assert_eq!(
            verify(
                SECRET,
                Some(&signed_at.to_string()),
                Some(&signature),
                BODY,
                now()
            ),
            Err(AuthError::Stale {
                skew_secs: tolerance + 1
            }),
            "signed at {signed_at}"
        );
    }
    for signed_at in [SIGNED_AT - tolerance, SIGNED_AT + tolerance] {
        let signature = sign(SECRET, signed_at, BODY);
        assert_eq!(
            verify(
                SECRET,
                Some(&signed_at.to_string()),
                Some(&signature),
                BODY,
                now()
            ),
            Ok(()),
            "the edge of the window is inside it"
        );
    }
}

#[test]
fn without_a_secret_nothing_gets_in() {
    let signature = sign(b"", SIGNED_AT, BODY);
    assert_eq!(
        verify(
            b"",
            Some(&SIGNED_AT.to_string()),
            Some(&signature),
            BODY,
            now()
        ),
        Err(AuthError::NoSecret)
    );
}

proptest! {
    #![proptest_config(robustness_config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(body in any_bytes()) {
        if let Ok(news) = parse_push(&body) {
            assert_well_formed(&news);
        }
    }

    #[test]
    fn mutations_of_a_real_push_never_panic_the_parser(
        body in mutations_of(usps("delivered.json"))
    ) {
        if let Ok(news) = parse_push(&body) {
            assert_well_formed(&news);
        }
    }

    #[test]
    fn arbitrary_headers_never_panic_the_verifier(
        timestamp in proptest::option::of(".{0,24}"),
        signature in proptest::option::of(".{0,80}"),
        body in any_bytes(),
    ) {
        let _ = verify(SECRET, timestamp.as_deref(), signature.as_deref(), &body, now());
    }
}
