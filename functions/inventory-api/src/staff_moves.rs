//! Staff's changes to stock by hand: a restock, an adjustment of the count
//! (signed, with a reason), a transfer between warehouses. Each is made
//! once per Idempotency-Key; what they may touch is the domain's rule
//! (`StockMove`), and the answer names the levels they left.

use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use shopflow_domain::ids::printable_text;
use shopflow_domain::{AdjustReason, MoveError, StockLevel, WarehouseId};
use shopflow_lambda_kit::{ApiError, idempotency, integral};
use shopflow_ports::StaffMoveError;

/// The most units one move may add, take out or carry.
pub const MAX_UNITS: u32 = 1_000_000;

/// The longest note staff may leave on an adjustment.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestockBody {
    #[serde(deserialize_with = "integral::i64")]
    quantity: i64,
}

impl RestockBody {
    pub fn received(&self) -> Result<u32, ApiError> {
        units("quantity", self.quantity)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    #[serde(deserialize_with = "integral::i64")]
    delta: i64,
    reason: String,
    #[serde(default)]
    note: Option<String>,
}

/// An adjustment as asked: a change of the count and why.
pub struct Adjustment {
    pub delta: i64,
    pub reason: AdjustReason,
    pub note: Option<String>,
}

impl AdjustBody {
    pub fn into_adjustment(self) -> Result<Adjustment, ApiError> {
        if self.delta == 0 || self.delta.unsigned_abs() > u64::from(MAX_UNITS) {
            return Err(ApiError::invalid_field(
                "delta",
                format!("must be between -{MAX_UNITS} and {MAX_UNITS}, and not 0"),
            ));
        }
        let reason = AdjustReason::parse(&self.reason).ok_or_else(|| {
            let known: Vec<_> = AdjustReason::ALL.iter().map(|r| r.as_str()).collect();
            ApiError::invalid_field("reason", format!("must be one of {}", known.join(", ")))
        })?;
        if !reason.allows(self.delta) {
            let way = if self.delta > 0 { "add" } else { "remove" };
            return Err(ApiError::invalid_field(
                "reason",
                format!("{} cannot {way} units", reason.as_str()),
            ));
        }
        let note = self
            .note
            .map(|note| printable_text("note", &note, MAX_NOTE_CHARS))
            .transpose()?;
        Ok(Adjustment {
            delta: self.delta,
            reason,
            note,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub from: String,
    pub to: String,
    #[serde(deserialize_with = "integral::i64")]
    quantity: i64,
}

impl TransferBody {
    pub fn quantity(&self) -> Result<u32, ApiError> {
        units("quantity", self.quantity)
    }
}

fn units(field: &str, raw: i64) -> Result<u32, ApiError> {
    u32::try_from(raw)
        .ok()
        .filter(|units| (1..=MAX_UNITS).contains(units))
        .ok_or_else(|| ApiError::invalid_field(field, format!("must be between 1 and {MAX_UNITS}")))
}

/// The answer to a move that was not made.
pub fn refused(error: StaffMoveError) -> ApiError {
    match error {
        StaffMoveError::UnknownProduct(_) => ApiError::not_found("product"),
        StaffMoveError::Refused(MoveError::Short {
            warehouse,
            requested,
            level,
        }) => short(&warehouse, requested, level),
        StaffMoveError::Refused(MoveError::Overflow) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "stock_overflow",
            "the stock level would exceed the maximum",
        ),
        StaffMoveError::Refused(MoveError::SameWarehouse) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "same_warehouse",
            "a transfer moves units to another warehouse than the one they leave",
        ),
        StaffMoveError::Refused(error @ MoveError::ReasonMismatch { .. }) => {
            ApiError::invalid_field("reason", error.to_string())
        }
        StaffMoveError::KeyReused => idempotency::key_reused(),
        StaffMoveError::Conflict => {
            ApiError::concurrent_update("the stock is changing; retry with the same key")
        }
        StaffMoveError::Store(error) => error.into(),
    }
}

/// `409` with the figures: only units nobody holds can leave.
fn short(warehouse: &WarehouseId, requested: u32, level: StockLevel) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "insufficient_stock",
        format!(
            "{warehouse} has {} units nobody holds; {requested} cannot leave without touching reserved or set-aside units",
            level.available()
        ),
    )
    .with_details(json!({
        "warehouse": warehouse,
        "requested": requested,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "set_aside": level.set_aside,
        "available": level.available(),
    }))
}
