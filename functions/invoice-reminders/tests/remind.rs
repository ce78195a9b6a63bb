//! invoice-reminders: an unpaid invoice past due is reminded once per step
//! of the cadence (`invoice.overdue`), never when paid, void or not yet
//! overdue, and every run is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use invoice_reminders::{App, cadence_from};
use serde_json::Value;
use shopflow_domain::Timestamp;
use shopflow_domain::events::DomainEvent;
use shopflow_domain::invoice::{Invoice, ReminderCadence};
use shopflow_lambda_kit::config;
use shopflow_ports::{InventoryStore, InvoiceStore, Invoiced, JobRuns, issue_order_invoice};
use shopflow_testkit::{SharedStore, invoice_terms, red_tee, unpaid_invoice};

const DAY: u64 = 86_400;
/// When the invoices of these tests are issued; due 14 days later.
const ISSUED: Timestamp = Timestamp::from_millis(1_796_000_000_000);

struct Reminders {
    app: App<SharedStore>,
    store: SharedStore,
}

impl Reminders {
    async fn new() -> Self {
        let store = SharedStore::default();
        store.memory().upsert_product(&red_tee()).await.unwrap();
        let cadence = ReminderCadence::new(vec![1, 7, 14]).unwrap();
        Self {
            app: App::new(store.clone(), cadence),
            store,
        }
    }

    /// An invoice issued at [`ISSUED`] for an order of 2 tees, paid by the
    /// capture when `captured`, else owed in full.
    async fn invoice(&self, captured: bool) -> Invoice {
        let memory = self.store.memory();
        if !captured {
            return unpaid_invoice(memory, 2, ISSUED).await;
        }
        let order = shopflow_testkit::paid_order(memory, "TEE-RED", "BER", 2, ISSUED).await;
        match issue_order_invoice(memory, &order, &invoice_terms(), ISSUED)
            .await
            .unwrap()
        {
            Invoiced::Issued(invoice) => *invoice,
            other => panic!("{other:?}"),
        }
    }

    /// The `invoice.overdue` events recorded, as published.
    fn overdue(&self) -> Vec<Value> {
        self.store
            .memory()
            .outbox()
            .into_iter()
            .filter(|event| event.event.detail_type() == "invoice.overdue")
            .map(|event| match event.event {
                DomainEvent::InvoiceMoved(moved) => serde_json::to_value(moved).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

/// `days` after the invoices' due date.
fn overdue_by(days: u64) -> Timestamp {
    ISSUED.plus_secs((14 + days) * DAY)
}

#[tokio::test]
async fn an_unpaid_invoice_is_reminded_once_per_step() {
    let reminders = Reminders::new().await;
    let invoice = reminders.invoice(false).await;

    let first = reminders.app.remind(overdue_by(2)).await.unwrap();
    let again = reminders.app.remind(overdue_by(3)).await.unwrap();
    let second = reminders.app.remind(overdue_by(8)).await.unwrap();

    assert_eq!((first.examined, first.reminded), (1, 1));
    assert_eq!((again.reminded, again.up_to_date), (0, 1));
    assert_eq!(second.reminded, 1);
    let sent = reminders.overdue();
    let steps: Vec<(&Value, &Value)> = sent
        .iter()
        .map(|event| {
            (
                &event["reminder"]["step"],
                &event["reminder"]["days_overdue"],
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (&Value::from(1), &Value::from(2)),
            (&Value::from(2), &Value::from(8))
        ]
    );
    assert_eq!(sent[0]["invoice_id"], invoice.id.to_string());
    assert_eq!(sent[0]["open_minor"], invoice.totals.total_minor);
    let stored = reminders.store.invoice(invoice.id).await.unwrap().unwrap();
    assert_eq!(stored.reminders_sent, 2);
}

#[tokio::test]
async fn paid_and_not_yet_overdue_invoices_are_left_alone_and_each_run_is_recorded() {
    let reminders = Reminders::new().await;
    reminders.invoice(true).await;
    reminders.invoice(false).await;

    let early = reminders.app.remind(overdue_by(0)).await.unwrap();

    assert_eq!((early.examined, early.reminded), (0, 0));
    assert!(reminders.overdue().is_empty());
    let runs = reminders.store.runs("invoice-reminders", 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].report["reminded"], 0);
}

#[test]
fn the_cadence_comes_from_the_configuration() {
    let cadence = cadence_from(&config::vars(&[])).unwrap();
    assert_eq!(cadence, ReminderCadence::new(vec![1, 7, 14]).unwrap());
    let custom = cadence_from(&config::vars(&[("INVOICE_REMINDER_DAYS", "3, 30")])).unwrap();
    assert_eq!(custom.first_days(), 3);
    for bad in ["0", "7,7", "x", "400"] {
        let env = config::vars(&[("INVOICE_REMINDER_DAYS", bad)]);
        assert!(cadence_from(&env).is_err(), "{bad:?}");
    }
}
