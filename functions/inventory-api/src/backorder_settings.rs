//! Backorder settings per SKU × warehouse (admin): read, save one, and save
//! up to 100 at once, all or nothing, with every row's faults named.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopflow_domain::{BackorderSettings, Sku, Timestamp, WarehouseId};
use shopflow_lambda_kit::{ApiError, integral};
use shopflow_ports::{SaveSettingsError, SettingsRow};
use std::collections::HashSet;

/// The most rows one bulk save takes: one transaction's worth.
pub const MAX_ROWS: usize = 100;

/// The settings fields of a request; absent optional fields take their
/// defaults, as a PUT replaces what was there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    allow_backorder: bool,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    max_backorder_quantity: Option<i64>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    estimated_restock_days: Option<i64>,
    #[serde(default)]
    estimated_restock_date: Option<String>,
}

impl SettingsBody {
    /// The settings asked for, or the first field out of bounds.
    pub fn into_settings(self, now: Timestamp) -> Result<BackorderSettings, ApiError> {
        let defaults = BackorderSettings::default();
        let max_backorder_quantity = bounded(
            "max_backorder_quantity",
            self.max_backorder_quantity,
            defaults.max_backorder_quantity,
            BackorderSettings::MAX_QUANTITY,
        )?;
        let estimated_restock_days = bounded(
            "estimated_restock_days",
            self.estimated_restock_days,
            defaults.estimated_restock_days,
            BackorderSettings::MAX_DAYS,
        )?;
        let estimated_restock_date = self
            .estimated_restock_date
            .map(|raw| restock_date(&raw, now))
            .transpose()?;
        Ok(BackorderSettings {
            allow_backorder: self.allow_backorder,
            max_backorder_quantity,
            estimated_restock_days,
            estimated_restock_date,
        })
    }
}

fn bounded(field: &str, value: Option<i64>, default: u32, max: u32) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(value) => u32::try_from(value)
            .ok()
            .filter(|value| *value <= max)
            .ok_or_else(|| ApiError::invalid_field(field, format!("must be between 0 and {max}"))),
    }
}

/// A restock date staff promise: an RFC 3339 instant still ahead (a date
/// gone by is well-formed, so `422`, not `400`).
fn restock_date(raw: &str, now: Timestamp) -> Result<Timestamp, ApiError> {
    let field = "estimated_restock_date";
    let date = Timestamp::parse_rfc3339(raw)
        .ok_or_else(|| ApiError::invalid_field(field, "must be an RFC 3339 date-time"))?;
    if date <= now {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "restock_date_passed",
            format!("{field}: must be in the future"),
        )
        .with_detail("field", field));
    }
    Ok(date)
}

/// A bulk save's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    rows: Vec<BulkRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRow {
    sku: String,
    warehouse: String,
    allow_backorder: bool,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    max_backorder_quantity: Option<i64>,
    #[serde(default, deserialize_with = "integral::optional_i64")]
    estimated_restock_days: Option<i64>,
    #[serde(default)]
    estimated_restock_date: Option<String>,
}

impl BulkRow {
    fn into_row(self, warehouses: &[WarehouseId], now: Timestamp) -> Result<SettingsRow, ApiError> {
        let sku = Sku::parse(&self.sku)?;
        let warehouse = WarehouseId::parse(&self.warehouse)?;
        if !warehouses.contains(&warehouse) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_warehouse",
                format!("{warehouse} is not one of the shop's warehouses"),
            )
            .with_details(json!({ "field": "warehouse" })));
        }
        let settings = SettingsBody {
            allow_backorder: self.allow_backorder,
            max_backorder_quantity: self.max_backorder_quantity,
            estimated_restock_days: self.estimated_restock_days,
            estimated_restock_date: self.estimated_restock_date,
        }
        .into_settings(now)?;
        Ok(SettingsRow {
            sku,
            warehouse,
            settings,
        })
    }
}

impl BulkBody {
    /// Every row checked: the rows to save, or `422 invalid_rows` naming
    /// each faulty row by its index.
    pub fn into_rows(
        self,
        warehouses: &[WarehouseId],
        now: Timestamp,
    ) -> Result<Vec<SettingsRow>, ApiError> {
        if self.rows.is_empty() || self.rows.len() > MAX_ROWS {
            return Err(ApiError::invalid_field(
                "rows",
                format!("must hold 1 to {MAX_ROWS} rows"),
            ));
        }
        let mut rows = Vec::with_capacity(self.rows.len());
        let mut faults = Vec::new();
        let mut seen = HashSet::new();
        for (index, row) in self.rows.into_iter().enumerate() {
            match row.into_row(warehouses, now) {
                Ok(row) if !seen.insert((row.sku.clone(), row.warehouse.clone())) => {
                    faults.push(row_fault(
                        index,
                        "duplicate_row",
                        "this SKU and warehouse are in an earlier row",
                    ))
                }
                Ok(row) => rows.push(row),
                Err(error) => faults.push(json!({
                    "index": index,
                    "code": error.code,
                    "message": error.message,
                    "field": error.details.get("field"),
                })),
            }
        }
        if faults.is_empty() {
            Ok(rows)
        } else {
            Err(invalid_rows(faults))
        }
    }
}

fn row_fault(index: usize, code: &str, message: &str) -> Value {
    json!({ "index": index, "code": code, "message": message })
}

fn invalid_rows(faults: Vec<Value>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_rows",
        format!("{} rows cannot be saved; none were", faults.len()),
    )
    .with_detail("rows", faults)
}

/// Why a save was refused, as an answer.
pub fn refused(error: SaveSettingsError, bulk: bool) -> ApiError {
    match error {
        SaveSettingsError::UnknownProducts(_) if !bulk => ApiError::not_found("product"),
        SaveSettingsError::UnknownProducts(indexes) => invalid_rows(
            indexes
                .into_iter()
                .map(|index| row_fault(index, "unknown_product", "the catalog has no such SKU"))
                .collect(),
        ),
        SaveSettingsError::Conflict => {
            ApiError::concurrent_update("the stock is changing; retry the save")
        }
        SaveSettingsError::Store(error) => error.into(),
    }
}

pub fn view(sku: &Sku, warehouse: &WarehouseId, settings: &BackorderSettings) -> Value {
    json!({
        "sku": sku,
        "warehouse": warehouse,
        "allow_backorder": settings.allow_backorder,
        "max_backorder_quantity": settings.max_backorder_quantity,
        "estimated_restock_days": settings.estimated_restock_days,
        "estimated_restock_date": settings.estimated_restock_date.map(Timestamp::to_rfc3339),
    })
}

pub fn answer(sku: &Sku, warehouse: &WarehouseId, settings: &BackorderSettings) -> Response<Body> {
    shopflow_lambda_kit::http::json(
        StatusCode::OK,
        &json!({ "backorder_settings": view(sku, warehouse, settings) }),
    )
}
