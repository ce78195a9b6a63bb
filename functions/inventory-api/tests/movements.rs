//! `GET /v1/inventory/{sku}/movements`: staff page through a SKU's stock
//! ledger, oldest first, by warehouse and time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{InventoryApi, admin, customer, sku, wh};
use serde_json::{Value, json};
use shopflow_domain::movement::LevelChange;
use shopflow_domain::{Movement, MovementCause, MovementNote, StockLevel, Timestamp};
use shopflow_ports::StockLedger;

/// Minute `minute` of 2026-12-01.
fn at(minute: u64) -> Timestamp {
    Timestamp::from_millis(1_796_083_200_000 + minute * 60_000)
}

/// A restock of `units` into `warehouse` at `minute`, as stock-ledger
/// records it.
fn restocked(warehouse: &str, version: u64, units: u32, minute: u64) -> Movement {
    let after = StockLevel::on_hand(units * u32::try_from(version).unwrap());
    Movement {
        sku: sku("TEE-RED"),
        warehouse: wh(warehouse),
        version,
        note: MovementNote::new(MovementCause::Restocked, format!("rs-{minute}"), at(minute)),
        change: LevelChange {
            on_hand: i64::from(units),
            ..LevelChange::default()
        },
        after,
    }
}

/// TEE-RED with five restocks of 2 into BER (minutes 0, 2, 4, 6, 8) and
/// three into MUC (minutes 1, 3, 5).
async fn api_with_a_ledger() -> InventoryApi {
    let api = InventoryApi::new();
    api.catalogued("TEE-RED").await;
    for version in 1..=5 {
        let movement = restocked("BER", version, 2, 2 * (version - 1));
        api.store().record_movement(&movement, None).await.unwrap();
    }
    for version in 1..=3 {
        let movement = restocked("MUC", version, 2, 2 * version - 1);
        api.store().record_movement(&movement, None).await.unwrap();
    }
    api
}

fn minutes(body: &Value) -> Vec<String> {
    body["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}@{}",
                m["warehouse"].as_str().unwrap(),
                m["reference"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn staff_page_through_the_ledger_oldest_first() {
    let api = api_with_a_ledger().await;

    let first = api.movements("TEE-RED", "limit=3", admin()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = api
        .movements("TEE-RED", &format!("limit=10&cursor={cursor}"), admin())
        .await
        .json();

    assert_eq!(minutes(&first), ["BER@rs-0", "MUC@rs-1", "BER@rs-2"]);
    assert_eq!(
        minutes(&rest),
        ["MUC@rs-3", "BER@rs-4", "MUC@rs-5", "BER@rs-6", "BER@rs-8"]
    );
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(
        first["movements"][0],
        json!({
            "warehouse": "BER", "version": 1, "cause": "restocked", "reference": "rs-0",
            "at": "2026-12-01T00:00:00.000Z",
            "change": { "on_hand": 2, "reserved": 0, "set_aside": 0, "backordered": 0, "available": 2 },
            "after": { "warehouse": "BER", "on_hand": 2, "reserved": 0, "set_aside": 0, "backordered": 0, "available": 2 }
        })
    );
}

#[tokio::test]
async fn one_warehouse_in_a_window() {
    let api = api_with_a_ledger().await;

    let reply = api
        .movements(
            "TEE-RED",
            "warehouse=BER&from=2026-12-01T00:02:00Z&to=2026-12-01T00:06:00Z",
            admin(),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(minutes(&reply.json()), ["BER@rs-2", "BER@rs-4", "BER@rs-6"]);
}

#[tokio::test]
async fn bad_asks_are_refused_and_the_ledger_is_for_staff() {
    let api = api_with_a_ledger().await;
    let cursor_past_the_window = {
        let page = api.movements("TEE-RED", "limit=7", admin()).await.json();
        page["next_cursor"].as_str().unwrap().to_owned()
    };

    let cases = [
        ("TEE-RED", "warehouse=NOWHERE".to_owned(), 404),
        ("TEE-GONE", String::new(), 404),
        (
            "TEE-RED",
            "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z".to_owned(),
            422,
        ),
        ("TEE-RED", "cursor=bm90LWEtY3Vyc29y".to_owned(), 422),
        (
            "TEE-RED",
            format!("to=2026-12-01T00:03:00Z&cursor={cursor_past_the_window}"),
            422,
        ),
        ("TEE-RED", "limit=0".to_owned(), 400),
        ("TEE-RED", "from=yesterday".to_owned(), 400),
    ];
    for (code, query, status) in cases {
        let reply = api.movements(code, &query, admin()).await;
        assert_eq!(reply.status, status, "{code}?{query}: {}", reply.body);
    }
    assert_eq!(api.movements("TEE-RED", "", customer()).await.status, 403);
}
