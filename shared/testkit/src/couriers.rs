//! What carriers send, shaped as each carrier sends it, built from a parcel's
//! journey: USPS and DHL pushes, Canada Post and Chit Chats tracking
//! answers. Each scan's code is the first the courier adapter's own table
//! maps to the scan's status, so a payload built here reads back as the
//! journey it was built from. The handler tests and the local stack's
//! courier simulator both build payloads here.

use async_trait::async_trait;
use serde_json::{Value, json};
use shopflow_couriers::{canada_post, chit_chats, dhl, usps};
use shopflow_domain::{Carrier, Timestamp, TrackingNumber, TrackingStatus};
use shopflow_ports::{CarrierAnswer, CarrierCallError, TrackingApi};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One thing that happened to a parcel, somewhere, at some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub status: TrackingStatus,
    pub at: Timestamp,
    pub city: String,
}

/// The journeys the simulator replays, each a scan a minute from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    /// Label, picked up, two hubs, out for delivery, delivered.
    Delivered,
    /// Out for delivery, a failed attempt, then an exception.
    Exception,
    /// Two failed attempts, then back to the shop.
    Returned,
}

impl Journey {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "delivered" => Some(Self::Delivered),
            "exception" => Some(Self::Exception),
            "returned" => Some(Self::Returned),
            _ => None,
        }
    }

    /// The journey's scans, oldest first, as `carrier` can tell them (Chit
    /// Chats has no out-for-delivery or failed-attempt scans of its own).
    pub fn scans(self, carrier: Carrier, start: Timestamp) -> Vec<Scan> {
        use TrackingStatus as T;
        let steps: &[(TrackingStatus, &str)] = match self {
            Self::Delivered => &[
                (T::LabelCreated, "SHOP"),
                (T::PickedUp, "SHOP"),
                (T::InTransit, "HUB ONE"),
                (T::InTransit, "HUB TWO"),
                (T::OutForDelivery, "TOWN"),
                (T::Delivered, "TOWN"),
            ],
            Self::Exception => &[
                (T::LabelCreated, "SHOP"),
                (T::PickedUp, "SHOP"),
                (T::InTransit, "HUB ONE"),
                (T::OutForDelivery, "TOWN"),
                (T::DeliveryFailed, "TOWN"),
                (T::Exception, "TOWN"),
            ],
            Self::Returned => &[
                (T::LabelCreated, "SHOP"),
                (T::PickedUp, "SHOP"),
                (T::OutForDelivery, "TOWN"),
                (T::DeliveryFailed, "TOWN"),
                (T::DeliveryFailed, "TOWN"),
                (T::ReturnedToSender, "TOWN"),
            ],
        };
        steps
            .iter()
            .filter(|(status, _)| code(carrier, *status).is_some())
            .enumerate()
            .map(|(minute, (status, city))| Scan {
                status: *status,
                at: start.plus_secs(60 * minute as u64),
                city: (*city).to_owned(),
            })
            .collect()
    }
}

/// The first code `carrier`'s table maps to `status`, if it has one.
pub fn code(carrier: Carrier, status: TrackingStatus) -> Option<String> {
    let first = |table: &[(&'static str, TrackingStatus)]| {
        table
            .iter()
            .find(|(_, mapped)| *mapped == status)
            .map(|(code, _)| (*code).to_owned())
    };
    match carrier {
        Carrier::Usps => first(usps::EVENT_CODES),
        Carrier::Dhl => first(dhl::STATUS_CODES).or_else(|| first(dhl::PHRASES)),
        Carrier::CanadaPost => canada_post::EVENT_CODES
            .iter()
            .find(|(_, mapped)| *mapped == status)
            .map(|(codes, _)| format!("{:04}", codes.start())),
        Carrier::ChitChats => first(chit_chats::STATUSES),
    }
}

fn code_of(carrier: Carrier, scan: &Scan) -> String {
    code(carrier, scan.status)
        .unwrap_or_else(|| panic!("{carrier} has no code for {}", scan.status))
}

/// A USPS tracking push for `number`, newest event first, as Tracking API
/// v3 lists them.
pub fn usps_push(number: &str, scans: &[Scan]) -> String {
    let events: Vec<Value> = scans
        .iter()
        .rev()
        .map(|scan| {
            let utc = scan.at.to_rfc3339();
            let local = Timestamp::from_millis(scan.at.as_millis() - 4 * 3_600_000).to_rfc3339();
            json!({
                "eventType": scan.status.as_str().replace('_', " "),
                "eventTimestamp": local.get(..19),
                "GMTTimestamp": utc,
                "GMTOffset": "-04:00",
                "eventCity": scan.city,
                "eventState": "NC",
                "eventZIP": "28801",
                "eventCountry": null,
                "eventCode": code_of(Carrier::Usps, scan),
            })
        })
        .collect();
    json!({ "trackingNumber": number, "trackingEvents": events }).to_string()
}

/// The USPS headers that sign `body` with `secret` at `at`.
pub fn usps_signature(secret: &str, at: Timestamp, body: &str) -> [(&'static str, String); 2] {
    let secs = at.as_secs();
    [
        (usps::TIMESTAMP_HEADER, secs.to_string()),
        (
            usps::SIGNATURE_HEADER,
            usps::sign(secret.as_bytes(), secs, body.as_bytes()),
        ),
    ]
}

/// A DHL push about one shipment `number`, its latest scan as its status.
pub fn dhl_push(number: &str, scans: &[Scan]) -> String {
    let event = |scan: &Scan| {
        let code = code_of(Carrier::Dhl, scan);
        let (status_code, phrase) = if dhl::STATUS_CODES.iter().any(|(known, _)| *known == code) {
            (code.clone(), code)
        } else {
            ("transit".to_owned(), code)
        };
        json!({
            "timestamp": scan.at.to_rfc3339(),
            "location": { "address": { "addressLocality": scan.city, "countryCode": "DE" } },
            "statusCode": status_code,
            "status": phrase,
            "description": format!("The shipment: {phrase}"),
        })
    };
    let events: Vec<Value> = scans.iter().rev().map(event).collect();
    let status = scans.last().map(event).unwrap_or(Value::Null);
    json!({ "shipments": [{ "id": number, "service": "parcel-de", "status": status, "events": events }] })
        .to_string()
}

/// Canada Post's `tracking-detail` for PIN `number`, newest first.
pub fn canada_post_detail(number: &str, scans: &[Scan]) -> String {
    let occurrences: String = scans
        .iter()
        .rev()
        .map(|scan| {
            // Canada Post writes local time; these scans happen in EDT.
            let local = Timestamp::from_millis(scan.at.as_millis() - 4 * 3_600_000).to_rfc3339();
            format!(
                "<occurrence><event-identifier>{}</event-identifier><event-date>{}</event-date>\
                 <event-time>{}</event-time><event-time-zone>EDT</event-time-zone>\
                 <event-description>{}</event-description><event-site>{}</event-site>\
                 <event-province>QC</event-province></occurrence>",
                code_of(Carrier::CanadaPost, scan),
                local.get(..10).unwrap_or_default(),
                local.get(11..19).unwrap_or_default(),
                scan.status.as_str().replace('_', " "),
                scan.city,
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <tracking-detail xmlns=\"http://www.canadapost.ca/ws/track\"><pin>{number}</pin>\
         <significant-events>{occurrences}</significant-events></tracking-detail>"
    )
}

/// Canada Post's answer for a PIN nothing was scanned for yet.
pub fn canada_post_no_history() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
     <messages xmlns=\"http://www.canadapost.ca/ws/messages\"><message><code>004</code>\
     <description>No Pin History</description></message></messages>"
        .to_owned()
}

/// Chit Chats' answer for shipment `number`, newest event first.
pub fn chit_chats_shipment(number: &str, scans: &[Scan]) -> String {
    let events: Vec<Value> = scans
        .iter()
        .rev()
        .map(|scan| {
            json!({
                "type": "carrier_tracking_event",
                "title": scan.status.as_str().replace('_', " "),
                "subtitle": null,
                "location_description": scan.city,
                "created_at": scan.at.to_rfc3339(),
                "status": code_of(Carrier::ChitChats, scan),
            })
        })
        .collect();
    let status = scans
        .last()
        .map_or("ready".to_owned(), |scan| code_of(Carrier::ChitChats, scan));
    json!({
        "shipment": {
            "id": number,
            "status": status,
            "carrier": "usps",
            "carrier_tracking_code": null,
            "tracking_url": format!("https://chitchats.com/tracking/{number}"),
            "tracking_events": events,
        }
    })
    .to_string()
}

/// A scripted answer a fake carrier gives instead of the parcel's journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// This status, `Retry-After` and body.
    Status(u16, Option<u64>, String),
    /// No answer at all (a timeout).
    NoAnswer,
}

/// The polled carriers' tracking APIs, faked: each parcel answers its
/// scans so far as its carrier would, unless the carrier's script says
/// its next calls fail or are refused. Every call is counted. Clones share
/// everything, so a test keeps one while the poller owns another; the
/// local stack serves one over HTTP for the real client.
#[derive(Debug, Default, Clone)]
pub struct FakeCarriers {
    scans: Arc<Mutex<HashMap<String, Vec<Scan>>>>,
    scripts: Arc<Mutex<HashMap<Carrier, VecDeque<Scripted>>>>,
    calls: Arc<Mutex<Vec<(Carrier, String)>>>,
}

impl FakeCarriers {
    /// The parcel's scans so far are `scans`.
    pub fn scanned(&self, number: &str, scans: Vec<Scan>) {
        lock(&self.scans).insert(number.to_owned(), scans);
    }

    /// The parcel has also been scanned `scans`.
    pub fn scan_more(&self, number: &str, scans: Vec<Scan>) {
        lock(&self.scans)
            .entry(number.to_owned())
            .or_default()
            .extend(scans);
    }

    /// `carrier`'s next calls answer these, in order, whatever they ask about.
    pub fn then(&self, carrier: Carrier, answers: impl IntoIterator<Item = Scripted>) {
        lock(&self.scripts)
            .entry(carrier)
            .or_default()
            .extend(answers);
    }

    /// Every call made so far: carrier and parcel.
    pub fn calls(&self) -> Vec<(Carrier, String)> {
        lock(&self.calls).clone()
    }

    /// What `carrier` answers about `number` now; `None` for no answer.
    pub fn answer(&self, carrier: Carrier, number: &str) -> Option<CarrierAnswer> {
        lock(&self.calls).push((carrier, number.to_owned()));
        let scripted = lock(&self.scripts)
            .get_mut(&carrier)
            .and_then(VecDeque::pop_front);
        match scripted {
            Some(Scripted::NoAnswer) => return None,
            Some(Scripted::Status(status, retry_after_secs, body)) => {
                return Some(CarrierAnswer {
                    status,
                    retry_after_secs,
                    body: body.into_bytes(),
                });
            }
            None => {}
        }
        let scans = lock(&self.scans).get(number).cloned().unwrap_or_default();
        let (status, body) = match carrier {
            Carrier::CanadaPost if scans.is_empty() => (404, canada_post_no_history()),
            Carrier::CanadaPost => (200, canada_post_detail(number, &scans)),
            Carrier::ChitChats => (200, chit_chats_shipment(number, &scans)),
            Carrier::Usps | Carrier::Dhl => (404, "{}".to_owned()),
        };
        Some(CarrierAnswer {
            status,
            retry_after_secs: None,
            body: body.into_bytes(),
        })
    }
}

#[async_trait]
impl TrackingApi for FakeCarriers {
    async fn track(
        &self,
        carrier: Carrier,
        number: &TrackingNumber,
    ) -> Result<CarrierAnswer, CarrierCallError> {
        self.answer(carrier, number.as_str())
            .ok_or_else(|| CarrierCallError::NoAnswer {
                carrier,
                reason: "timed out".into(),
            })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopflow_domain::Journey as Read;

    const START: Timestamp = Timestamp::from_millis(1_750_000_000_000);

    fn read_back(carrier: Carrier, body: &str) -> Vec<shopflow_couriers::ParcelNews> {
        match carrier {
            Carrier::Usps => vec![usps::parse_push(body.as_bytes()).unwrap()],
            Carrier::Dhl => dhl::parse_push(body.as_bytes()).unwrap(),
            Carrier::CanadaPost => match canada_post::parse_detail(body.as_bytes()).unwrap() {
                canada_post::TrackAnswer::News(news) => vec![news],
                other => panic!("{other:?}"),
            },
            Carrier::ChitChats => vec![chit_chats::parse_shipment(body.as_bytes()).unwrap()],
        }
    }

    #[test]
    fn every_journey_reads_back_as_itself_for_every_carrier() {
        for carrier in Carrier::ALL {
            for journey in [Journey::Delivered, Journey::Exception, Journey::Returned] {
                let scans = journey.scans(carrier, START);
                let body = match carrier {
                    Carrier::Usps => usps_push("9400100000000000000000", &scans),
                    Carrier::Dhl => dhl_push("00340434161094015902", &scans),
                    Carrier::CanadaPost => canada_post_detail("1371134583769923", &scans),
                    Carrier::ChitChats => chit_chats_shipment("B5UCR4N3C2", &scans),
                };
                let news = read_back(carrier, &body);
                let events = news[0].events.clone();
                let statuses: Vec<_> = Read::of(events.clone())
                    .events()
                    .iter()
                    .map(|event| event.status)
                    .collect();
                let wanted: Vec<_> = scans.iter().map(|scan| scan.status).collect();
                assert_eq!(statuses, wanted, "{carrier} {journey:?}");
                let times: Vec<_> = Read::of(events)
                    .events()
                    .iter()
                    .map(|e| e.occurred_at)
                    .collect();
                assert_eq!(
                    times,
                    scans.iter().map(|s| s.at).collect::<Vec<_>>(),
                    "{carrier}"
                );
            }
        }
    }
}
