//! Raw payloads in memory: the table's small ones kept by reference, and
//! a bucket and a secret store to stand beside it.

use super::MemoryStore;
use async_trait::async_trait;
use shopflow_ports::{InlineArchive, ObjectArchive, RawPayload, Secrets, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[async_trait]
impl InlineArchive for MemoryStore {
    async fn keep_inline(
        &self,
        payload: &RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        let reference = format!("dynamodb:RAW#{}", payload.id);
        self.state()
            .raw_payloads
            .insert(reference.clone(), gzipped.to_vec());
        Ok(reference)
    }
}

impl MemoryStore {
    /// The raw payloads kept in the table, unpacked, by reference.
    pub fn raw_payloads(&self) -> BTreeMap<String, String> {
        self.state()
            .raw_payloads
            .iter()
            .map(|(reference, gzipped)| (reference.clone(), gunzip(gzipped)))
            .collect()
    }
}

/// A bucket in memory: objects by key. Clones share the objects, so a
/// test keeps one while the handler owns another.
#[derive(Debug, Default, Clone)]
pub struct MemoryBucket {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryBucket {
    /// Every object kept, unpacked, by key.
    pub fn objects(&self) -> BTreeMap<String, String> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(key, gzipped)| (key.clone(), gunzip(gzipped)))
            .collect()
    }
}

#[async_trait]
impl ObjectArchive for MemoryBucket {
    async fn keep_object(
        &self,
        payload: &RawPayload,
        gzipped: &[u8],
    ) -> Result<String, StoreError> {
        let key = payload.object_key();
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.clone(), gzipped.to_vec());
        Ok(format!("s3://memory/{key}"))
    }
}

#[async_trait]
impl shopflow_ports::DocumentShelf for MemoryBucket {
    async fn shelve(&self, key: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.to_owned(), pdf);
        Ok(())
    }
}

#[async_trait]
impl shopflow_ports::DocumentLinks for MemoryBucket {
    async fn is_shelved(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.object(key).is_some())
    }

    async fn link(&self, key: &str, valid_secs: u64) -> Result<String, StoreError> {
        Ok(format!(
            "https://memory.example/{key}?expires-in={valid_secs}"
        ))
    }
}

impl MemoryBucket {
    /// The object at `key`, as kept.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }
}

/// Secrets in memory, by name; a name not given is a defect, as a missing
/// SSM parameter is.
#[derive(Debug, Default, Clone)]
pub struct MemorySecrets(pub HashMap<String, String>);

#[async_trait]
impl Secrets for MemorySecrets {
    async fn secret(&self, name: &str) -> Result<String, StoreError> {
        self.0.get(name).cloned().ok_or_else(|| StoreError::Defect {
            what: format!("reading secret {name}"),
            source: "no such parameter".into(),
        })
    }
}

fn gunzip(gzipped: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzipped)
        .read_to_string(&mut text)
        .expect("a gzipped UTF-8 payload");
    text
}
