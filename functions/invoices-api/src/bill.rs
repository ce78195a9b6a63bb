//! Manual invoices as staff write them: the bodies of `POST /v1/invoices`
//! (a new draft) and `PATCH /v1/invoices/{id}` (a draft changed), read into
//! the domain's [`ManualBill`]. The domain prices the lines and holds the
//! limits on lines, units and amounts; this checks the text.

use serde::Deserialize;
use shopflow_domain::ids::printable_text;
use shopflow_domain::invoice::{Billed, ManualBill, Party};
use shopflow_domain::{Currency, CustomerId, Email, Sku};
use shopflow_lambda_kit::{ApiError, integral};

const MAX_NAME_CHARS: usize = 200;
const MAX_ADDRESS_LINES: usize = 6;
const MAX_TAX_ID_CHARS: usize = 50;
const MAX_DESCRIPTION_CHARS: usize = 200;

/// `POST /v1/invoices`: a draft billing a customer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDraftBody {
    customer_id: String,
    buyer: BuyerBody,
    currency: String,
    lines: Vec<LineBody>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    tax_minor: Option<i64>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    shipping_minor: Option<i64>,
}

impl NewDraftBody {
    /// The customer billed and what they are billed, every field valid.
    pub fn validate(self) -> Result<(CustomerId, ManualBill), ApiError> {
        let customer = CustomerId::parse(&self.customer_id)
            .map_err(|error| ApiError::invalid_field("customer_id", error.to_string()))?;
        let bill = ManualBill {
            buyer: self.buyer.validate()?,
            currency: currency(&self.currency)?,
            items: items(self.lines)?,
            tax_minor: minor("tax_minor", self.tax_minor.unwrap_or(0))?,
            shipping_minor: minor("shipping_minor", self.shipping_minor.unwrap_or(0))?,
        };
        Ok((customer, bill))
    }
}

/// `PATCH /v1/invoices/{id}`: what changes on a draft; what is absent stays.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftChangeBody {
    #[serde(default)]
    buyer: Option<BuyerBody>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    lines: Option<Vec<LineBody>>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    tax_minor: Option<i64>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    shipping_minor: Option<i64>,
}

impl DraftChangeBody {
    /// `bill` with the changes asked for, every field valid.
    pub fn applied_to(self, bill: ManualBill) -> Result<ManualBill, ApiError> {
        Ok(ManualBill {
            buyer: self
                .buyer
                .map(BuyerBody::validate)
                .transpose()?
                .unwrap_or(bill.buyer),
            currency: self
                .currency
                .as_deref()
                .map(currency)
                .transpose()?
                .unwrap_or(bill.currency),
            items: self.lines.map(items).transpose()?.unwrap_or(bill.items),
            tax_minor: minor("tax_minor", self.tax_minor.unwrap_or(bill.tax_minor))?,
            shipping_minor: minor(
                "shipping_minor",
                self.shipping_minor.unwrap_or(bill.shipping_minor),
            )?,
        })
    }
}

/// Who is billed, as printed on the invoice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuyerBody {
    name: String,
    address: Vec<String>,
    #[serde(default)]
    tax_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl BuyerBody {
    fn validate(self) -> Result<Party, ApiError> {
        let name = printable_text("buyer.name", &self.name, MAX_NAME_CHARS)?;
        if self.address.is_empty() || self.address.len() > MAX_ADDRESS_LINES {
            return Err(ApiError::invalid_field(
                "buyer.address",
                format!("must have 1 to {MAX_ADDRESS_LINES} lines"),
            ));
        }
        let address = self
            .address
            .iter()
            .map(|line| printable_text("buyer.address", line, MAX_NAME_CHARS))
            .collect::<Result<_, _>>()?;
        let tax_id = self
            .tax_id
            .as_deref()
            .map(|tax_id| printable_text("buyer.tax_id", tax_id, MAX_TAX_ID_CHARS))
            .transpose()?;
        let email = self
            .email
            .as_deref()
            .map(|raw| {
                Email::parse(raw.trim())
                    .map_err(|error| ApiError::invalid_field("buyer.email", error.to_string()))
            })
            .transpose()?;
        Ok(Party {
            name,
            address,
            tax_id,
            email,
        })
    }
}

/// A billed item as asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    #[serde(default)]
    sku: Option<String>,
    description: String,
    /// JSON's `3.0` is the integer 3.
    #[serde(deserialize_with = "integral::i64")]
    quantity: i64,
    #[serde(deserialize_with = "integral::i64")]
    unit_price_minor: i64,
}

fn items(lines: Vec<LineBody>) -> Result<Vec<Billed>, ApiError> {
    lines
        .into_iter()
        .map(|line| {
            let sku = line
                .sku
                .as_deref()
                .map(|raw| {
                    Sku::parse(raw)
                        .map_err(|error| ApiError::invalid_field("lines.sku", error.to_string()))
                })
                .transpose()?;
            Ok(Billed {
                sku,
                description: printable_text(
                    "lines.description",
                    &line.description,
                    MAX_DESCRIPTION_CHARS,
                )?,
                quantity: u32::try_from(line.quantity).map_err(|_| {
                    ApiError::invalid_field("lines.quantity", "must be 1 to 1000000")
                })?,
                unit_price_minor: minor("lines.unit_price_minor", line.unit_price_minor)?,
            })
        })
        .collect()
}

/// An amount in minor units: never negative (a credit is a credit note).
fn minor(field: &str, amount: i64) -> Result<i64, ApiError> {
    if amount < 0 {
        return Err(ApiError::invalid_field(field, "must not be negative"));
    }
    Ok(amount)
}

fn currency(raw: &str) -> Result<Currency, ApiError> {
    Currency::parse(raw)
        .map_err(|_| ApiError::invalid_field("currency", "must be an ISO 4217 code such as EUR"))
}
