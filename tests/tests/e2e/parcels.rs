//! Several parcels per fulfillment, on both backends: two partial parcels
//! and the rest; a repeated parcel changes nothing; the same tracking
//! number with other lines is a conflict; more than is open is 422 naming
//! the line; stock leaves `on_hand` per parcel; each parcel gets its own
//! invoice (shipping on the first, the discount shared) and the invoices
//! add up to exactly the order's total; the customer gets a shipment
//! notice per parcel.

use oms_tests::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn ship(h: &Harness, ful: &str, tracking: &str, lines: Option<Value>) -> (u16, Value) {
    let mut body = json!({"carrier": "DHL", "tracking_number": tracking});
    if let Some(lines) = lines {
        body["lines"] = lines;
    }
    let a = h
        .warehouse
        .post(&format!("/v1/fulfillments/{ful}/shipments"), &body)
        .await
        .unwrap();
    (a.status, a.body)
}

async fn stock_of(h: &Harness, sku: &str) -> (i64, i64) {
    let s = h.sku(sku).await;
    (
        s["on_hand"].as_i64().unwrap(),
        s["reserved"].as_i64().unwrap(),
    )
}

/// Places and pays an order of 3 mugs (12.99) and 2 lamps (49.00), ships
/// it in three parcels; returns the order id and its shipment ids.
async fn parcels_are_shipped_and_invoiced(
    h: &Harness,
    wh: &FakeWarehouse,
) -> (String, Vec<String>) {
    h.stock("MUG", "19", 10).await;
    h.stock("LAMP", "7", 10).await;
    // 3 × 12.99 + 2 × 49.00 + 4.95 shipping − 1.00 discount = 140.92.
    let id = h
        .place("parcels-1", &[("MUG", 3, 1299), ("LAMP", 2, 4900)])
        .await;
    let pay = h
        .admin
        .pay("evt_parcels_1", &id, 14092, "eur")
        .await
        .unwrap();
    assert_eq!(pay.status, 200, "{}", pay.body);
    wh.wait_for_handoffs(1).await;
    let o = h.wait_status(&id, "handed_off").await;
    let ful = o["fulfillments"][0]["id"].as_str().unwrap().to_string();

    // Parcel 1: one mug.
    let (status, o) = ship(h, &ful, "P-1", Some(json!([{"sku": "MUG", "quantity": 1}]))).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["status"], "partially_shipped");
    assert_eq!(o["shipments"].as_array().unwrap().len(), 1);
    let first = &o["shipments"][0];
    assert_eq!(first["fulfillment_id"], ful.as_str());
    assert_eq!(first["carrier"], "DHL");
    assert_eq!(first["tracking_number"], "P-1");
    assert_eq!(first["lines"], json!([{"sku": "MUG", "quantity": 1}]));
    assert!(first["shipped_at"].is_string());
    assert_eq!(stock_of(h, "MUG").await, (9, 2), "one mug left on_hand");
    // Partly shipped: too late to cancel (what cannot ship is a short pick).
    let cancel = h
        .storefront
        .post(&format!("/v1/orders/{id}/cancel"), &Value::Null)
        .await
        .unwrap();
    assert_eq!(cancel.status, 409, "{}", cancel.body);

    // The same parcel again: nothing changes.
    let (status, again) = ship(h, &ful, "P-1", Some(json!([{"sku": "MUG", "quantity": 1}]))).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["shipments"].as_array().unwrap().len(), 1);
    let (status, _) = ship(h, &ful, "P-1", None).await;
    assert_eq!(
        status, 200,
        "the same tracking number without lines is the same parcel"
    );
    assert_eq!(stock_of(h, "MUG").await, (9, 2), "stock left once");
    // The same tracking number with other lines: 409.
    let (status, body) = ship(h, &ful, "P-1", Some(json!([{"sku": "MUG", "quantity": 2}]))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    // More than is open: 422 naming the line; an unknown SKU too.
    let (status, body) = ship(
        h,
        &ful,
        "P-2",
        Some(json!([{"sku": "LAMP", "quantity": 1}, {"sku": "MUG", "quantity": 3}])),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "lines[1].quantity");
    let (status, body) = ship(
        h,
        &ful,
        "P-2",
        Some(json!([{"sku": "DESK", "quantity": 1}])),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "lines[0].sku");
    assert_eq!(stock_of(h, "LAMP").await, (10, 2), "nothing changed");

    // Parcel 2: a lamp and a mug; parcel 3: the rest.
    let (status, o) = ship(
        h,
        &ful,
        "P-2",
        Some(json!([{"sku": "LAMP", "quantity": 1}, {"sku": "MUG", "quantity": 1}])),
    )
    .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["status"], "partially_shipped");
    assert_eq!(stock_of(h, "LAMP").await, (9, 1));
    let (status, o) = ship(h, &ful, "P-3", None).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["status"], "shipped");
    assert_eq!(
        o["shipments"][2]["lines"],
        json!([{"sku": "LAMP", "quantity": 1}, {"sku": "MUG", "quantity": 1}])
    );
    assert_eq!(stock_of(h, "MUG").await, (7, 0));
    assert_eq!(stock_of(h, "LAMP").await, (8, 0));
    // Shipped in full: another parcel is a conflict.
    let (status, _) = ship(h, &ful, "P-4", None).await;
    assert_eq!(status, 409);

    // Each parcel's invoice: shipping on the first, the discount shared
    // by the goods' value (0.09 | 0.46 | 0.45), adding up to the total.
    let o = h
        .wait(&id, |o| {
            o["shipments"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["invoice_number"].is_string()))
        })
        .await;
    let mut invoices = Vec::new();
    for s in o["shipments"].as_array().unwrap() {
        let number = s["invoice_number"].as_str().unwrap();
        let inv = h.invoice(number).await;
        assert_eq!(inv["shipment_id"], s["id"]);
        invoices.push(inv);
    }
    let field =
        |name: &str| -> Vec<i64> { invoices.iter().map(|i| i[name].as_i64().unwrap()).collect() };
    assert_eq!(field("shipping"), [495, 0, 0]);
    assert_eq!(field("discount"), [9, 46, 45]);
    assert_eq!(field("total"), [1785, 6153, 6154]);
    assert_eq!(
        field("total").iter().sum::<i64>(),
        o["total"].as_i64().unwrap()
    );
    assert_eq!(field("amount_paid"), [1785, 6153, 6154], "paid in full");
    assert_eq!(field("amount_due"), [0, 0, 0]);
    // Gap-free: three numbers in a row, the order naming the first.
    let mut seq: Vec<u64> = invoices
        .iter()
        .map(|i| i["number"].as_str().unwrap()[9..].parse().unwrap())
        .collect();
    seq.sort();
    assert_eq!(seq[2] - seq[0], 2, "{seq:?}");
    let first_issued = format!(
        "INV-{}-{:06}",
        &invoices[0]["number"].as_str().unwrap()[4..8],
        seq[0]
    );
    assert_eq!(
        o["invoice_number"],
        first_issued.as_str(),
        "the order names its first invoice"
    );
    assert_eq!(o["payment_status"], "paid");
    // The report's lead time per parcel counts the three parcels; the
    // last is the order's own shipment.
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    let (order, parcels) = (
        &report["order_lead_time_seconds"],
        &report["order_lead_time_by_parcel"],
    );
    assert_eq!(parcels["max"], order["max"], "{report}");
    assert!(parcels["p50"].as_f64().unwrap() <= order["p50"].as_f64().unwrap());
    let ids = o["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    (id, ids)
}

async fn wait_for(mails: impl Fn() -> Vec<String>, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let found = mails();
        if found.len() >= n || started.elapsed() > Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return mails();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_order_ships_in_parcels_each_invoiced_embedded() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    let (_, shipments) = parcels_are_shipped_and_invoiced(&h, &wh).await;
    let notices = wait_for(|| h.outbox_files("shipment-"), 3).await;
    assert_eq!(notices.len(), 3, "one notice per parcel");
    for (n, id) in shipments.iter().enumerate() {
        let mail = h.outbox_files(&format!("shipment-{id}"));
        assert_eq!(mail.len(), 1, "shipment-{id}.eml");
        let text = &mail[0];
        assert!(
            text.contains(&format!("P-{}", n + 1)),
            "its tracking number"
        );
        if n < 2 {
            assert!(
                text.contains(&format!("Dies ist Paket {}", n + 1)),
                "{text}"
            );
        }
    }
    let invoices = wait_for(|| h.outbox_files("INV-"), 3).await;
    assert_eq!(invoices.len(), 3, "an invoice email per parcel");
    if let Ok(keep) = std::env::var("OMS_KEEP_MAIL") {
        // For looking at them: OMS_KEEP_MAIL=/some/dir.
        for entry in std::fs::read_dir(&h.running.outbox).unwrap().flatten() {
            let to = std::path::Path::new(&keep).join(entry.file_name());
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

#[tokio::test]
async fn an_order_ships_in_parcels_each_invoiced_on_aws() {
    let wh = FakeWarehouse::start(0).await;
    let (h, env) = Harness::aws_with_warehouse(&wh).await;
    let (id, _) = parcels_are_shipped_and_invoiced(&h, &wh).await;
    let moto = env.moto.clone();
    let started = Instant::now();
    let notices = loop {
        let found: Vec<String> = aws::sent_emails(&moto)
            .await
            .into_iter()
            .filter(|m| m.contains(&format!("Subject: Ihre Bestellung {id} ist unterwegs")))
            .collect();
        if found.len() >= 3 || started.elapsed() > Duration::from_secs(20) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(notices.len(), 3, "one notice per parcel through SES");
}
