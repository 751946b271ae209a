//! What must hold whatever the concurrency: no unit sold twice, no gap or
//! duplicate in invoice numbers.

use oms_tests::*;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn fifty_parallel_orders_for_ten_units_sell_exactly_ten() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("SCARCE", "19", 10).await;
    let mut set = tokio::task::JoinSet::new();
    for n in 0..50 {
        let c = h.storefront.clone();
        set.spawn(async move {
            let a = c
                .create_order(
                    &format!("scarce-{n}"),
                    &order_body(n, &[("SCARCE", 1, 1000)]),
                )
                .await
                .unwrap();
            assert_eq!(a.status, 201);
            a.body["id"].as_str().unwrap().to_string()
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = set.join_next().await {
        ids.push(id.unwrap());
    }
    let mut reserved = 0;
    let mut backordered = 0;
    for id in &ids {
        let o = h
            .wait(id, |o| {
                o["status"] == "handed_off" || o["status"] == "backordered"
            })
            .await;
        if o["status"] == "handed_off" {
            reserved += 1;
        } else {
            backordered += 1;
        }
    }
    assert_eq!((reserved, backordered), (10, 40));
    let sku = h.sku("SCARCE").await;
    assert_eq!(
        (
            sku["on_hand"].as_i64(),
            sku["reserved"].as_i64(),
            sku["available"].as_i64()
        ),
        (Some(10), Some(10), Some(0))
    );
    assert_eq!(wh.wait_for_handoffs(10).await.len(), 10);
}

#[tokio::test]
async fn multi_line_orders_reserve_all_lines_or_none() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("A", "19", 6).await;
    h.stock("B", "7", 4).await;
    // Each order wants 2 A and 1 B: A allows 3 orders, B allows 4.
    let mut set = tokio::task::JoinSet::new();
    for n in 0..12 {
        let c = h.storefront.clone();
        set.spawn(async move {
            let a = c
                .create_order(
                    &format!("ab-{n}"),
                    &order_body(n, &[("A", 2, 500), ("B", 1, 300)]),
                )
                .await
                .unwrap();
            a.body["id"].as_str().unwrap().to_string()
        });
    }
    let mut reserved = 0;
    while let Some(id) = set.join_next().await {
        let o = h
            .wait(&id.unwrap(), |o| {
                o["status"] == "handed_off" || o["status"] == "backordered"
            })
            .await;
        reserved += (o["status"] == "handed_off") as i64;
    }
    assert_eq!(reserved, 3);
    assert_eq!(h.sku("A").await["reserved"], 6);
    assert_eq!(
        h.sku("B").await["reserved"],
        3,
        "no B was held for an order short of A"
    );
}

#[tokio::test]
async fn concurrent_shipments_get_gap_free_unique_invoice_numbers() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 100).await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(h.place(&format!("inv-{n}"), &[("MUG", 1, 1000)]).await);
    }
    let mut fulfillments = Vec::new();
    for id in &ids {
        let o = h.wait_status(id, "handed_off").await;
        fulfillments.push(o["fulfillments"][0]["id"].as_str().unwrap().to_string());
    }
    let mut set = tokio::task::JoinSet::new();
    for (n, f) in fulfillments.into_iter().enumerate() {
        let c = h.warehouse.clone();
        set.spawn(async move {
            let a = c
                .post(
                    &format!("/v1/fulfillments/{f}/shipments"),
                    &json!({"carrier": "DHL", "tracking_number": format!("T{n}")}),
                )
                .await
                .unwrap();
            assert_eq!(a.status, 200, "{}", a.body);
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let mut numbers = BTreeSet::new();
    for id in &ids {
        let o = h.wait(id, |o| !o["invoice_number"].is_null()).await;
        numbers.insert(o["invoice_number"].as_str().unwrap().to_string());
    }
    let year = jiff::Timestamp::now().strftime("%Y").to_string();
    let expected: BTreeSet<String> = (1..=40).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected, "exactly 1..=40, each once");
    let sku = h.sku("MUG").await;
    assert_eq!(
        (sku["on_hand"].as_i64(), sku["reserved"].as_i64()),
        (Some(60), Some(0))
    );
}
