//! Raw payloads kept for audit, 90 days, in the cheapest durable place for
//! their size: compressed, a small one rides as an attribute of a table
//! item with a TTL; a large one is an object in a private bucket with a
//! lifecycle rule (docs/cost-model.md has the arithmetic).

use crate::StoreError;
use async_trait::async_trait;
use flate2::Compression;
use flate2::write::GzEncoder;
use shopflow_domain::Timestamp;
use std::io::Write;
use ulid::Ulid;

/// How long a raw payload is kept.
pub const RAW_PAYLOAD_DAYS: u64 = 90;

/// Compressed payloads up to this size are kept in the table. Above it an
/// S3 PUT ($0.005 per 1,000) costs less than the write units and 90 days of
/// table storage the item would take (2 WRU and $0.25/GB-month per KB).
pub const INLINE_LIMIT_BYTES: usize = 2_048;

/// What a carrier sent or answered, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPayload {
    pub id: Ulid,
    /// Who sent it (`usps`, `canada_post`, …).
    pub source: String,
    pub received_at: Timestamp,
    pub body: Vec<u8>,
}

impl RawPayload {
    /// `body` from `source`, received at `at`, with an id of its own.
    pub fn new(source: &str, at: Timestamp, body: &[u8]) -> Self {
        Self {
            id: Ulid::generate(),
            source: source.to_owned(),
            received_at: at,
            body: body.to_vec(),
        }
    }

    /// When the payload may be forgotten.
    pub fn expires_at(&self) -> Timestamp {
        self.received_at.plus_secs(RAW_PAYLOAD_DAYS * 86_400)
    }

    /// Where a large one is kept in the bucket: by source and day.
    pub fn object_key(&self) -> String {
        let day = self.received_at.to_rfc3339();
        format!(
            "raw/{}/{}/{}.gz",
            self.source,
            day.get(..10).unwrap_or("unknown"),
            self.id
        )
    }
}

/// Small compressed payloads, kept as table items that expire.
#[async_trait]
pub trait InlineArchive: Send + Sync {
    /// Keeps `gzipped` under the payload's id until it expires; answers the
    /// reference events carry.
    async fn keep_inline(&self, payload: &RawPayload, gzipped: &[u8])
    -> Result<String, StoreError>;
}

/// Large compressed payloads, kept as objects that expire.
#[async_trait]
pub trait ObjectArchive: Send + Sync {
    /// Keeps `gzipped` at `payload.object_key()`; answers the reference.
    async fn keep_object(&self, payload: &RawPayload, gzipped: &[u8])
    -> Result<String, StoreError>;
}

/// Keeps `payload` where its compressed size says it is cheapest, and
/// answers where: the reference its events carry.
pub async fn archive(
    inline: &impl InlineArchive,
    objects: &impl ObjectArchive,
    payload: &RawPayload,
) -> Result<String, StoreError> {
    let gzipped = gzip(&payload.body)?;
    if gzipped.len() <= INLINE_LIMIT_BYTES {
        inline.keep_inline(payload, &gzipped).await
    } else {
        objects.keep_object(payload, &gzipped).await
    }
}

/// `body`, gzip-compressed.
pub fn gzip(body: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 3), Compression::default());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map_err(|error| StoreError::Defect {
            what: "compressing a raw payload".into(),
            source: Box::new(error),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Kept(Mutex<Vec<(&'static str, Vec<u8>)>>);

    #[async_trait]
    impl InlineArchive for Kept {
        async fn keep_inline(&self, _: &RawPayload, gzipped: &[u8]) -> Result<String, StoreError> {
            self.0.lock().unwrap().push(("inline", gzipped.to_vec()));
            Ok("inline".into())
        }
    }

    #[async_trait]
    impl ObjectArchive for Kept {
        async fn keep_object(&self, _: &RawPayload, gzipped: &[u8]) -> Result<String, StoreError> {
            self.0.lock().unwrap().push(("object", gzipped.to_vec()));
            Ok("object".into())
        }
    }

    /// Text that compresses poorly: `len` bytes of a simple PRNG's output.
    fn noise(len: usize) -> Vec<u8> {
        let mut state: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                b'a' + (state % 26) as u8
            })
            .collect()
    }

    #[tokio::test]
    async fn a_payload_that_compresses_small_stays_in_the_table_and_a_large_one_goes_to_s3() {
        let kept = Kept::default();
        let at = Timestamp::from_millis(1_750_000_000_000);
        let small = RawPayload::new("usps", at, &b"{\"trackingNumber\":\"9400\"}".repeat(200));
        let large = RawPayload::new("usps", at, &noise(8_000));

        assert_eq!(archive(&kept, &kept, &small).await.unwrap(), "inline");
        assert_eq!(archive(&kept, &kept, &large).await.unwrap(), "object");

        let kept = kept.0.into_inner().unwrap();
        let mut unpacked = Vec::new();
        GzDecoder::new(kept[0].1.as_slice())
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, small.body);
        assert!(kept[1].1.len() > INLINE_LIMIT_BYTES);
    }

    #[test]
    fn a_payload_is_kept_ninety_days_under_its_source_and_day() {
        let payload = RawPayload::new("dhl", Timestamp::from_millis(1_750_000_000_000), b"{}");
        assert_eq!(
            payload.expires_at(),
            payload.received_at.plus_secs(90 * 86_400)
        );
        assert_eq!(
            payload.object_key(),
            format!("raw/dhl/2025-06-15/{}.gz", payload.id)
        );
    }
}
