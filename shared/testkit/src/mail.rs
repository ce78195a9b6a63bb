//! A mail service in memory: keeps what it was asked to send, and can be
//! told to fail the next sends.

use async_trait::async_trait;
use shopflow_ports::{Mail, MailError, Mailer};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Default)]
struct Outbox {
    sent: Vec<Mail>,
    failures: VecDeque<MailError>,
}

/// Clones share one outbox, so a test keeps one while the handler sends
/// through another.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    outbox: Arc<Mutex<Outbox>>,
}

impl MemoryMailer {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap()
    }

    /// Every mail sent, in order.
    pub fn sent(&self) -> Vec<Mail> {
        self.outbox().sent.clone()
    }

    /// The next send fails with `error` (queued after any already set).
    pub fn fail_next(&self, error: MailError) {
        self.outbox().failures.push_back(error);
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let mut outbox = self.outbox();
        if let Some(error) = outbox.failures.pop_front() {
            return Err(error);
        }
        outbox.sent.push(mail.clone());
        Ok(format!("mem-{}", outbox.sent.len()))
    }
}
