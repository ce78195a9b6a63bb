//! Invoices: the documents a buyer is owed for what an order charged.
//!
//! An invoice is built as a draft, then issued under the next number of its
//! series for the year (`INV-2026-000123`). Issuing is the only thing that
//! numbers it, and an issued invoice is never edited: money received is
//! allocated to it, and what is given back goes on a credit note of its own.

use crate::ids::{CustomerId, Email, OrderId, Sku};
use crate::money::Currency;
use crate::order::Order;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

/// An invoice's id: a ULID, given when the draft is made, before it has a
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvoiceId(Ulid);

impl InvoiceId {
    /// A new id for an invoice made at `at`, after every id this process
    /// made before.
    pub fn made_at(at: Timestamp) -> Self {
        Self(crate::ids::monotonic_ulid(at))
    }

    pub fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    pub fn as_ulid(self) -> Ulid {
        self.0
    }
}

impl fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for InvoiceId {
    type Err = ulid::DecodeError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

/// Which run of numbers a document takes its number from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    Invoice,
    CreditNote,
}

impl Series {
    /// Where a document of this series is due: credit notes never are.
    fn is_due(self) -> bool {
        self == Self::Invoice
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Self::Invoice => "INV",
            Self::CreditNote => "CN",
        }
    }
}

/// One gap-free run of numbers: a series in a calendar year (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sequence {
    pub series: Series,
    pub year: u16,
}

impl Sequence {
    /// The run a document of `series` issued at `at` is numbered in.
    pub fn of(series: Series, at: Timestamp) -> Self {
        Self {
            series,
            year: at.year(),
        }
    }

    /// The number after `last`, the sequence's last issued one (none yet:
    /// the first).
    pub fn next_after(self, last: Option<u64>) -> InvoiceNumber {
        InvoiceNumber {
            sequence: self,
            number: last.unwrap_or(0) + 1,
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.series.prefix(), self.year)
    }
}

/// A document's number: its sequence and its place in it, shown as
/// `INV-2026-000123` (six digits at least).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoiceNumber {
    pub sequence: Sequence,
    pub number: u64,
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}", self.sequence, self.number)
    }
}

impl FromStr for InvoiceNumber {
    type Err = InvoiceError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let invalid = || InvoiceError::InvalidNumber(raw.to_owned());
        let mut parts = raw.splitn(3, '-');
        let series = match parts.next() {
            Some("INV") => Series::Invoice,
            Some("CN") => Series::CreditNote,
            _ => return Err(invalid()),
        };
        let year = parts
            .next()
            .filter(|year| year.len() == 4)
            .and_then(|year| year.parse().ok())
            .ok_or_else(invalid)?;
        let number = parts
            .next()
            .filter(|number| number.len() >= 6 && number.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|number| number.parse().ok())
            .filter(|number| *number > 0)
            .ok_or_else(invalid)?;
        Ok(Self {
            sequence: Sequence { series, year },
            number,
        })
    }
}

impl Serialize for InvoiceNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InvoiceNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Who issues or receives an invoice, as printed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    /// Postal address, one line each.
    pub address: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

impl Party {
    /// The order's buyer: the name and address it ships to, and its email.
    pub fn buyer_of(order: &Order) -> Self {
        let to = &order.shipping_address;
        let town = match &to.region {
            Some(region) => format!("{} {} {region}", to.postal_code, to.city),
            None => format!("{} {}", to.postal_code, to.city),
        };
        let address = [
            Some(to.line1.clone()),
            to.line2.clone(),
            Some(town),
            Some(to.country.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        Self {
            name: to.name.clone(),
            address,
            tax_id: None,
            email: Some(order.email.clone()),
        }
    }
}

/// What the shop asks of every invoice it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub seller: Party,
    /// Days from issue to due.
    pub due_days: u64,
}

/// A billed item: units of a SKU (or a charge such as shipping), at a unit
/// price, in minor units of the invoice's currency. Tax is charged on the
/// invoice as a whole, as checkout charged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    pub description: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTotals {
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Issued,
    PartiallyPaid,
    Paid,
    Void,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
            Self::Void => "void",
        }
    }

    /// Issued and not settled: money is still owed on it.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::PartiallyPaid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("{0} is not an invoice number like INV-2026-000123")]
    InvalidNumber(String),
    #[error("an invoice can only be issued from a draft; this one is {0}")]
    NotDraft(&'static str),
    #[error("money can only be allocated to an issued, unpaid invoice; this one is {0}")]
    NotOpen(&'static str),
    #[error("an allocation must be more than zero")]
    NothingAllocated,
    #[error("allocating {asked_minor} exceeds the invoice's open balance of {open_minor}")]
    ExceedsBalance { asked_minor: i64, open_minor: i64 },
    #[error("allocating {asked_minor} exceeds the payment's unallocated {unallocated_minor}")]
    ExceedsPayment {
        asked_minor: i64,
        unallocated_minor: i64,
    },
    #[error("only an issued invoice can be credited; this one is {0}")]
    NotCreditable(&'static str),
    #[error("crediting {asked_minor} exceeds the {creditable_minor} not credited yet")]
    ExceedsCreditable {
        asked_minor: i64,
        creditable_minor: i64,
    },
    #[error("card payments are recorded from the provider's captures, not by hand")]
    CardIsCaptured,
    #[error("only an issued invoice can be voided; this one is {0}")]
    NotVoidable(&'static str),
    #[error(
        "{paid_minor} is allocated to the invoice and {credited_minor} of it given back: refund or move the rest first"
    )]
    MoneyAllocated {
        paid_minor: i64,
        credited_minor: i64,
    },
    #[error("a manual invoice bills 1 to {max} lines")]
    LineCount { max: usize },
    #[error("a line bills 1 to {max} units")]
    UnitsOutOfRange { max: u32 },
    #[error("every amount, and the total, must be 0 to {max_minor} minor units")]
    AmountOutOfRange { max_minor: i64 },
    #[error("a payment in {payment} cannot pay an invoice in {invoice}")]
    CurrencyMismatch { payment: String, invoice: String },
}

/// The invoice a credit note gives money back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credited {
    pub invoice_id: InvoiceId,
    pub number: InvoiceNumber,
}

/// A bill for an order, or for anything staff bill outside checkout; or,
/// when it `credits` one, a credit note: a negative document giving part
/// of an issued invoice back, numbered in the `CN` series. Its JSON (the
/// `document` of the events that ask for its PDF) shows instants in RFC
/// 3339 and leaves out the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: InvoiceId,
    /// Given at issue; a draft has none.
    pub number: Option<InvoiceNumber>,
    /// The invoice a credit note credits; none for an invoice.
    pub credits: Option<Credited>,
    pub order_id: Option<OrderId>,
    pub customer_id: CustomerId,
    pub seller: Party,
    pub buyer: Party,
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
    pub totals: InvoiceTotals,
    pub status: InvoiceStatus,
    /// Money allocated to it, in minor units.
    pub paid_minor: i64,
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "crate::time::rfc3339::option")]
    pub issued_at: Option<Timestamp>,
    #[serde(with = "crate::time::rfc3339::option")]
    pub due_at: Option<Timestamp>,
    /// Why, when and by whom it was voided, once it is.
    pub voided: Option<Voiding>,
    /// Overdue reminders sent: the steps of the cadence reached so far.
    pub reminders_sent: u32,
    /// Optimistic-locking counter: every update is conditional on it.
    #[serde(skip)]
    pub version: u64,
}

/// A PDF of an invoice: as issued, and once more with the VOID mark when
/// it is voided. An issued document never changes, so there are two at
/// most, each the same bytes however often it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rendition {
    Issued,
    Void,
}

impl Rendition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Void => "void",
        }
    }

    /// Where the PDF of `invoice` is kept in the documents bucket.
    pub fn key(self, invoice: InvoiceId) -> String {
        format!("invoices/{invoice}/{}.pdf", self.as_str())
    }
}

/// When, after its due date, an unpaid invoice's buyer is reminded: days
/// overdue for each step, ascending (1, 7 and 14 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderCadence(Vec<u32>);

impl ReminderCadence {
    /// Steps of 1 to 365 days, strictly ascending, at least one.
    pub fn new(mut days: Vec<u32>) -> Result<Self, String> {
        if days.is_empty() || days.iter().any(|day| !(1..=365).contains(day)) {
            return Err("must list 1 to 365 days after due, at least one".into());
        }
        let asked = days.len();
        days.sort_unstable();
        days.dedup();
        if days.len() != asked {
            return Err("must not list a day twice".into());
        }
        Ok(Self(days))
    }

    /// The first step: no invoice due after `now` minus this is reminded.
    pub fn first_days(&self) -> u32 {
        self.0.first().copied().unwrap_or(1)
    }
}

/// An overdue reminder: the cadence's `step` (from 1), sent when the
/// invoice was `days_overdue` days past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub step: u32,
    pub days_overdue: u32,
}

/// Lines a manual invoice may carry at most: a 200-line invoice is about
/// 60 KB on the table and 8 PDF pages.
pub const MAX_MANUAL_LINES: usize = 200;

/// Units, and minor units of any amount, a manual invoice may bill at most:
/// every total stays far inside `i64` and exact in JSON's numbers.
pub const MAX_BILLED_UNITS: u32 = 1_000_000;
pub const MAX_BILLED_MINOR: i64 = 1_000_000_000_000;

/// A billed item as staff ask for it; the invoice prices it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    pub sku: Option<Sku>,
    pub description: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

/// What staff bill on a manual invoice: the buyer, the currency, the items,
/// and the tax and shipping charged on the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualBill {
    pub buyer: Party,
    pub currency: Currency,
    pub items: Vec<Billed>,
    pub tax_minor: i64,
    pub shipping_minor: i64,
}

impl ManualBill {
    /// Its lines and totals: 1 to [`MAX_MANUAL_LINES`] items of 1 to
    /// [`MAX_BILLED_UNITS`] units, every amount 0 to [`MAX_BILLED_MINOR`],
    /// the total too.
    fn priced(&self) -> Result<(Vec<InvoiceLine>, InvoiceTotals), InvoiceError> {
        if self.items.is_empty() || self.items.len() > MAX_MANUAL_LINES {
            return Err(InvoiceError::LineCount {
                max: MAX_MANUAL_LINES,
            });
        }
        let within = |minor: i64| (0..=MAX_BILLED_MINOR).contains(&minor);
        let too_large = || InvoiceError::AmountOutOfRange {
            max_minor: MAX_BILLED_MINOR,
        };
        let mut lines = Vec::with_capacity(self.items.len());
        let mut subtotal_minor: i64 = 0;
        for item in &self.items {
            if !(1..=MAX_BILLED_UNITS).contains(&item.quantity) {
                return Err(InvoiceError::UnitsOutOfRange {
                    max: MAX_BILLED_UNITS,
                });
            }
            let total_minor = item
                .unit_price_minor
                .checked_mul(i64::from(item.quantity))
                .filter(|total| within(item.unit_price_minor) && within(*total))
                .ok_or_else(too_large)?;
            subtotal_minor = subtotal_minor
                .checked_add(total_minor)
                .ok_or_else(too_large)?;
            lines.push(InvoiceLine {
                sku: item.sku.clone(),
                description: item.description.clone(),
                quantity: item.quantity,
                unit_price_minor: item.unit_price_minor,
                total_minor,
            });
        }
        let total_minor = [self.tax_minor, self.shipping_minor]
            .into_iter()
            .try_fold(subtotal_minor, |sum, charge| {
                within(charge).then(|| sum.checked_add(charge)).flatten()
            })
            .filter(|total| within(*total))
            .ok_or_else(too_large)?;
        Ok((
            lines,
            InvoiceTotals {
                subtotal_minor,
                tax_minor: self.tax_minor,
                shipping_minor: self.shipping_minor,
                total_minor,
            },
        ))
    }
}

/// An issued invoice taken back: it keeps its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voiding {
    pub reason: String,
    #[serde(with = "crate::time::rfc3339")]
    pub at: Timestamp,
    pub by: String,
}

impl Invoice {
    /// A draft billing `order` as it was placed: one line per SKU and unit
    /// price (a line split across warehouses is billed once), shipping as a
    /// line of its own, and the order's totals.
    pub fn draft_for_order(order: &Order, terms: &Terms, at: Timestamp) -> Self {
        let mut lines: Vec<InvoiceLine> = Vec::with_capacity(order.lines.len() + 1);
        for line in &order.lines {
            let same = lines.iter_mut().find(|billed| {
                billed.sku.as_ref() == Some(&line.sku)
                    && billed.unit_price_minor == line.unit_price.minor
            });
            match same {
                Some(billed) => {
                    billed.quantity += line.quantity.get();
                    billed.total_minor += line.line_total.minor;
                }
                None => lines.push(InvoiceLine {
                    sku: Some(line.sku.clone()),
                    description: line.name.clone(),
                    quantity: line.quantity.get(),
                    unit_price_minor: line.unit_price.minor,
                    total_minor: line.line_total.minor,
                }),
            }
        }
        let totals = &order.totals;
        Self {
            order_id: Some(order.id),
            lines,
            totals: InvoiceTotals {
                subtotal_minor: totals.subtotal.minor,
                tax_minor: totals.tax.minor,
                shipping_minor: totals.shipping.minor,
                total_minor: totals.grand_total.minor,
            },
            ..Self::unbilled(
                order.customer_id.clone(),
                &terms.seller,
                Party::buyer_of(order),
                order.currency.clone(),
                at,
            )
        }
    }

    /// The draft issued under `number` at `at`, due `terms.due_days` later.
    pub fn issued(
        &self,
        number: InvoiceNumber,
        terms: &Terms,
        at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        if self.status != InvoiceStatus::Draft {
            return Err(InvoiceError::NotDraft(self.status.as_str()));
        }
        Ok(Self {
            number: Some(number),
            status: InvoiceStatus::Issued,
            issued_at: Some(at),
            due_at: number
                .sequence
                .series
                .is_due()
                .then(|| at.plus_secs(terms.due_days * 86_400)),
            ..self.clone()
        })
    }

    /// A draft staff bill `customer_id` outside checkout: `bill` priced,
    /// `seller` printed on it, made at `at`. It has no number until it is
    /// issued, and is no order's.
    pub fn manual_draft(
        customer_id: CustomerId,
        bill: &ManualBill,
        seller: &Party,
        at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        let (lines, totals) = bill.priced()?;
        Ok(Self {
            lines,
            totals,
            ..Self::unbilled(
                customer_id,
                seller,
                bill.buyer.clone(),
                bill.currency.clone(),
                at,
            )
        })
    }

    /// A draft for `customer_id` made at `at` that bills nothing yet and
    /// answers no order.
    fn unbilled(
        customer_id: CustomerId,
        seller: &Party,
        buyer: Party,
        currency: Currency,
        at: Timestamp,
    ) -> Self {
        Self {
            id: InvoiceId::made_at(at),
            number: None,
            credits: None,
            order_id: None,
            customer_id,
            seller: seller.clone(),
            buyer,
            currency,
            lines: Vec::new(),
            totals: InvoiceTotals::default(),
            status: InvoiceStatus::Draft,
            paid_minor: 0,
            created_at: at,
            issued_at: None,
            due_at: None,
            voided: None,
            reminders_sent: 0,
            version: 0,
        }
    }

    /// The draft billing `bill` instead: only a draft can be changed.
    pub fn redrafted(&self, bill: &ManualBill) -> Result<Self, InvoiceError> {
        if self.status != InvoiceStatus::Draft {
            return Err(InvoiceError::NotDraft(self.status.as_str()));
        }
        let (lines, totals) = bill.priced()?;
        Ok(Self {
            buyer: bill.buyer.clone(),
            currency: bill.currency.clone(),
            lines,
            totals,
            ..self.clone()
        })
    }

    /// What a manual draft bills, to be changed by [`Invoice::redrafted`].
    /// None for an order's invoice or a credit note.
    pub fn manual_bill(&self) -> Option<ManualBill> {
        if self.order_id.is_some() || self.is_credit_note() {
            return None;
        }
        Some(ManualBill {
            buyer: self.buyer.clone(),
            currency: self.currency.clone(),
            items: self
                .lines
                .iter()
                .map(|line| Billed {
                    sku: line.sku.clone(),
                    description: line.description.clone(),
                    quantity: line.quantity,
                    unit_price_minor: line.unit_price_minor,
                })
                .collect(),
            tax_minor: self.totals.tax_minor,
            shipping_minor: self.totals.shipping_minor,
        })
    }

    pub fn is_credit_note(&self) -> bool {
        self.credits.is_some()
    }

    /// The series it is numbered in.
    pub fn series(&self) -> Series {
        if self.is_credit_note() {
            Series::CreditNote
        } else {
            Series::Invoice
        }
    }

    /// What is still owed on it: nothing on a credit note.
    pub fn open_minor(&self) -> i64 {
        if self.status.is_open() && !self.is_credit_note() {
            self.totals.total_minor - self.paid_minor
        } else {
            0
        }
    }

    /// The invoice once `amount_minor` more is allocated to it: paid in
    /// full or in part. Never more than is owed.
    pub fn allocated(&self, amount_minor: i64) -> Result<Self, InvoiceError> {
        if !self.status.is_open() {
            return Err(InvoiceError::NotOpen(self.status.as_str()));
        }
        if amount_minor <= 0 {
            return Err(InvoiceError::NothingAllocated);
        }
        let open_minor = self.open_minor();
        if amount_minor > open_minor {
            return Err(InvoiceError::ExceedsBalance {
                asked_minor: amount_minor,
                open_minor,
            });
        }
        let paid_minor = self.paid_minor + amount_minor;
        let status = if paid_minor == self.totals.total_minor {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::PartiallyPaid
        };
        Ok(Self {
            paid_minor,
            status,
            ..self.clone()
        })
    }

    /// A draft credit note giving `amount_minor` of this issued invoice
    /// back, `credited_minor` having been given back on it before. Tax is
    /// given back in the invoice's proportion (rounded half up), the rest
    /// as goods; never more in all than the invoice's total.
    pub fn credit_note(
        &self,
        amount_minor: i64,
        credited_minor: i64,
        reason: &str,
        at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        let Some(number) = self.number.filter(|_| !self.is_credit_note()) else {
            return Err(InvoiceError::NotCreditable(self.status.as_str()));
        };
        if matches!(self.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
            return Err(InvoiceError::NotCreditable(self.status.as_str()));
        }
        if amount_minor <= 0 {
            return Err(InvoiceError::NothingAllocated);
        }
        let creditable_minor = self.totals.total_minor - credited_minor;
        if amount_minor > creditable_minor {
            return Err(InvoiceError::ExceedsCreditable {
                asked_minor: amount_minor,
                creditable_minor,
            });
        }
        let total = i128::from(self.totals.total_minor).max(1);
        let tax_minor = i64::try_from(
            (i128::from(amount_minor) * i128::from(self.totals.tax_minor) * 2 + total)
                / (2 * total),
        )
        .unwrap_or(0);
        let goods_minor = amount_minor - tax_minor;
        Ok(Self {
            id: InvoiceId::made_at(at),
            number: None,
            credits: Some(Credited {
                invoice_id: self.id,
                number,
            }),
            lines: vec![InvoiceLine {
                sku: None,
                description: format!("{reason} (credits {number})"),
                quantity: 1,
                unit_price_minor: -goods_minor,
                total_minor: -goods_minor,
            }],
            totals: InvoiceTotals {
                subtotal_minor: -goods_minor,
                tax_minor: -tax_minor,
                shipping_minor: 0,
                total_minor: -amount_minor,
            },
            status: InvoiceStatus::Draft,
            paid_minor: 0,
            created_at: at,
            issued_at: None,
            due_at: None,
            version: 0,
            ..self.clone()
        })
    }

    /// The invoice voided at `at` by `by` for `reason`, keeping its
    /// number. Refused while money allocated to it is not given back:
    /// `credited_minor` is what its credit notes gave back.
    pub fn voided(
        &self,
        reason: &str,
        by: &str,
        credited_minor: i64,
        at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        if self.is_credit_note()
            || !matches!(
                self.status,
                InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Paid
            )
        {
            return Err(InvoiceError::NotVoidable(self.status.as_str()));
        }
        let held_minor = self.paid_minor - credited_minor;
        if held_minor > 0 {
            return Err(InvoiceError::MoneyAllocated {
                paid_minor: self.paid_minor,
                credited_minor,
            });
        }
        Ok(Self {
            status: InvoiceStatus::Void,
            voided: Some(Voiding {
                reason: reason.to_owned(),
                at,
                by: by.to_owned(),
            }),
            ..self.clone()
        })
    }

    /// The reminder owed at `now` under `cadence`, if one is: the latest
    /// step reached by how long it is overdue, when that step was not sent.
    /// Steps passed while none ran are not sent late; only the latest is.
    pub fn reminder_due(&self, cadence: &ReminderCadence, now: Timestamp) -> Option<Reminder> {
        let due = self.due_at.filter(|_| self.is_overdue(now))?;
        let days_overdue =
            u32::try_from((now.as_millis() - due.as_millis()) / 86_400_000).unwrap_or(u32::MAX);
        let reached = cadence.0.iter().filter(|day| **day <= days_overdue).count();
        let step = u32::try_from(reached).unwrap_or(u32::MAX);
        (step > self.reminders_sent).then_some(Reminder { step, days_overdue })
    }

    /// The invoice once `reminder` is sent.
    pub fn reminded(&self, reminder: Reminder) -> Self {
        Self {
            reminders_sent: reminder.step,
            ..self.clone()
        }
    }

    /// The PDF that shows it as it stands: void once voided, else as
    /// issued; none for a draft.
    pub fn rendition(&self) -> Option<Rendition> {
        match self.status {
            InvoiceStatus::Draft => None,
            InvoiceStatus::Void => Some(Rendition::Void),
            _ => Some(Rendition::Issued),
        }
    }

    /// Past due with money still owed: derived, never stored.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.open_minor() > 0 && self.due_at.is_some_and(|due| now > due)
    }

    /// How it stands at `now`: its status, or `overdue`.
    pub fn standing(&self, now: Timestamp) -> &'static str {
        if self.is_overdue(now) {
            "overdue"
        } else {
            self.status.as_str()
        }
    }
}

/// How money reached the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Taken by the payment provider (a Stripe capture).
    Card,
    BankTransfer,
    Cash,
    Other,
}

/// A share of a payment given to one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAllocation {
    pub invoice_id: InvoiceId,
    pub amount_minor: i64,
}

/// Money received, and the invoices it was allocated to. Allocations never
/// add up to more than the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: Ulid,
    pub method: PaymentMethod,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The provider's payment id, or the reference staff gave.
    pub reference: String,
    pub received_at: Timestamp,
    pub allocations: Vec<PaymentAllocation>,
}

impl PaymentRecord {
    /// What the provider took for `order`, if it took anything, received
    /// at `at`.
    pub fn captured_for(order: &Order, at: Timestamp) -> Option<Self> {
        let payment = &order.payment;
        let taken = payment.captured_minor;
        if taken <= 0 {
            return None;
        }
        Some(Self {
            id: crate::ids::monotonic_ulid(at),
            method: PaymentMethod::Card,
            amount_minor: taken,
            currency: order.currency.clone(),
            reference: payment
                .intent_id
                .clone()
                .unwrap_or_else(|| format!("order:{}", order.id)),
            received_at: at,
            allocations: Vec::new(),
        })
    }

    /// Money staff received outside the payment provider, by `method`,
    /// under their `reference`: a positive amount, and not by card (card
    /// payments come from the provider's captures).
    pub fn received(
        id: Ulid,
        method: PaymentMethod,
        amount_minor: i64,
        currency: Currency,
        reference: &str,
        received_at: Timestamp,
    ) -> Result<Self, InvoiceError> {
        if method == PaymentMethod::Card {
            return Err(InvoiceError::CardIsCaptured);
        }
        if amount_minor <= 0 {
            return Err(InvoiceError::NothingAllocated);
        }
        Ok(Self {
            id,
            method,
            amount_minor,
            currency,
            reference: reference.to_owned(),
            received_at,
            allocations: Vec::new(),
        })
    }

    /// What is not allocated yet.
    pub fn unallocated_minor(&self) -> i64 {
        self.amount_minor
            - self
                .allocations
                .iter()
                .map(|allocation| allocation.amount_minor)
                .sum::<i64>()
    }

    /// Allocates `amount_minor` of what is left to `invoice`, and answers
    /// both after. Never more than either side has left, never across
    /// currencies.
    pub fn allocate(
        &self,
        invoice: &Invoice,
        amount_minor: i64,
    ) -> Result<(Self, Invoice), InvoiceError> {
        if self.currency != invoice.currency {
            return Err(InvoiceError::CurrencyMismatch {
                payment: self.currency.as_str().to_owned(),
                invoice: invoice.currency.as_str().to_owned(),
            });
        }
        let unallocated_minor = self.unallocated_minor();
        if amount_minor > unallocated_minor {
            return Err(InvoiceError::ExceedsPayment {
                asked_minor: amount_minor,
                unallocated_minor,
            });
        }
        let invoice = invoice.allocated(amount_minor)?;
        let mut payment = self.clone();
        payment.allocations.push(PaymentAllocation {
            invoice_id: invoice.id,
            amount_minor,
        });
        Ok((payment, invoice))
    }

    /// Allocates as much of what is left as `invoice` still owes.
    pub fn settle(&self, invoice: &Invoice) -> Result<(Self, Invoice), InvoiceError> {
        self.allocate(invoice, self.unallocated_minor().min(invoice.open_minor()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Quantity, WarehouseId};
    use crate::money::Money;
    use crate::order::OrderLine;
    use crate::order::test_support::order_in;
    use crate::status::OrderStatus;

    const AT: Timestamp = Timestamp::from_millis(1_796_000_000_000); // 2026-11-29

    fn terms() -> Terms {
        Terms {
            seller: Party {
                name: "Shopflow Demo GmbH".into(),
                address: vec!["Torstrasse 1".into(), "10119 Berlin".into(), "DE".into()],
                tax_id: Some("DE123456789".into()),
                email: None,
            },
            due_days: 14,
        }
    }

    fn line(sku: &str, warehouse: &str, units: u32, unit_minor: i64) -> OrderLine {
        let eur = Currency::parse("EUR").unwrap();
        OrderLine {
            sku: Sku::parse(sku).unwrap(),
            name: format!("{sku} name"),
            quantity: Quantity::parse(units).unwrap(),
            unit_price: Money::new(unit_minor, eur.clone()).unwrap(),
            line_total: Money::new(unit_minor * i64::from(units), eur).unwrap(),
            warehouse: WarehouseId::parse(warehouse).unwrap(),
            backorder: None,
            shipped: 0,
        }
    }

    /// 5 posters split 2 + 3 over two warehouses and a mug; 19% tax, 490
    /// shipping, 4,500 captured of 8,060.
    fn paid_order() -> Order {
        let eur = Currency::parse("EUR").unwrap();
        let money = |minor| Money::new(minor, eur.clone()).unwrap();
        let mut order = order_in(OrderStatus::Confirmed);
        order.lines = vec![
            line("POSTER-A2", "BER", 2, 1_000),
            line("POSTER-A2", "HAM", 3, 1_000),
            line("MUG", "BER", 1, 1_500),
        ];
        order.totals = crate::order::OrderTotals {
            subtotal: money(6_500),
            tax: money(1_235),
            shipping: money(490),
            grand_total: money(8_225),
        };
        order.payment.intent_id = Some("pi_123".into());
        order.payment.captured_minor = 8_225;
        order
    }

    fn issued() -> Invoice {
        let draft = Invoice::draft_for_order(&paid_order(), &terms(), AT);
        let number = Sequence::of(Series::Invoice, AT).next_after(Some(122));
        draft.issued(number, &terms(), AT).unwrap()
    }

    #[test]
    fn numbers_read_as_series_year_and_six_digits_and_parse_back() {
        let first = Sequence::of(Series::Invoice, AT).next_after(None);
        assert_eq!(first.to_string(), "INV-2026-000001");
        let big = Sequence::of(Series::CreditNote, AT).next_after(Some(1_234_566));
        assert_eq!(big.to_string(), "CN-2026-1234567");
        for shown in ["INV-2026-000001", "CN-2026-1234567", "INV-2027-000123"] {
            assert_eq!(shown.parse::<InvoiceNumber>().unwrap().to_string(), shown);
        }
        for junk in [
            "INV-2026-1",
            "INV-26-000001",
            "XX-2026-000001",
            "INV-2026-000000",
            "INV-2026-00000a",
        ] {
            assert!(junk.parse::<InvoiceNumber>().is_err(), "{junk}");
        }
    }

    #[test]
    fn a_new_year_starts_its_sequence_at_one() {
        let new_year = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        let sequence = Sequence::of(Series::Invoice, new_year);
        assert_eq!(sequence.to_string(), "INV-2027");
        assert_eq!(sequence.next_after(None).number, 1);
    }

    #[test]
    fn an_order_invoice_bills_a_split_line_once_and_carries_the_orders_totals() {
        let order = paid_order();
        let draft = Invoice::draft_for_order(&order, &terms(), AT);

        assert_eq!(draft.status, InvoiceStatus::Draft);
        assert_eq!(draft.number, None);
        let billed: Vec<(&str, u32, i64)> = draft
            .lines
            .iter()
            .map(|line| {
                (
                    line.sku.as_ref().unwrap().as_str(),
                    line.quantity,
                    line.total_minor,
                )
            })
            .collect();
        assert_eq!(billed, [("POSTER-A2", 5, 5_000), ("MUG", 1, 1_500)]);
        assert_eq!(draft.totals.total_minor, order.totals.grand_total.minor);
        assert_eq!(
            draft.lines.iter().map(|line| line.total_minor).sum::<i64>(),
            draft.totals.subtotal_minor
        );
        assert_eq!(draft.buyer.name, "Ada");
        assert_eq!(draft.buyer.address, ["1 Way", "N1 London", "GB"]);
        assert_eq!(draft.seller, terms().seller);
    }

    #[test]
    fn issuing_numbers_and_dates_a_draft_once() {
        let invoice = issued();
        assert_eq!(invoice.status, InvoiceStatus::Issued);
        assert_eq!(invoice.number.unwrap().to_string(), "INV-2026-000123");
        assert_eq!(invoice.issued_at, Some(AT));
        assert_eq!(invoice.due_at, Some(AT.plus_secs(14 * 86_400)));
        let again = Sequence::of(Series::Invoice, AT).next_after(Some(123));
        assert_eq!(
            invoice.issued(again, &terms(), AT),
            Err(InvoiceError::NotDraft("issued"))
        );
    }

    #[test]
    fn allocations_pay_an_invoice_in_part_then_in_full_and_never_beyond() {
        let invoice = issued();
        let part = invoice.allocated(5_000).unwrap();
        assert_eq!(
            (part.status, part.open_minor()),
            (InvoiceStatus::PartiallyPaid, 3_225)
        );
        assert_eq!(
            part.allocated(3_226),
            Err(InvoiceError::ExceedsBalance {
                asked_minor: 3_226,
                open_minor: 3_225
            })
        );
        assert_eq!(part.allocated(0), Err(InvoiceError::NothingAllocated));
        let paid = part.allocated(3_225).unwrap();
        assert_eq!((paid.status, paid.open_minor()), (InvoiceStatus::Paid, 0));
        assert_eq!(paid.allocated(1), Err(InvoiceError::NotOpen("paid")));
        let draft = Invoice::draft_for_order(&paid_order(), &terms(), AT);
        assert_eq!(draft.allocated(1), Err(InvoiceError::NotOpen("draft")));
    }

    #[test]
    fn an_invoice_is_overdue_only_past_due_with_money_owed() {
        let invoice = issued();
        let due = invoice.due_at.unwrap();
        assert_eq!(invoice.standing(due), "issued");
        assert_eq!(invoice.standing(due.plus_secs(1)), "overdue");
        let paid = invoice.allocated(invoice.open_minor()).unwrap();
        assert_eq!(paid.standing(due.plus_secs(86_400)), "paid");
    }

    #[test]
    fn a_capture_settles_what_it_can_and_keeps_the_rest_unallocated() {
        let order = paid_order();
        let capture = PaymentRecord::captured_for(&order, AT).unwrap();
        assert_eq!(
            (capture.method, capture.reference.as_str()),
            (PaymentMethod::Card, "pi_123")
        );

        let (capture, invoice) = capture.settle(&issued()).unwrap();
        assert_eq!(invoice.status, InvoiceStatus::Paid);
        assert_eq!(capture.unallocated_minor(), 0);
        assert_eq!(capture.allocations[0].invoice_id, invoice.id);

        let mut short = order.clone();
        short.payment.captured_minor = 8_000;
        let (capture, invoice) = PaymentRecord::captured_for(&short, AT)
            .unwrap()
            .settle(&issued())
            .unwrap();
        assert_eq!(
            (invoice.status, invoice.open_minor()),
            (InvoiceStatus::PartiallyPaid, 225)
        );
        assert_eq!(capture.unallocated_minor(), 0);

        let mut nothing = order;
        nothing.payment.captured_minor = 0;
        assert_eq!(PaymentRecord::captured_for(&nothing, AT), None);
    }

    #[test]
    fn a_credit_note_gives_part_of_an_invoice_back_with_its_share_of_tax() {
        let invoice = issued();
        let note = invoice.credit_note(1_000, 0, "Refund", AT).unwrap();

        assert!(note.is_credit_note());
        assert_eq!(note.series(), Series::CreditNote);
        assert_eq!(note.credits.unwrap().invoice_id, invoice.id);
        // 1,000 of 8,225 carries 1,235 * 1,000 / 8,225 = 150.15 tax.
        assert_eq!(
            (
                note.totals.subtotal_minor,
                note.totals.tax_minor,
                note.totals.total_minor
            ),
            (-850, -150, -1_000)
        );
        assert_eq!(
            note.lines[0].description,
            "Refund (credits INV-2026-000123)"
        );
        assert_eq!(note.customer_id, invoice.customer_id);
        let number = Sequence::of(Series::CreditNote, AT).next_after(None);
        let note = note.issued(number, &terms(), AT).unwrap();
        assert_eq!((note.due_at, note.open_minor()), (None, 0));
        assert_eq!(note.standing(AT.plus_secs(400 * 86_400)), "issued");
        assert_eq!(note.number.unwrap().to_string(), "CN-2026-000001");
    }

    #[test]
    fn no_more_is_credited_than_the_invoice_was_and_only_issued_ones() {
        let invoice = issued();
        assert_eq!(
            invoice.credit_note(1_226, 7_000, "Refund", AT),
            Err(InvoiceError::ExceedsCreditable {
                asked_minor: 1_226,
                creditable_minor: 1_225
            })
        );
        assert!(invoice.credit_note(1_225, 7_000, "Refund", AT).is_ok());
        assert_eq!(
            invoice.credit_note(0, 0, "Refund", AT),
            Err(InvoiceError::NothingAllocated)
        );
        let draft = Invoice::draft_for_order(&paid_order(), &terms(), AT);
        assert_eq!(
            draft.credit_note(1, 0, "Refund", AT),
            Err(InvoiceError::NotCreditable("draft"))
        );
        let note = invoice.credit_note(1, 0, "Refund", AT).unwrap();
        assert!(note.credit_note(1, 0, "Refund", AT).is_err());
    }

    #[test]
    fn an_invoice_is_voided_only_once_the_money_on_it_is_given_back() {
        let unpaid = issued();
        let voided = unpaid.voided("wrong buyer", "admin:staff", 0, AT).unwrap();
        assert_eq!(voided.status, InvoiceStatus::Void);
        assert_eq!(voided.number, unpaid.number);
        assert_eq!(voided.voided.as_ref().unwrap().reason, "wrong buyer");
        assert_eq!(voided.open_minor(), 0);
        assert_eq!(
            voided.voided("again", "admin:staff", 0, AT),
            Err(InvoiceError::NotVoidable("void"))
        );

        let paid = unpaid.allocated(8_225).unwrap();
        assert_eq!(
            paid.voided("late", "admin:staff", 1_000, AT),
            Err(InvoiceError::MoneyAllocated {
                paid_minor: 8_225,
                credited_minor: 1_000
            })
        );
        assert!(paid.voided("refunded", "admin:staff", 8_225, AT).is_ok());
        let draft = Invoice::draft_for_order(&paid_order(), &terms(), AT);
        assert_eq!(
            draft.voided("draft", "admin:staff", 0, AT),
            Err(InvoiceError::NotVoidable("draft"))
        );
    }

    #[test]
    fn staff_record_positive_payments_received_other_than_by_card() {
        let eur = Currency::parse("EUR").unwrap();
        let id = crate::ids::monotonic_ulid(AT);
        let transfer = PaymentRecord::received(
            id,
            PaymentMethod::BankTransfer,
            500,
            eur.clone(),
            "SEPA 42",
            AT,
        )
        .unwrap();
        assert_eq!(transfer.unallocated_minor(), 500);
        assert_eq!(
            PaymentRecord::received(id, PaymentMethod::Card, 500, eur.clone(), "x", AT),
            Err(InvoiceError::CardIsCaptured)
        );
        assert_eq!(
            PaymentRecord::received(id, PaymentMethod::Cash, 0, eur, "x", AT),
            Err(InvoiceError::NothingAllocated)
        );
    }

    #[test]
    fn an_overdue_invoice_is_reminded_once_per_step_of_the_cadence() {
        let cadence = ReminderCadence::new(vec![1, 7, 14]).unwrap();
        let invoice = issued();
        let due = invoice.due_at.unwrap();
        let days = |n: u64| due.plus_secs(n * 86_400);

        assert_eq!(invoice.reminder_due(&cadence, days(0)), None);
        let first = invoice.reminder_due(&cadence, days(1)).unwrap();
        assert_eq!(
            first,
            Reminder {
                step: 1,
                days_overdue: 1
            }
        );
        let reminded = invoice.reminded(first);
        assert_eq!(reminded.reminder_due(&cadence, days(6)), None);
        assert_eq!(
            reminded.reminder_due(&cadence, days(9)),
            Some(Reminder {
                step: 2,
                days_overdue: 9
            })
        );
        // A job that did not run for weeks sends the latest step only.
        assert_eq!(
            invoice.reminder_due(&cadence, days(30)),
            Some(Reminder {
                step: 3,
                days_overdue: 30
            })
        );
        let paid = invoice.allocated(invoice.open_minor()).unwrap();
        assert_eq!(paid.reminder_due(&cadence, days(30)), None);
    }

    #[test]
    fn a_cadence_is_days_after_due_each_once() {
        assert!(ReminderCadence::new(vec![14, 1, 7]).is_ok());
        assert!(ReminderCadence::new(vec![]).is_err());
        assert!(ReminderCadence::new(vec![0, 7]).is_err());
        assert!(ReminderCadence::new(vec![7, 7]).is_err());
        assert!(ReminderCadence::new(vec![400]).is_err());
    }

    #[test]
    fn a_payment_refuses_to_allocate_more_than_it_has_left_or_another_currency() {
        let capture = PaymentRecord::captured_for(&paid_order(), AT).unwrap();
        let (capture, _) = capture.allocate(&issued(), 8_000).unwrap();
        assert_eq!(
            capture.allocate(&issued(), 226),
            Err(InvoiceError::ExceedsPayment {
                asked_minor: 226,
                unallocated_minor: 225
            })
        );
        let mut dollars = issued();
        dollars.currency = Currency::parse("USD").unwrap();
        assert_eq!(
            capture.allocate(&dollars, 1),
            Err(InvoiceError::CurrencyMismatch {
                payment: "EUR".into(),
                invoice: "USD".into()
            })
        );
    }

    proptest::proptest! {
        /// Whatever is asked, in whatever order, an invoice is never paid
        /// beyond its total, a payment never allocates beyond its amount,
        /// and every unit allocated lands on exactly one invoice.
        #[test]
        fn allocations_never_exceed_either_side(
            totals in proptest::collection::vec(1i64..10_000, 1..5),
            amounts in proptest::collection::vec(1i64..10_000, 1..5),
            asks in proptest::collection::vec((0usize..5, 0usize..5, -50i64..12_000), 0..60),
        ) {
            let mut invoices: Vec<Invoice> = totals.iter().map(|total| {
                let mut invoice = issued();
                invoice.id = InvoiceId::made_at(AT);
                invoice.totals.total_minor = *total;
                invoice
            }).collect();
            let mut payments: Vec<PaymentRecord> = amounts.iter().map(|amount| {
                let mut payment = PaymentRecord::captured_for(&paid_order(), AT).unwrap();
                payment.amount_minor = *amount;
                payment
            }).collect();
            for (p, i, amount) in asks {
                let (p, i) = (p % payments.len(), i % invoices.len());
                if let Ok((payment, invoice)) = payments[p].allocate(&invoices[i], amount) {
                    proptest::prop_assert!(amount > 0);
                    payments[p] = payment;
                    invoices[i] = invoice;
                }
            }
            for invoice in &invoices {
                proptest::prop_assert!(invoice.paid_minor <= invoice.totals.total_minor);
                proptest::prop_assert!(invoice.paid_minor >= 0);
            }
            for payment in &payments {
                proptest::prop_assert!(payment.unallocated_minor() >= 0);
            }
            let allocated: i64 = payments.iter().flat_map(|p| &p.allocations).map(|a| a.amount_minor).sum();
            let paid: i64 = invoices.iter().map(|invoice| invoice.paid_minor).sum();
            proptest::prop_assert_eq!(allocated, paid);
        }
    }

    fn consulting(items: Vec<Billed>) -> ManualBill {
        ManualBill {
            buyer: Party {
                name: "Acme Retail Ltd".into(),
                address: vec!["1 High Street".into(), "London".into(), "GB".into()],
                tax_id: None,
                email: None,
            },
            currency: Currency::parse("EUR").unwrap(),
            items,
            tax_minor: 1_900,
            shipping_minor: 0,
        }
    }

    fn billed(quantity: u32, unit_price_minor: i64) -> Billed {
        Billed {
            sku: None,
            description: "Setup work".into(),
            quantity,
            unit_price_minor,
        }
    }

    #[test]
    fn a_manual_draft_prices_its_lines_and_has_no_number_until_issued() {
        let at = AT;
        let bill = consulting(vec![billed(4, 2_000), billed(1, 2_000)]);
        let customer = CustomerId::parse("cust-acme").unwrap();
        let draft = Invoice::manual_draft(customer, &bill, &terms().seller, at).unwrap();
        assert_eq!(draft.status, InvoiceStatus::Draft);
        assert_eq!((draft.number, draft.order_id), (None, None));
        assert_eq!(draft.lines[0].total_minor, 8_000);
        assert_eq!(
            draft.totals,
            InvoiceTotals {
                subtotal_minor: 10_000,
                tax_minor: 1_900,
                shipping_minor: 0,
                total_minor: 11_900,
            }
        );
        assert_eq!(draft.manual_bill(), Some(bill));
        let number = Sequence::of(Series::Invoice, at).next_after(Some(6));
        let issued = draft.issued(number, &terms(), at).unwrap();
        assert_eq!(issued.number.unwrap().to_string(), "INV-2026-000007");
        assert_eq!(
            issued.redrafted(&consulting(vec![billed(1, 1)])),
            Err(InvoiceError::NotDraft("issued"))
        );
    }

    #[test]
    fn a_manual_bill_refuses_no_lines_no_units_and_totals_past_the_limit() {
        let at = AT;
        let draft = |items| {
            Invoice::manual_draft(
                CustomerId::parse("cust-acme").unwrap(),
                &consulting(items),
                &terms().seller,
                at,
            )
        };
        assert!(matches!(draft(vec![]), Err(InvoiceError::LineCount { .. })));
        assert!(matches!(
            draft(vec![billed(1, 1); MAX_MANUAL_LINES + 1]),
            Err(InvoiceError::LineCount { .. })
        ));
        assert!(matches!(
            draft(vec![billed(0, 100)]),
            Err(InvoiceError::UnitsOutOfRange { .. })
        ));
        assert!(matches!(
            draft(vec![billed(1, -1)]),
            Err(InvoiceError::AmountOutOfRange { .. })
        ));
        // Each line within the limit, the lines together past it.
        assert!(matches!(
            draft(vec![billed(1, MAX_BILLED_MINOR), billed(1, 1)]),
            Err(InvoiceError::AmountOutOfRange { .. })
        ));
        assert!(draft(vec![billed(MAX_BILLED_UNITS, 1)]).is_ok());
    }
}
