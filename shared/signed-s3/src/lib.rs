//! S3 over requests signed with SigV4 on hyper and rustls, without the AWS
//! SDK, whose S3 client alone is about 1.5 MB of a zipped bootstrap
//! (docs/decisions/0011): objects put (invoice PDFs, large carrier
//! payloads), asked after (HEAD) and handed out through presigned links.
//! Path-style addressing: it works for every bucket name the template
//! makes, in AWS and on the local emulator.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use shopflow_ports::{RawPayload, StoreError};
use std::time::{Duration, SystemTime};

type HttpClient = shopflow_https::HttpsClient<Full<Bytes>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of a request S3 could not answer (a pooled connection gone stale
/// while Lambda was frozen, a 503 SlowDown): each is signed afresh.
const ATTEMPTS: u32 = 2;
/// What of an error answer is kept for the log: S3's XML code and message.
const ERROR_BODY_CHARS: usize = 300;

/// One bucket, written with signed PUTs.
#[derive(Clone, Debug)]
pub struct SignedBucket {
    http: HttpClient,
    /// `https://s3.<region>.amazonaws.com`, or an emulator's; no trailing `/`.
    endpoint: String,
    region: String,
    bucket: String,
    credentials: SharedCredentialsProvider,
}

impl SignedBucket {
    /// `bucket` at `endpoint` in `region`, signing with `credentials`; TLS
    /// trusts the machine's roots.
    pub fn new(
        endpoint: &str,
        region: &str,
        bucket: &str,
        credentials: SharedCredentialsProvider,
    ) -> std::io::Result<Self> {
        Ok(Self {
            http: shopflow_https::client(CONNECT_TIMEOUT)?,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            credentials,
        })
    }

    /// `bucket` through an AWS SDK configuration's endpoint (an emulator's
    /// locally), region and credentials; S3's regional endpoint when it
    /// names none.
    pub fn from_config(config: &aws_types::SdkConfig, bucket: &str) -> std::io::Result<Self> {
        let missing = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the AWS configuration has no {what}"),
            )
        };
        let region = config
            .region()
            .ok_or_else(|| missing("region"))?
            .to_string();
        let endpoint = config
            .endpoint_url()
            .map(str::to_owned)
            .unwrap_or_else(|| Self::regional_endpoint(&region));
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| missing("credentials"))?;
        Self::new(&endpoint, &region, bucket, credentials)
    }

    /// The regional endpoint of S3 in `region`.
    pub fn regional_endpoint(region: &str) -> String {
        format!("https://s3.{region}.amazonaws.com")
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Writes `body` at `key`, encrypted at rest (SSE-S3), replacing what
    /// was there.
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let headers = [
            ("content-type", content_type),
            ("x-amz-server-side-encryption", "AES256"),
        ];
        let status = self
            .send_signed("s3:PutObject", "PUT", key, &headers, Bytes::from(body))
            .await?;
        match status {
            Answer::Done => Ok(()),
            Answer::NotFound => Err(refused("s3:PutObject", "404 Not Found: no such bucket")),
        }
    }

    /// Whether an object is kept at `key`: a HEAD of it. S3 answers 404
    /// for a missing key only to a role that may list the bucket (403
    /// otherwise), so the template grants that on the key's prefix.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let answer = self
            .send_signed("s3:HeadObject", "HEAD", key, &[], Bytes::new())
            .await?;
        Ok(matches!(answer, Answer::Done))
    }

    /// A link that GETs `key` for `valid_secs` seconds and not after,
    /// signed now with the current credentials (temporary credentials end
    /// it sooner if they expire first).
    pub async fn presigned_get(&self, key: &str, valid_secs: u64) -> Result<String, StoreError> {
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(valid_secs));
        let mut request = http::Request::builder()
            .method("GET")
            .uri(self.uri(key))
            .body(Full::new(Bytes::new()))
            .map_err(|error| defect("building a presigned GET", error.into()))?;
        self.sign(&mut request, &[], SignableBody::UnsignedPayload, settings)
            .await?;
        Ok(request.uri().to_string())
    }

    fn uri(&self, key: &str) -> String {
        format!("{}/{}/{}", self.endpoint, self.bucket, encoded_key(key))
    }

    /// A `method` request on `key` with `headers` and `body`, signed now
    /// with the current credentials, the payload's SHA-256 signed with it.
    async fn signed(
        &self,
        method: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, StoreError> {
        let mut request = http::Request::builder().method(method).uri(self.uri(key));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // `Bytes` clones share the buffer: the payload is signed as sent.
        let mut request = request
            .body(Full::new(body.clone()))
            .map_err(|error| defect("building a request", error.into()))?;
        let mut settings = s3_settings();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        self.sign(&mut request, headers, SignableBody::Bytes(&body), settings)
            .await?;
        Ok(request)
    }

    /// Signs `request` (whose `headers` are signed with it) in place: the
    /// authorization headers, or the query of a presigned link.
    async fn sign(
        &self,
        request: &mut http::Request<Full<Bytes>>,
        headers: &[(&str, &str)],
        body: SignableBody<'_>,
        settings: SigningSettings,
    ) -> Result<(), StoreError> {
        let identity: Identity = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|error| defect("reading AWS credentials", error.into()))?
            .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|error| defect("signing a request", error.into()))?
            .into();
        let uri = request.uri().to_string();
        let signable = SignableRequest::new(
            request.method().as_str(),
            uri.as_str(),
            headers.iter().copied(),
            body,
        )
        .map_err(|error| defect("signing a request", error.into()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|error| defect("signing a request", error.into()))?
            .into_parts();
        // Authorization, x-amz-date, x-amz-content-sha256 and, with
        // temporary credentials, x-amz-security-token; or their query
        // parameters for a presigned link.
        instructions.apply_to_request_http1x(request);
        Ok(())
    }

    /// Sends a `method` request on `key`, signed afresh for each of
    /// [`ATTEMPTS`] while S3 is unavailable.
    async fn send_signed(
        &self,
        operation: &str,
        method: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, StoreError> {
        let mut attempt = 1;
        loop {
            let request = self.signed(method, key, headers, body.clone()).await?;
            match self.send(operation, request).await {
                Err(StoreError::Unavailable(reason)) if attempt < ATTEMPTS => {
                    tracing::warn!(operation, attempt, %reason, "S3 unavailable; trying again");
                    attempt += 1;
                }
                answered => return answered,
            }
        }
    }

    /// Sends `request`: done (2xx) or not found (404); a refusal is a
    /// defect, a server error, throttling or no answer in time unavailable.
    async fn send(
        &self,
        operation: &str,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Answer, StoreError> {
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!("{operation}: no answer in {REQUEST_TIMEOUT:?}"))
            })?
            .map_err(|error| StoreError::Unavailable(format!("{operation}: {error}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Answer::Done);
        }
        if status == http::StatusCode::NOT_FOUND {
            return Ok(Answer::NotFound);
        }
        let answer = response
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes())
            .unwrap_or_default();
        let answer: String = String::from_utf8_lossy(&answer)
            .chars()
            .take(ERROR_BODY_CHARS)
            .collect();
        let reason = format!("{status}: {answer}");
        if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
            Err(StoreError::Unavailable(format!(
                "{operation} answered {reason}"
            )))
        } else {
            Err(refused(operation, &reason))
        }
    }
}

/// What S3 answered a request that it did not refuse.
enum Answer {
    Done,
    NotFound,
}

/// How S3 signs: the path as sent (encoded once, not normalised).
fn s3_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings
}

fn defect(what: &'static str, source: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    StoreError::Defect {
        what: what.into(),
        source,
    }
}

fn refused(operation: &str, reason: &str) -> StoreError {
    StoreError::Defect {
        what: format!("{operation} refused"),
        source: reason.to_owned().into(),
    }
}

#[async_trait]
impl shopflow_ports::DocumentShelf for SignedBucket {
    async fn shelve(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
        self.put(key, pdf, "application/pdf").await
    }
}

#[async_trait]
impl shopflow_ports::DocumentLinks for SignedBucket {
    async fn is_shelved(&self, key: &str) -> Result<bool, StoreError> {
        self.exists(key).await
    }

    async fn link(&self, key: &str, valid_secs: u64) -> Result<String, StoreError> {
        self.presigned_get(key, valid_secs).await
    }
}

#[async_trait]
impl shopflow_ports::ObjectArchive for SignedBucket {
    async fn keep_object(
        &self,
        payload: &RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        let key = payload.object_key();
        self.put(&key, gzipped.to_vec(), "application/gzip").await?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}

/// `key` as a URI path: each byte but the unreserved ones and `/`
/// percent-encoded, as S3 signs it.
fn encoded_key(key: &str) -> String {
    key.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The credentials Lambda gives a function's role, from
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
/// read at each signing.
#[derive(Debug, Default)]
pub struct EnvCredentials;

impl EnvCredentials {
    fn read() -> aws_credential_types::provider::Result {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Ok(Credentials::new(
                key,
                secret,
                var("AWS_SESSION_TOKEN"),
                None,
                "environment",
            )),
            _ => Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                ),
            ),
        }
    }
}

impl ProvideCredentials for EnvCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Self::read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn keys_are_encoded_as_s3_signs_them() {
        assert_eq!(
            encoded_key("invoices/01JF/issued.pdf"),
            "invoices/01JF/issued.pdf"
        );
        assert_eq!(encoded_key("a b+c/ü"), "a%20b%2Bc/%C3%BC");
    }

    /// What the fake S3 saw of each request: method, path and headers.
    type Seen = Arc<Mutex<Vec<(String, String, http::HeaderMap)>>>;

    /// A fake S3 on a free port answering every request with `status`.
    async fn fake_s3(status: u16) -> (String, Seen) {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen: Seen = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let log = log.clone();
                            async move {
                                let (parts, body) = request.into_parts();
                                let _ = body.collect().await;
                                log.lock().unwrap().push((
                                    parts.method.to_string(),
                                    parts.uri.path().to_owned(),
                                    parts.headers,
                                ));
                                http::Response::builder().status(status).body(Full::new(
                                    Bytes::from_static(b"<Error><Code>AccessDenied</Code></Error>"),
                                ))
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (format!("http://{address}"), seen)
    }

    fn bucket(endpoint: &str, token: Option<&str>) -> SignedBucket {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            token.map(str::to_owned),
            None,
            "test",
        );
        SignedBucket::new(
            endpoint,
            "eu-west-1",
            "documents",
            SharedCredentialsProvider::new(credentials),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_put_is_signed_encrypted_and_path_style() {
        let (endpoint, seen) = fake_s3(200).await;

        bucket(&endpoint, Some("session"))
            .put(
                "invoices/01JF/issued.pdf",
                b"%PDF-".to_vec(),
                "application/pdf",
            )
            .await
            .unwrap();

        let seen = seen.lock().unwrap();
        let (method, path, headers) = &seen[0];
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("PUT", "/documents/invoices/01JF/issued.pdf")
        );
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(header("x-amz-server-side-encryption"), "AES256");
        assert_eq!(header("content-type"), "application/pdf");
        assert_eq!(header("x-amz-security-token"), "session");
        let authorization = header("authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/eu-west-1/s3/aws4_request")
                && authorization.contains("x-amz-server-side-encryption"),
            "{authorization}"
        );
        // The payload's SHA-256, not UNSIGNED-PAYLOAD.
        assert_eq!(header("x-amz-content-sha256").len(), 64);
    }

    #[tokio::test]
    async fn a_refused_put_is_a_defect_and_a_server_error_is_unavailable() {
        let (refusing, _) = fake_s3(403).await;
        let error = bucket(&refusing, None)
            .put("k", Vec::new(), "application/pdf")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::Defect { source, .. } if source.to_string().contains("AccessDenied")),
            "{error:?}"
        );

        let (failing, seen) = fake_s3(503).await;
        let error = bucket(&failing, None)
            .put("k", Vec::new(), "application/pdf")
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        assert_eq!(
            seen.lock().unwrap().len(),
            2,
            "tried twice, then given back"
        );
    }

    #[tokio::test]
    async fn a_head_tells_whether_the_object_is_there() {
        let (there, seen) = fake_s3(200).await;
        assert!(
            bucket(&there, None)
                .exists("invoices/1/issued.pdf")
                .await
                .unwrap()
        );
        assert_eq!(seen.lock().unwrap()[0].0, "HEAD");

        let (missing, _) = fake_s3(404).await;
        assert!(
            !bucket(&missing, None)
                .exists("invoices/1/issued.pdf")
                .await
                .unwrap()
        );

        let (forbidden, _) = fake_s3(403).await;
        let error = bucket(&forbidden, None).exists("k").await.unwrap_err();
        assert!(matches!(error, StoreError::Defect { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn a_presigned_link_names_the_object_and_expires() {
        let link = bucket("https://s3.eu-west-1.amazonaws.com", Some("session"))
            .presigned_get("invoices/01JF/issued.pdf", 300)
            .await
            .unwrap();

        assert!(
            link.starts_with(
                "https://s3.eu-west-1.amazonaws.com/documents/invoices/01JF/issued.pdf?"
            ),
            "{link}"
        );
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=300",
            "X-Amz-Signature=",
            "X-Amz-Security-Token=session",
            "X-Amz-Credential=AKIDEXAMPLE%2F",
        ] {
            assert!(link.contains(part), "{part} in {link}");
        }
    }
}
