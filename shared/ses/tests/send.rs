//! The SES adapter against a stand-in for SES's HTTP API: a mail taken is
//! its message id; throttling is retried a bounded number of times
//! ([`shopflow_ses::MAX_ATTEMPTS`] tries in all), then reported as
//! `Throttled` for the queue to retry; a
//! refusal of the mail is tried once and reported `Rejected`; a missing
//! configuration set is the stack's to fix, so it is retried, not final.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shopflow_ports::{Mail, MailError, Mailer};
use shopflow_ses::SesMailer;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers every request with `status` and SES's error `kind` (none: a
/// sent mail), counting the requests.
async fn ses_answering(status: u16, kind: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            // The request, headers and body, as far as its length says.
            loop {
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|line| {
                            let (name, value) = line.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())
                                .flatten()
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                if read == 0 {
                    break;
                }
            }
            let body = match kind {
                None => r#"{"MessageId":"ses-message-1"}"#.to_owned(),
                Some(kind) => format!(r#"{{"message":"stand-in {kind}"}}"#),
            };
            let error_type = kind
                .map(|kind| format!("x-amzn-ErrorType: {kind}\r\n"))
                .unwrap_or_default();
            let answer = format!(
                "HTTP/1.1 {status} Stand-in\r\ncontent-type: application/json\r\n{error_type}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (format!("http://{address}"), hits)
}

async fn mailer(endpoint: &str) -> SesMailer {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    SesMailer::from_config(
        &config,
        "Shop <no-reply@shop.example.com>".into(),
        Some("shopflow-test".into()),
    )
}

fn mail() -> Mail {
    Mail {
        to: "ada@example.com".into(),
        subject: "Your order is confirmed".into(),
        html: "<p>Thank you</p>".into(),
        text: "Thank you".into(),
        tags: vec![("event".into(), "01ABC".into())],
    }
}

#[tokio::test]
async fn a_mail_ses_takes_is_its_message_id() {
    let (endpoint, hits) = ses_answering(200, None).await;
    let sent = mailer(&endpoint).await.send(&mail()).await;
    assert_eq!(sent, Ok("ses-message-1".to_owned()));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn throttling_is_tried_a_few_times_then_handed_back() {
    let (endpoint, hits) = ses_answering(429, Some("TooManyRequestsException")).await;
    let sent = mailer(&endpoint).await.send(&mail()).await;
    assert!(matches!(sent, Err(MailError::Throttled(_))), "{sent:?}");
    let tries = usize::try_from(shopflow_ses::MAX_ATTEMPTS).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), tries, "bounded, not hammered");
}

#[tokio::test]
async fn a_refused_mail_is_tried_once_and_final() {
    let (endpoint, hits) = ses_answering(400, Some("MessageRejected")).await;
    let sent = mailer(&endpoint).await.send(&mail()).await;
    assert!(matches!(sent, Err(MailError::Rejected(_))), "{sent:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_missing_configuration_set_is_retried_by_the_queue() {
    let (endpoint, _) = ses_answering(404, Some("NotFoundException")).await;
    let sent = mailer(&endpoint).await.send(&mail()).await;
    assert!(matches!(sent, Err(MailError::Unavailable(_))), "{sent:?}");
}
