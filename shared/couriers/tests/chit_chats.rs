//! Chit Chats shipment answers: how they read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use shopflow_couriers::ParseError;
use shopflow_couriers::chit_chats::{parse_shipment, status_of};
use shopflow_domain::TrackingStatus as T;

fn chit_chats(name: &str) -> Vec<u8> {
    fixture("chit_chats", name)
}

#[test]
fn a_delivered_journey_reads_chit_chats_steps_and_the_carriers_scans() {
    let news = parse_shipment(&chit_chats("delivered.json")).unwrap();
    assert_eq!(news.tracking_number.as_str(), "K7Q2M9X4TP");
    assert_eq!(
        statuses(&news),
        [
            T::Delivered,
            T::InTransit,
            T::InTransit,
            T::InTransit,
            T::PickedUp,
            T::LabelCreated,
            T::LabelCreated
        ]
    );
    let delivered = &news.events[0];
    assert_eq!(delivered.code, "carrier_tracking_event");
    assert_eq!(delivered.description, "Delivered (In/At Mailbox)");
    assert_eq!(delivered.location.as_deref(), Some("PORTLAND, OR 97205"));
    assert_eq!(delivered.occurred_at, at("2024-02-09T21:41:00Z"));
    assert_eq!(delivered.carrier_event_id, None);
    let received = &news.events[4];
    assert_eq!(received.code, "receive_shipment");
    assert_eq!(
        received.description,
        "Received by Chit Chats (Delivery Fee $1.00)"
    );
    assert_eq!(received.occurred_at, at("2024-02-05T18:12:44.907Z"));
    assert_eq!(news.events[6].description, "Shipment created");
    assert_eq!(news.events[6].location, None);
    assert_eq!(journey_status(&news), T::Delivered);
    assert_well_formed(&news);
}

#[test]
fn a_shipment_chit_chats_has_received_reads_picked_up() {
    let news = parse_shipment(&chit_chats("in_transit.json")).unwrap();
    assert_eq!(news.tracking_number.as_str(), "R3WX8B5N2D");
    assert_eq!(
        statuses(&news),
        [T::PickedUp, T::LabelCreated, T::LabelCreated]
    );
    assert_eq!(journey_status(&news), T::PickedUp);
}

#[test]
fn shipment_statuses_map_to_ours_and_unknown_ones_say_nothing() {
    assert_eq!(status_of("ready"), T::LabelCreated);
    assert_eq!(status_of("inducted"), T::InTransit);
    assert_eq!(status_of("exception"), T::Exception);
    assert_eq!(status_of("canceled"), T::Exception);
    assert_eq!(status_of("returned"), T::ReturnedToSender);
    assert_eq!(status_of("beamed_up"), T::Unknown);
}

#[test]
fn a_truncated_body_is_refused_as_truncated() {
    assert!(matches!(
        parse_shipment(&chit_chats("truncated.json")),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn a_number_where_a_time_belongs_is_refused_as_the_wrong_type() {
    let error = parse_shipment(&chit_chats("wrong_type.json")).unwrap_err();
    assert!(
        matches!(&error, ParseError::WrongType { detail } if detail.contains("integer")),
        "{error}"
    );
}

#[test]
fn an_event_without_its_time_is_refused_naming_it() {
    assert_eq!(
        parse_shipment(&chit_chats("missing_created_at.json")),
        Err(ParseError::MissingField {
            field: "shipment.tracking_events[3].created_at".into()
        })
    );
}

#[test]
fn a_time_without_an_offset_is_unreadable_and_names_the_event() {
    assert_eq!(
        parse_shipment(&chit_chats("bad_timestamp.json")),
        Err(ParseError::BadTimestamp {
            field: "shipment.tracking_events[1].created_at".into(),
            value: "2024-02-07T02:15:00".into(),
        })
    );
}

#[test]
fn a_body_that_is_not_wrapped_in_its_shipment_is_refused_naming_the_field() {
    assert_eq!(
        parse_shipment(&chit_chats("missing_shipment.json")),
        Err(ParseError::MissingField {
            field: "shipment".into()
        })
    );
}

#[test]
fn an_event_without_its_type_is_refused() {
    let body = br#"{"shipment": {"id": "K7Q2M9X4TP", "tracking_events": [
        {"type": null, "title": "Delivered", "created_at": "2024-02-09T13:41:00.000-08:00"}]}}"#;
    assert_eq!(
        parse_shipment(body),
        Err(ParseError::MissingField {
            field: "shipment.tracking_events[0].type".into()
        })
    );
}

proptest! {
    #![proptest_config(robustness_config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(body in any_bytes()) {
        if let Ok(news) = parse_shipment(&body) {
            assert_well_formed(&news);
        }
    }

    #[test]
    fn mutations_of_a_real_answer_never_panic_the_parser(
        body in mutations_of(chit_chats("delivered.json"))
    ) {
        if let Ok(news) = parse_shipment(&body) {
            assert_well_formed(&news);
        }
    }
}
