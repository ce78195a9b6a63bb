//! The polled carriers' tracking APIs, faked on the local stack under
//! `/_fake/carriers/` (never in AWS), so courier-poller's real HTTP client
//! has something to poll: each parcel answers its scans so far as Canada
//! Post (XML, HTTP Basic auth) or Chit Chats (JSON, a bare token) would.
//! The courier simulator and the tests add scans and script failures:
//!
//! - `GET  /_fake/carriers/canada_post/vis/track/pin/{pin}/detail`
//! - `GET  /_fake/carriers/chit_chats/api/v1/clients/{client}/shipments/{id}`
//! - `POST /_fake/carriers/{carrier}/parcels/{number}/scans`
//!   `{"scans": [{"status": "in_transit", "at": "<RFC 3339>", "city": "HUB"}]}`
//! - `POST /_fake/carriers/{carrier}/script`
//!   `{"answers": [{"status": 429, "retry_after": 120, "body": "…"}]}`
//! - `GET  /_fake/carriers/calls`: every tracking call served so far

use crate::paths::match_path;
use crate::secrets::{LOCAL_CANADA_POST_CREDENTIALS, LOCAL_CHIT_CHATS_TOKEN};
use base64::Engine;
use serde_json::{Value, json};
use shopflow_domain::{Carrier, Timestamp, TrackingStatus};
use shopflow_testkit::couriers::{FakeCarriers, Scan, Scripted};

pub const PREFIX: &str = "/_fake/carriers/";

/// The Chit Chats client id the local stack polls as.
pub const LOCAL_CHIT_CHATS_CLIENT_ID: u64 = 424_242;

/// What the fake answers: status, `Retry-After`, content type and body.
pub struct FakeAnswer {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
    pub content_type: &'static str,
    pub body: String,
}

impl FakeAnswer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            retry_after_secs: None,
            content_type: "application/json",
            body: body.to_string(),
        }
    }
}

/// The answer to `method path` under [`PREFIX`], `authorization` being the
/// request's header.
pub fn answer(
    fake: &FakeCarriers,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> FakeAnswer {
    let route = |template: &str| match_path(template, path);
    if method == "GET" {
        if let Some(params) = route("/_fake/carriers/canada_post/vis/track/pin/{pin}/detail") {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(LOCAL_CANADA_POST_CREDENTIALS);
            if authorization != Some(format!("Basic {basic}").as_str()) {
                return FakeAnswer::json(401, json!({ "message": "bad credentials" }));
            }
            return tracked(
                fake,
                Carrier::CanadaPost,
                &params["pin"],
                "application/vnd.cpc.track-v2+xml",
            );
        }
        if let Some(params) =
            route("/_fake/carriers/chit_chats/api/v1/clients/{client}/shipments/{id}")
        {
            let known_client = params["client"] == LOCAL_CHIT_CHATS_CLIENT_ID.to_string();
            if authorization != Some(LOCAL_CHIT_CHATS_TOKEN) || !known_client {
                return FakeAnswer::json(401, json!({ "error": "unauthorized" }));
            }
            return tracked(fake, Carrier::ChitChats, &params["id"], "application/json");
        }
        if route("/_fake/carriers/calls").is_some() {
            let calls: Vec<Value> = fake
                .calls()
                .iter()
                .map(|(carrier, number)| json!({ "carrier": carrier, "number": number }))
                .collect();
            return FakeAnswer::json(200, json!({ "calls": calls }));
        }
    }
    if method == "POST" {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if let Some(params) = route("/_fake/carriers/{carrier}/parcels/{number}/scans") {
            return match (Carrier::parse(&params["carrier"]), scans(&request)) {
                (Some(_), Some(scans)) => {
                    let added = scans.len();
                    fake.scan_more(&params["number"], scans);
                    FakeAnswer::json(200, json!({ "added": added }))
                }
                _ => FakeAnswer::json(
                    400,
                    json!({ "message": "a polled carrier and scans with status, at and city" }),
                ),
            };
        }
        if let Some(params) = route("/_fake/carriers/{carrier}/script") {
            return match (Carrier::parse(&params["carrier"]), script(&request)) {
                (Some(carrier), Some(answers)) => {
                    let scripted = answers.len();
                    fake.then(carrier, answers);
                    FakeAnswer::json(200, json!({ "scripted": scripted }))
                }
                _ => FakeAnswer::json(
                    400,
                    json!({ "message": "a polled carrier and answers with a status" }),
                ),
            };
        }
    }
    FakeAnswer::json(404, json!({ "message": "no such fake carrier route" }))
}

/// The parcel's answer, as the carrier gives it now.
fn tracked(
    fake: &FakeCarriers,
    carrier: Carrier,
    number: &str,
    content_type: &'static str,
) -> FakeAnswer {
    match fake.answer(carrier, number) {
        Some(answer) => FakeAnswer {
            status: answer.status,
            retry_after_secs: answer.retry_after_secs,
            content_type,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        },
        // A scripted silence: the gateway gives up on the carrier.
        None => FakeAnswer::json(504, json!({ "message": "the carrier did not answer" })),
    }
}

fn scans(request: &Value) -> Option<Vec<Scan>> {
    request["scans"]
        .as_array()?
        .iter()
        .map(|scan| {
            Some(Scan {
                status: TrackingStatus::parse(scan["status"].as_str()?)?,
                at: Timestamp::parse_rfc3339(scan["at"].as_str()?)?,
                city: scan["city"].as_str().unwrap_or("HUB").to_owned(),
            })
        })
        .collect()
}

fn script(request: &Value) -> Option<Vec<Scripted>> {
    request["answers"]
        .as_array()?
        .iter()
        .map(|answer| {
            let status = u16::try_from(answer["status"].as_u64()?).ok()?;
            Some(Scripted::Status(
                status,
                answer["retry_after"].as_u64(),
                answer["body"].as_str().unwrap_or("{}").to_owned(),
            ))
        })
        .collect()
}
