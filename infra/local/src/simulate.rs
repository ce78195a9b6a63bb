//! The courier simulator: replays a realistic journey for one shipment on
//! a running local stack, as its carrier would report it. USPS and DHL
//! push: each scan goes to the real webhook, signed with the local secret
//! or carrying the local token. Canada Post and Chit Chats are polled: each
//! scan goes to the fake carrier API, which courier-poller reads on its next
//! check of the parcel.

use crate::fake_carriers;
use crate::secrets::{LOCAL_DHL_TOKEN, LOCAL_USPS_SECRET};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use shopflow_domain::{Carrier, TrackedBy};
use shopflow_testkit::couriers::{self, Journey, Scan};
use std::time::Duration;

/// What the simulator needs to know.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The stack's address, `http://127.0.0.1:3000`.
    pub base: String,
    pub shipment: String,
    pub journey: Journey,
    /// The pause between two scans.
    pub every: Duration,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Sends `request` and answers its status and JSON body.
async fn send(
    http: &HttpClient,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(u16, Value), String> {
    let response = http.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn post(
    url: String,
    headers: &[(&str, String)],
    body: String,
) -> Result<hyper::Request<Full<Bytes>>, String> {
    let mut request = hyper::Request::post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())
}

/// Replays the journey, printing each scan and what the stack answered.
pub async fn run(simulation: &Simulation, admin_token: &str) -> Result<(), String> {
    let http: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let url = format!("{}/v1/shipments/{}", simulation.base, simulation.shipment);
    let request = hyper::Request::get(url)
        .header("authorization", format!("Bearer {admin_token}"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let (status, shipment) = send(&http, request).await?;
    if status != 200 {
        return Err(format!(
            "GET /v1/shipments/{} answered {status}: {shipment}",
            simulation.shipment
        ));
    }
    let carrier = shipment["carrier"]
        .as_str()
        .and_then(Carrier::parse)
        .ok_or("the shipment names no carrier")?;
    let number = shipment["tracking_number"]
        .as_str()
        .ok_or("the shipment has no tracking number")?
        .to_owned();
    let scans = simulation
        .journey
        .scans(carrier, shopflow_domain::Timestamp::from_millis(0));
    eprintln!(
        "replaying {} scans for {carrier} parcel {number} ({:?} journey)",
        scans.len(),
        simulation.journey
    );
    // Carriers' times have a second's precision at best: the journey's
    // scans are a minute apart, the last one now.
    let count = scans.len() as u64;
    for (index, template) in (0u64..).zip(scans) {
        let scan = Scan {
            at: shopflow_lambda_kit::now().minus_secs(60 * (count - 1 - index)),
            ..template
        };
        let (status, answer) = report(&http, &simulation.base, carrier, &number, &scan).await?;
        eprintln!("  {:<18} -> {status} {answer}", scan.status.as_str());
        tokio::time::sleep(simulation.every).await;
    }
    if carrier.tracked_by() == TrackedBy::Polling {
        eprintln!(
            "{carrier} is polled: courier-poller reads these scans at the parcel's next check \
             (PollIntervalMinutes after the last one; 1 minute on the local stack)"
        );
    }
    Ok(())
}

/// One scan, as the carrier reports it.
async fn report(
    http: &HttpClient,
    base: &str,
    carrier: Carrier,
    number: &str,
    scan: &Scan,
) -> Result<(u16, Value), String> {
    let request = match carrier {
        Carrier::Usps => {
            let body = couriers::usps_push(number, std::slice::from_ref(scan));
            let headers =
                couriers::usps_signature(LOCAL_USPS_SECRET, shopflow_lambda_kit::now(), &body);
            post(format!("{base}/v1/webhooks/couriers/usps"), &headers, body)?
        }
        Carrier::Dhl => {
            let body = couriers::dhl_push(number, std::slice::from_ref(scan));
            post(
                format!("{base}/v1/webhooks/couriers/dhl"),
                &[("dhl-api-key", LOCAL_DHL_TOKEN.to_owned())],
                body,
            )?
        }
        Carrier::CanadaPost | Carrier::ChitChats => {
            let body = json!({ "scans": [{
                "status": scan.status,
                "at": scan.at.to_rfc3339(),
                "city": scan.city,
            }] });
            post(
                format!(
                    "{base}{}{carrier}/parcels/{number}/scans",
                    fake_carriers::PREFIX
                ),
                &[],
                body.to_string(),
            )?
        }
    };
    send(http, request).await
}
