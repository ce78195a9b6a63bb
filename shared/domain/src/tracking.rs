//! Courier tracking in one vocabulary, whatever the carrier: the statuses a
//! parcel can be in (karrio's, the open-source multi-carrier library's),
//! the events carriers report, and how a journey's status follows from its
//! events. Turning a carrier's own codes into these is the courier
//! adapters' job; what the statuses mean for an order is decided here.

use crate::ids::InvalidValue;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The carriers shopflow tracks, and how each tells us news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// Pushes Tracking API v3 events to our webhook (its subscriptions).
    Usps,
    /// Pushes Shipment Tracking – Unified events to our webhook.
    Dhl,
    /// Has no push: polled at its tracking API.
    CanadaPost,
    /// Has no push: polled at its shipments API.
    ChitChats,
}

/// How news of a carrier's parcels reaches us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackedBy {
    /// The carrier calls our webhook.
    Push,
    /// We ask the carrier, on a schedule.
    Polling,
}

impl Carrier {
    pub const ALL: [Carrier; 4] = [Self::Usps, Self::Dhl, Self::CanadaPost, Self::ChitChats];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usps => "usps",
            Self::Dhl => "dhl",
            Self::CanadaPost => "canada_post",
            Self::ChitChats => "chit_chats",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|carrier| carrier.as_str() == raw)
    }

    pub fn tracked_by(self) -> TrackedBy {
        match self {
            Self::Usps | Self::Dhl => TrackedBy::Push,
            Self::CanadaPost | Self::ChitChats => TrackedBy::Polling,
        }
    }

    /// The carrier's public page for a parcel, for the customer.
    pub fn tracking_url(self, number: &TrackingNumber) -> String {
        match self {
            Self::Usps => format!("https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
            Self::Dhl => {
                format!("https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}")
            }
            Self::CanadaPost => {
                format!(
                    "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}"
                )
            }
            Self::ChitChats => format!("https://chitchats.com/tracking/{number}"),
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A carrier's number for one parcel (for Chit Chats, its shipment id):
/// 4 to 40 ASCII letters and digits, as the carrier prints it. It is part
/// of keys, so it can never hold our separator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingNumber(String);

impl TrackingNumber {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        if !(4..=Self::MAX_CHARS).contains(&raw.len())
            || !raw.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(InvalidValue {
                field: "tracking_number",
                reason: format!("must be 4 to {} letters and digits", Self::MAX_CHARS),
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingNumber {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TrackingNumber> for String {
    fn from(value: TrackingNumber) -> Self {
        value.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a parcel is, in karrio's vocabulary (its `pending` is our
/// `label_created`, its `return_to_sender` our `returned_to_sender`; its
/// incident reasons are our `exception`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    /// The carrier knows the parcel; it has not been handed over yet.
    LabelCreated,
    PickedUp,
    InTransit,
    OutForDelivery,
    /// A delivery attempt failed (nobody home, no access).
    DeliveryFailed,
    DeliveryDelayed,
    /// Held by the carrier (customs, an address query).
    OnHold,
    /// Waiting at a pickup point for the customer.
    ReadyForPickup,
    Delivered,
    /// On its way back to the shop.
    ReturnedToSender,
    /// Damaged, lost, refused, or anything else that needs someone to act.
    Exception,
    /// An event the carrier reported that says nothing about where the
    /// parcel is (a signature image, a notice sent).
    Unknown,
}

impl TrackingStatus {
    pub const ALL: [TrackingStatus; 12] = [
        Self::LabelCreated,
        Self::PickedUp,
        Self::InTransit,
        Self::OutForDelivery,
        Self::DeliveryFailed,
        Self::DeliveryDelayed,
        Self::OnHold,
        Self::ReadyForPickup,
        Self::Delivered,
        Self::ReturnedToSender,
        Self::Exception,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LabelCreated => "label_created",
            Self::PickedUp => "picked_up",
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::DeliveryFailed => "delivery_failed",
            Self::DeliveryDelayed => "delivery_delayed",
            Self::OnHold => "on_hold",
            Self::ReadyForPickup => "ready_for_pickup",
            Self::Delivered => "delivered",
            Self::ReturnedToSender => "returned_to_sender",
            Self::Exception => "exception",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// How far along the journey a status is. A shipment's status never
    /// moves to a lower rank; within a rank the latest event decides, so a
    /// parcel that failed delivery can be out for delivery again, and one
    /// in an exception can move on.
    pub fn rank(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::LabelCreated => 1,
            Self::PickedUp => 2,
            Self::InTransit
            | Self::OutForDelivery
            | Self::DeliveryFailed
            | Self::DeliveryDelayed
            | Self::OnHold
            | Self::ReadyForPickup
            | Self::Exception => 3,
            Self::Delivered | Self::ReturnedToSender => 4,
        }
    }

    /// The journey is over: nothing the carrier reports later moves it
    /// back. (It can still turn into a return.)
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// Someone has to look at it: the notifier tells the customer, and the
    /// metrics count it.
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Self::DeliveryFailed | Self::Exception | Self::ReturnedToSender
        )
    }
}

impl fmt::Display for TrackingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest description or location kept from a carrier, in characters.
pub const MAX_EVENT_TEXT: usize = 200;

/// One thing a carrier reported about a parcel, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    /// The carrier's own id of the event, when it gives one.
    pub carrier_event_id: Option<String>,
    /// The carrier's code for what happened (`0174`, `transit`, …).
    pub code: String,
    pub description: String,
    pub location: Option<String>,
    /// When it happened, in UTC.
    pub occurred_at: Timestamp,
    pub status: TrackingStatus,
    /// Where the payload that reported it is kept (see the raw archive).
    pub raw_ref: Option<String>,
}

impl TrackingEvent {
    /// Whether `other` reports the same thing: the same carrier event id,
    /// or the same code at the same time.
    pub fn is_same_as(&self, other: &TrackingEvent) -> bool {
        let same_id =
            self.carrier_event_id.is_some() && self.carrier_event_id == other.carrier_event_id;
        same_id || (self.code == other.code && self.occurred_at == other.occurred_at)
    }

    /// The timeline's order: by time, then by code and id, so the same
    /// events always list the same way whatever order they arrived in.
    fn chronological(&self, other: &TrackingEvent) -> Ordering {
        (self.occurred_at, &self.code, &self.carrier_event_id).cmp(&(
            other.occurred_at,
            &other.code,
            &other.carrier_event_id,
        ))
    }

    /// Which of two events says more about where the parcel is: the higher
    /// rank, then the later event (then the timeline's order, so the answer
    /// never depends on the order events arrived in).
    fn decisiveness(&self, other: &TrackingEvent) -> Ordering {
        (self.status.rank(), self.occurred_at)
            .cmp(&(other.status.rank(), other.occurred_at))
            .then_with(|| self.chronological(other))
    }
}

/// A parcel's journey as far as we know it: every distinct event, in
/// time order, and the status they add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    events: Vec<TrackingEvent>,
}

/// What new reports did to a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyUpdate {
    pub journey: Journey,
    /// The reported events it did not know, in time order.
    pub added: Vec<TrackingEvent>,
    pub status_before: TrackingStatus,
    pub status_after: TrackingStatus,
}

impl JourneyUpdate {
    /// Whether the reports changed the journey's status.
    pub fn moved(&self) -> bool {
        self.status_before != self.status_after
    }
}

impl Journey {
    /// A journey of `events`, duplicates dropped, in time order.
    pub fn of(events: Vec<TrackingEvent>) -> Self {
        Self::default().with_reports(events).journey
    }

    pub fn events(&self) -> &[TrackingEvent] {
        &self.events
    }

    /// The status the events add up to: that of the event of the highest
    /// rank, the latest among equals. A label exists before any event, so
    /// a journey with no event of a known status is `label_created`.
    pub fn status(&self) -> TrackingStatus {
        self.events
            .iter()
            .filter(|event| event.status != TrackingStatus::Unknown)
            .max_by(|a, b| a.decisiveness(b))
            .map_or(TrackingStatus::LabelCreated, |event| event.status)
    }

    /// When the status was last reached: the deciding event's time.
    pub fn status_since(&self) -> Option<Timestamp> {
        let status = self.status();
        self.events
            .iter()
            .filter(|event| event.status == status)
            .map(|event| event.occurred_at)
            .max()
    }

    /// The journey with `reports` added: those it already knows (or that
    /// repeat one another) are dropped, the rest join in time order.
    pub fn with_reports(&self, reports: Vec<TrackingEvent>) -> JourneyUpdate {
        let status_before = self.status();
        let mut events = self.events.clone();
        let mut added = Vec::new();
        for report in reports {
            if !events.iter().any(|known| known.is_same_as(&report)) {
                events.push(report.clone());
                added.push(report);
            }
        }
        events.sort_by(TrackingEvent::chronological);
        added.sort_by(TrackingEvent::chronological);
        let journey = Self { events };
        JourneyUpdate {
            status_after: journey.status(),
            journey,
            added,
            status_before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackingStatus as T;
    use proptest::prelude::*;

    fn event(code: &str, minute: u64, status: TrackingStatus) -> TrackingEvent {
        TrackingEvent {
            carrier_event_id: None,
            code: code.into(),
            description: format!("{status}"),
            location: None,
            occurred_at: Timestamp::from_millis(1_700_000_000_000 + minute * 60_000),
            status,
            raw_ref: None,
        }
    }

    /// A parcel's six-step journey, an event a minute.
    fn journey() -> Vec<TrackingEvent> {
        vec![
            event("LC", 0, T::LabelCreated),
            event("PU", 1, T::PickedUp),
            event("IT", 2, T::InTransit),
            event("IT2", 3, T::InTransit),
            event("OD", 4, T::OutForDelivery),
            event("DL", 5, T::Delivered),
        ]
    }

    #[test]
    fn every_status_round_trips_by_name() {
        for status in T::ALL {
            assert_eq!(T::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        for carrier in Carrier::ALL {
            assert_eq!(Carrier::parse(carrier.as_str()), Some(carrier));
        }
        assert_eq!(Carrier::parse("fedex"), None);
    }

    #[test]
    fn tracking_numbers_are_short_runs_of_letters_and_digits() {
        assert!(TrackingNumber::parse("9400111899223456789012").is_ok());
        assert_eq!(
            TrackingNumber::parse(" 1Z999 ").map(|n| n.to_string()),
            Ok("1Z999".into())
        );
        for bad in ["", "ABC", "A#B1234", "has space", &"9".repeat(41)] {
            assert!(TrackingNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_journey_with_no_news_has_only_its_label() {
        assert_eq!(Journey::default().status(), T::LabelCreated);
        assert_eq!(
            Journey::of(vec![event("SIG", 9, T::Unknown)]).status(),
            T::LabelCreated
        );
    }

    #[test]
    fn a_late_in_transit_after_delivery_is_kept_but_does_not_move_the_status_back() {
        let delivered = Journey::of(journey());
        let update = delivered.with_reports(vec![event("IT3", 9, T::InTransit)]);
        assert_eq!(update.added.len(), 1);
        assert_eq!(update.journey.events().len(), 7);
        assert!(!update.moved());
        assert_eq!(update.status_after, T::Delivered);
    }

    #[test]
    fn a_failed_delivery_can_be_followed_by_another_attempt() {
        let failed = Journey::of(vec![
            event("OD", 1, T::OutForDelivery),
            event("NH", 2, T::DeliveryFailed),
        ]);
        assert_eq!(failed.status(), T::DeliveryFailed);
        let again = failed.with_reports(vec![event("OD", 3, T::OutForDelivery)]);
        assert_eq!(again.status_after, T::OutForDelivery);
        assert!(again.moved());
    }

    #[test]
    fn an_earlier_pickup_reported_late_does_not_move_a_parcel_in_transit() {
        let moving = Journey::of(vec![event("IT", 5, T::InTransit)]);
        let update = moving.with_reports(vec![event("PU", 1, T::PickedUp)]);
        assert_eq!(update.status_after, T::InTransit);
        assert_eq!(update.journey.events()[0].code, "PU");
    }

    #[test]
    fn the_newest_event_need_not_say_where_the_parcel_is() {
        // Canada Post lists a signature image after the delivery.
        let journey = Journey::of(vec![
            event("SIG", 9, T::Unknown),
            event("DL", 5, T::Delivered),
            event("IT", 2, T::InTransit),
        ]);
        assert_eq!(journey.status(), T::Delivered);
        assert_eq!(
            journey.status_since(),
            Some(event("", 5, T::Unknown).occurred_at)
        );
    }

    #[test]
    fn the_same_carrier_event_id_or_the_same_code_and_time_is_one_event() {
        let mut with_id = event("IT", 2, T::InTransit);
        with_id.carrier_event_id = Some("ev-1".into());
        let mut same_id_other_text = event("IT-X", 7, T::InTransit);
        same_id_other_text.carrier_event_id = Some("ev-1".into());
        let same_code_and_time = event("IT", 2, T::InTransit);
        let update = Journey::default().with_reports(vec![
            with_id.clone(),
            same_id_other_text,
            same_code_and_time,
        ]);
        assert_eq!(update.journey.events(), &[with_id]);
    }

    #[test]
    fn a_return_after_delivery_and_an_exception_before_it_follow_the_latest_final_report() {
        let returned = Journey::of(journey())
            .with_reports(vec![event("RS", 20, T::ReturnedToSender)])
            .journey;
        assert_eq!(returned.status(), T::ReturnedToSender);
        assert!(returned.status().needs_attention());
        let recovered = Journey::of(vec![
            event("EX", 1, T::Exception),
            event("IT", 2, T::InTransit),
        ]);
        assert_eq!(recovered.status(), T::InTransit);
    }

    fn any_status() -> impl Strategy<Value = TrackingStatus> {
        proptest::sample::select(T::ALL.to_vec())
    }

    proptest! {
        /// However the reports arrive (in any order, repeated, in any
        /// chunks), the journey ends with the same events listed the same
        /// way and the same status; and a status never drops in rank.
        #[test]
        fn out_of_order_and_repeated_reports_converge(
            statuses in proptest::collection::vec((any_status(), 0u64..30), 1..12),
            order in proptest::collection::vec(any::<proptest::sample::Index>(), 1..40),
            chunk in 1usize..5,
        ) {
            let events: Vec<TrackingEvent> = statuses
                .iter()
                .enumerate()
                .map(|(i, (status, minute))| event(&format!("C{i}"), *minute, *status))
                .collect();
            let reference = Journey::of(events.clone());
            let mut arrivals: Vec<TrackingEvent> =
                order.iter().map(|index| events[index.index(events.len())].clone()).collect();
            arrivals.extend(events.iter().cloned());
            let mut journey = Journey::default();
            for reports in arrivals.chunks(chunk) {
                let update = journey.with_reports(reports.to_vec());
                prop_assert!(update.status_after.rank() >= update.status_before.rank());
                journey = update.journey;
            }
            prop_assert_eq!(journey.events(), reference.events());
            prop_assert_eq!(journey.status(), reference.status());
        }
    }
}
