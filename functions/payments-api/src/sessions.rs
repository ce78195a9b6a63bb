//! `POST /v1/orders/{id}/checkout-session`: a hosted Stripe Checkout page for
//! an order that awaits payment, the second way to pay besides confirming
//! the payment checkout created. The page's own payment is held for manual
//! capture and names the order, so its events reach the order like any other;
//! whichever payment brings the money first is kept, a second is given back.

use crate::App;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::{Order, PaymentAttempt, Timestamp};
use shopflow_lambda_kit::{ApiError, Caller, http, idempotency, now};
use shopflow_ports::{CheckoutSessionRequest, OrderPayments, PaymentGateway, PaymentRecords};

/// Stripe keeps a page open at least 30 minutes; a minute more leaves room
/// for the clocks of two machines.
const PAGE_LIFETIME_SECS: u64 = 31 * 60;
/// Pages close on a 5-minute boundary, so requests for the order's next page
/// made close together ask Stripe the same thing under the same key.
const PAGE_CLOSE_STEP_SECS: u64 = 5 * 60;
/// An open page is offered again only while it has this long left.
const STILL_USABLE_SECS: u64 = 5 * 60;
const MAX_URL_CHARS: usize = 2_048;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    /// Where Stripe sends the customer after paying.
    success_url: String,
    /// Where Stripe sends the customer who gives up.
    cancel_url: String,
}

/// An absolute `https` URL with a host, or plain `http` to this machine
/// (`localhost` or `127.0.0.1`, any port), for local shops: the grammar
/// docs/openapi.yaml declares as the fields' pattern.
fn return_url(field: &str, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    let (secure, rest) = match (raw.strip_prefix("https://"), raw.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => (false, ""),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let this_machine = || {
        let (host, port) = authority
            .split_once(':')
            .map_or((authority, None), |(host, port)| (host, Some(port)));
        matches!(host, "localhost" | "127.0.0.1")
            && port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    };
    let allowed = if secure {
        !authority.is_empty()
    } else {
        !rest.is_empty() && this_machine()
    };
    // Whitespace and control characters, as the declared pattern's `\s` and
    // `\x00-\x1f\x7f-\x9f` read them, cannot be in a URL.
    let breaks_a_url = |c: char| c.is_whitespace() || c.is_control() || c == '\u{feff}';
    if !allowed || raw.chars().count() > MAX_URL_CHARS || raw.chars().any(breaks_a_url) {
        return Err(ApiError::invalid_field(
            field,
            format!(
                "must be an absolute https URL (http only to localhost or 127.0.0.1) of at most {MAX_URL_CHARS} characters"
            ),
        ));
    }
    Ok(raw.to_owned())
}

fn session_view(session_id: &str, url: &str, expires_at: Timestamp) -> serde_json::Value {
    json!({
        "session_id": session_id,
        "url": url,
        "expires_at": expires_at.to_rfc3339(),
    })
}

/// The order's newest hosted page the customer can still use.
fn open_page(records: &OrderPayments, now: Timestamp) -> Option<&PaymentAttempt> {
    records.attempts.iter().rev().find(|attempt| {
        matches!(attempt, PaymentAttempt::CheckoutSession { expires_at, .. }
            if *expires_at > now.plus_secs(STILL_USABLE_SECS))
    })
}

impl<S: PaymentRecords, G: PaymentGateway> App<S, G> {
    pub(crate) async fn checkout_session(
        &self,
        request: &Request,
    ) -> Result<Response<Body>, ApiError> {
        let caller = Caller::from_request(request)?;
        let body: SessionBody = http::json_body(request)?;
        let success_url = return_url("success_url", &body.success_url)?;
        let cancel_url = return_url("cancel_url", &body.cancel_url)?;
        let records = self.visible_order(request, &caller).await?;
        let order = &records.order;
        let now = now();
        ensure_awaits_payment(order, now)?;
        if let Some(PaymentAttempt::CheckoutSession {
            session_id,
            url,
            expires_at,
            ..
        }) = open_page(&records, now)
        {
            return Ok(http::json(
                StatusCode::OK,
                &session_view(session_id, url, *expires_at),
            ));
        }
        let pages_before = records
            .attempts
            .iter()
            .filter(|attempt| matches!(attempt, PaymentAttempt::CheckoutSession { .. }))
            .count();
        let closes_at = now.plus_secs(PAGE_LIFETIME_SECS).as_secs();
        let expires_at =
            Timestamp::from_millis(closes_at.next_multiple_of(PAGE_CLOSE_STEP_SECS) * 1_000);
        // Stripe refuses a key reused with other parameters: the key names them all.
        let asked = idempotency::sha256_hex(format!(
            "{success_url}\n{cancel_url}\n{}",
            expires_at.as_secs()
        ));
        let asked = &asked[..16];
        let session = self
            .gateway
            .create_checkout_session(&CheckoutSessionRequest {
                order_id: order.id,
                amount_minor: order.totals.grand_total.minor,
                currency: order.currency.clone(),
                email: order.email.clone(),
                description: format!("Order {}", order.id),
                success_url,
                cancel_url,
                expires_at,
                idempotency_key: format!("checkout-session-{}-{pages_before}-{asked}", order.id),
            })
            .await
            .map_err(|error| {
                ApiError::payment_provider(&error, "Stripe did not create the checkout page; retry")
            })?;
        let attempt = PaymentAttempt::CheckoutSession {
            session_id: session.id.clone(),
            url: session.url.clone(),
            expires_at: session.expires_at,
            created_at: now,
        };
        self.store.record_attempt(order.id, &attempt).await?;
        tracing::info!(order_id = %order.id, session_id = %session.id, "checkout page created");
        Ok(http::json(
            StatusCode::CREATED,
            &session_view(&session.id, &session.url, session.expires_at),
        ))
    }
}

/// Only an order still waiting for its money, with its stock still held,
/// gets a page.
fn ensure_awaits_payment(order: &Order, now: Timestamp) -> Result<(), ApiError> {
    if !order.state().holds_unpaid_reservation() || order.payment.holds_money() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "order_not_awaiting_payment",
            format!(
                "the order is {} (payment {}): there is nothing to pay",
                order.status.as_str(),
                order.payment.payment_status().as_str()
            ),
        )
        .with_detail("status", order.status.as_str())
        .with_detail("payment_status", order.payment.payment_status().as_str()));
    }
    if order.reservation_expires_at <= now {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "reservation_lapsed",
            "the order's stock is no longer held for it; check out again",
        )
        .with_detail(
            "reservation_expires_at",
            order.reservation_expires_at.to_rfc3339(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls_are_absolute_https_or_this_machine() {
        for good in [
            "https://shop.example/thanks?order=1",
            "http://localhost:5173/done",
            "http://127.0.0.1:3000/x",
            "http://localhost/done",
        ] {
            assert!(return_url("success_url", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/thanks",
            "http://shop.example/thanks",
            "https://",
            "javascript:alert(1)",
            "https://shop.example/a b",
            "http://localhost.evil.example/done",
            "http://127.0.0.1.evil.example",
            "http://localhost:/x",
        ] {
            assert!(return_url("success_url", bad).is_err(), "{bad}");
        }
        assert!(
            return_url(
                "success_url",
                &format!("https://a.example/{}", "x".repeat(2_100))
            )
            .is_err()
        );
    }
}
