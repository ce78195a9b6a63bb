//! Business metrics as CloudWatch Embedded Metric Format: one JSON line on
//! stdout per measurement, which CloudWatch Logs turns into metrics in the
//! `shopflow` namespace, dimensioned by function. No API calls, no latency.

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "shopflow";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// The EMF line for `values`, measured by `function` at `timestamp_millis`.
pub fn emf_line(function: &str, timestamp_millis: u64, values: &[(&str, f64, Unit)]) -> String {
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Function".into(), json!(function));
    for (name, value, _) in values {
        line.insert((*name).to_owned(), json!(value));
    }
    Value::Object(line).to_string()
}

/// Writes the measurements for CloudWatch to pick up.
pub fn emit(function: &str, values: &[(&str, f64, Unit)]) {
    println!("{}", emf_line(function, crate::now().as_millis(), values));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_declares_every_metric_and_carries_its_value() {
        let line: Value = serde_json::from_str(&emf_line(
            "checkout-api",
            1_700_000_000_000,
            &[
                ("OrdersCreated", 1.0, Unit::Count),
                ("CheckoutLatency", 42.0, Unit::Milliseconds),
            ],
        ))
        .unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "shopflow");
        assert_eq!(declared["Dimensions"], json!([["Function"]]));
        assert_eq!(
            declared["Metrics"][1],
            json!({ "Name": "CheckoutLatency", "Unit": "Milliseconds" })
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(line["Function"], "checkout-api");
        assert_eq!(line["OrdersCreated"], 1.0);
        assert_eq!(line["CheckoutLatency"], 42.0);
    }
}
