//! DHL pushes: how their bodies read, and which calls get in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use shopflow_couriers::dhl::{DEFAULT_TOKEN_HEADER, parse_push, verify_token};
use shopflow_couriers::{AuthError, ParseError};
use shopflow_domain::TrackingStatus as T;

fn dhl(name: &str) -> Vec<u8> {
    fixture("dhl", name)
}

#[test]
fn a_delivered_journey_reads_every_event_in_utc_whatever_its_offset_spelling() {
    let shipments = parse_push(&dhl("delivered.json")).unwrap();
    assert_eq!(shipments.len(), 1);
    let news = &shipments[0];
    assert_eq!(news.tracking_number.as_str(), "00340434161094015902");
    assert_eq!(
        statuses(news),
        [
            T::Delivered,
            T::OutForDelivery,
            T::InTransit,
            T::PickedUp,
            T::LabelCreated
        ]
    );
    let times: Vec<_> = news.events.iter().map(|event| event.occurred_at).collect();
    assert_eq!(
        times,
        [
            at("2024-03-14T10:47:00Z"),
            at("2024-03-14T07:05:00Z"),
            // No offset: UTC.
            at("2024-03-14T04:12:37Z"),
            at("2024-03-13T17:20:00Z"),
            at("2024-03-12T09:00:00Z"),
        ]
    );
    let delivered = &news.events[0];
    assert_eq!(delivered.code, "delivered");
    assert_eq!(
        delivered.description,
        "The shipment has been successfully delivered"
    );
    assert_eq!(delivered.location.as_deref(), Some("Bonn, 53113 (DE)"));
    assert_eq!(delivered.carrier_event_id, None);
    assert_eq!(news.events[4].location, None);
    assert_eq!(journey_status(news), T::Delivered);
    assert_well_formed(news);
}

#[test]
fn a_push_carrying_several_shipments_gives_news_of_each() {
    let shipments = parse_push(&dhl("in_transit.json")).unwrap();
    assert_eq!(shipments.len(), 2);

    let express = &shipments[0];
    assert_eq!(
        express.tracking_number.as_str(),
        "4817702935",
        "an id DHL prints as a number is still the tracking number"
    );
    assert_eq!(statuses(express), [T::InTransit, T::OnHold, T::PickedUp]);
    assert_eq!(
        express.events[0].description, "Processed at LEIPZIG - GERMANY",
        "without a description, the status is the description"
    );
    assert_eq!(
        express.events[0].location.as_deref(),
        Some("LEIPZIG - GERMANY")
    );
    assert_eq!(journey_status(express), T::InTransit);

    let parcel = &shipments[1];
    assert_eq!(parcel.tracking_number.as_str(), "JVGL0612345678901234");
    assert_eq!(
        parcel.events.len(),
        1,
        "a shipment with no events is read by its status"
    );
    assert_eq!(parcel.events[0].code, "failure");
    assert_eq!(parcel.events[0].status, T::DeliveryFailed);
    assert_eq!(parcel.events[0].occurred_at, at("2024-09-03T14:40:00Z"));
    assert_eq!(journey_status(parcel), T::DeliveryFailed);
}

#[test]
fn a_truncated_body_is_refused_as_truncated() {
    assert!(matches!(
        parse_push(&dhl("truncated.json")),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn a_number_where_a_status_code_belongs_is_refused_as_the_wrong_type() {
    let error = parse_push(&dhl("wrong_type.json")).unwrap_err();
    assert!(
        matches!(&error, ParseError::WrongType { detail } if detail.contains("integer")),
        "{error}"
    );
}

#[test]
fn an_event_without_its_time_is_refused_naming_it() {
    assert_eq!(
        parse_push(&dhl("missing_timestamp.json")),
        Err(ParseError::MissingField {
            field: "shipments[0].events[2].timestamp".into()
        })
    );
}

#[test]
fn an_unreadable_time_makes_the_push_an_error_naming_the_event() {
    assert_eq!(
        parse_push(&dhl("bad_timestamp.json")),
        Err(ParseError::BadTimestamp {
            field: "shipments[0].events[3].timestamp".into(),
            value: "13.03.2024 18:20".into(),
        })
    );
}

#[test]
fn a_body_without_shipments_is_refused_naming_the_field() {
    assert_eq!(
        parse_push(&dhl("missing_shipments.json")),
        Err(ParseError::MissingField {
            field: "shipments".into()
        })
    );
}

#[test]
fn shipments_need_an_id_and_events_a_status_code() {
    assert_eq!(
        parse_push(br#"{"shipments": [{"events": []}]}"#),
        Err(ParseError::MissingField {
            field: "shipments[0].id".into()
        })
    );
    assert_eq!(
        parse_push(
            br#"{"shipments": [{"id": "00340434161094015902", "events": [
            {"timestamp": "2024-03-14T11:47:00Z"}]}]}"#
        ),
        Err(ParseError::MissingField {
            field: "shipments[0].events[0].statusCode".into()
        })
    );
    assert!(matches!(
        parse_push(br#"{"shipments": [{"id": true}]}"#),
        Err(ParseError::WrongType { .. })
    ));
}

#[test]
fn a_shipment_with_no_news_at_all_is_reported_with_no_events() {
    let shipments = parse_push(br#"{"shipments": [{"id": "00340434161094015902"}]}"#).unwrap();
    assert!(shipments[0].events.is_empty());
    assert!(parse_push(br#"{"shipments": []}"#).unwrap().is_empty());
}

#[test]
fn the_registered_token_gets_in() {
    assert_eq!(DEFAULT_TOKEN_HEADER, "dhl-api-key");
    assert_eq!(
        verify_token("s3cr3t-token-from-config", Some("s3cr3t-token-from-config")),
        Ok(())
    );
}

#[test]
fn a_wrong_missing_or_partial_token_is_refused() {
    let expected = "s3cr3t-token-from-config";
    assert_eq!(
        verify_token(expected, Some("guess")),
        Err(AuthError::TokenMismatch)
    );
    assert_eq!(verify_token(expected, None), Err(AuthError::MissingToken));
    assert_eq!(
        verify_token(expected, Some("")),
        Err(AuthError::MissingToken)
    );
    for prefix in ["s", "s3cr3t-token", "s3cr3t-token-from-confi"] {
        assert_eq!(
            verify_token(expected, Some(prefix)),
            Err(AuthError::TokenMismatch),
            "{prefix}"
        );
    }
    assert_eq!(
        verify_token(expected, Some("s3cr3t-token-from-config-and-more")),
        Err(AuthError::TokenMismatch)
    );
    assert_eq!(
        verify_token(expected, Some(" s3cr3t-token-from-config")),
        Err(AuthError::TokenMismatch)
    );
}

#[test]
fn without_a_configured_token_nothing_gets_in() {
    assert_eq!(verify_token("", Some("")), Err(AuthError::NoSecret));
    assert_eq!(verify_token("", Some("anything")), Err(AuthError::NoSecret));
}

proptest! {
    #![proptest_config(robustness_config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(body in any_bytes()) {
        if let Ok(shipments) = parse_push(&body) {
            shipments.iter().for_each(assert_well_formed);
        }
    }

    #[test]
    fn mutations_of_a_real_push_never_panic_the_parser(
        body in mutations_of(dhl("in_transit.json"))
    ) {
        if let Ok(shipments) = parse_push(&body) {
            shipments.iter().for_each(assert_well_formed);
        }
    }

    #[test]
    fn only_the_exact_token_gets_in(presented in ".{0,40}") {
        let expected = "s3cr3t-token-from-config";
        prop_assert_eq!(
            verify_token(expected, Some(&presented)).is_ok(),
            presented == expected
        );
    }
}
