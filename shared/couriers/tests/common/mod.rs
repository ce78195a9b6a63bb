//! What the carrier tests share: fixtures, instants, and the byte
//! mutations the robustness properties feed the parsers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shopflow_couriers::ParcelNews;
use shopflow_domain::tracking::MAX_EVENT_TEXT;
use shopflow_domain::{Journey, Timestamp, TrackingStatus};
use std::path::PathBuf;

/// A fixture's bytes: `tests/fixtures/<carrier>/<name>`.
pub fn fixture(carrier: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        carrier,
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// An instant written in RFC 3339.
pub fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).unwrap_or_else(|| panic!("{rfc3339} is not RFC 3339"))
}

/// The status each event was given, in the carrier's order.
pub fn statuses(news: &ParcelNews) -> Vec<TrackingStatus> {
    news.events.iter().map(|event| event.status).collect()
}

/// The status the domain reads from the whole history.
pub fn journey_status(news: &ParcelNews) -> TrackingStatus {
    Journey::of(news.events.clone()).status()
}

/// What every parsed payload must be, however odd its input: texts trimmed
/// and within bounds, no archive reference, a tracking number.
pub fn assert_well_formed(news: &ParcelNews) {
    assert!(!news.tracking_number.as_str().is_empty());
    for event in &news.events {
        assert!(!event.code.is_empty());
        assert!(event.code.chars().count() <= MAX_EVENT_TEXT);
        assert!(event.description.chars().count() <= MAX_EVENT_TEXT);
        assert_eq!(event.description.trim(), event.description);
        if let Some(location) = &event.location {
            assert!(!location.is_empty());
            assert!(location.chars().count() <= MAX_EVENT_TEXT);
        }
        assert_eq!(event.raw_ref, None);
    }
}

/// Bytes that matter to JSON and XML parsers, so mutations break structure
/// as often as they break text.
const STRUCTURAL: &[u8] = b"{}[]<>\":,/&;!?-=\\ \n0aZ\xc3\xa9\xff\x00";

/// One edit to a document.
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    TruncateAt(usize),
}

fn any_byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), proptest::sample::select(STRUCTURAL.to_vec())]
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any_byte()).prop_map(|(at, byte)| Edit::Replace(at, byte)),
        (any::<usize>(), any_byte()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::TruncateAt),
    ]
}

/// `original` after one to eight random edits.
pub fn mutations_of(original: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any_edit(), 1..8).prop_map(move |edits| {
        let mut bytes = original.clone();
        for edit in edits {
            let len = bytes.len();
            match edit {
                Edit::Replace(at, byte) if len > 0 => bytes[at % len] = byte,
                Edit::Insert(at, byte) => bytes.insert(at % (len + 1), byte),
                Edit::Remove(at) if len > 0 => {
                    bytes.remove(at % len);
                }
                Edit::TruncateAt(at) => bytes.truncate(at % (len + 1)),
                Edit::Replace(..) | Edit::Remove(_) => {}
            }
        }
        bytes
    })
}

/// Arbitrary bytes, up to a few kilobytes.
pub fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..4_096)
}

/// Enough cases to find a panic, few enough to run in seconds.
pub fn robustness_config() -> ProptestConfig {
    ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
