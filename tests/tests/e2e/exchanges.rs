//! Exchanges on both backends: a return with replacement goods books the
//! return (stock back, credit note) and captures, reserves, hands off and
//! invoices a replacement order paid by the credit. Even exchange: nothing
//! to pay; dearer: the difference is due on the replacement; cheaper: the
//! rest of the credit stays on the original order (overpaid, refund due).
//! An unknown replacement SKU books nothing; a repeated return changes
//! nothing; a replacement cancelled before it ships gives the credit back
//! to the original.

use oms_tests::*;
use serde_json::{json, Value};

async fn post(h: &Harness, path: &str, body: Value) -> (u16, Value) {
    let a = h.warehouse.post(path, &body).await.unwrap();
    (a.status, a.body)
}

/// A paid order of `qty` shirts at 20.00 (4.95 shipping, 1.00 off),
/// shipped; returns its id and fulfillment id.
async fn shipped(h: &Harness, key: &str, qty: i64) -> (String, String) {
    let id = h.place(key, &[("SHIRT-M", qty, 2000)]).await;
    let total = qty * 2000 + 495 - 100;
    let pay = h
        .admin
        .pay(&format!("evt_{key}"), &id, total, "eur")
        .await
        .unwrap();
    assert_eq!(pay.status, 200, "{}", pay.body);
    let o = h.wait_status(&id, "handed_off").await;
    let ful = o["fulfillments"][0]["id"].as_str().unwrap().to_string();
    let (status, o) = post(
        h,
        &format!("/v1/fulfillments/{ful}/shipments"),
        json!({"carrier": "DHL", "tracking_number": format!("T-{key}")}),
    )
    .await;
    assert_eq!(status, 200, "{o}");
    (id, ful)
}

/// Ships the replacement as the warehouse would, and returns its invoice.
async fn ship_replacement(h: &Harness, id: &str) -> Value {
    let o = h.wait_status(id, "handed_off").await;
    let ful = o["fulfillments"][0]["id"].as_str().unwrap().to_string();
    let (status, o) = post(
        h,
        &format!("/v1/fulfillments/{ful}/shipments"),
        json!({"carrier": "GLS", "tracking_number": format!("X-{}", &id[4..])}),
    )
    .await;
    assert_eq!(status, 200, "{o}");
    let o = h.wait(id, |o| o["invoice_number"].is_string()).await;
    h.invoice(o["invoice_number"].as_str().unwrap()).await
}

async fn credit_note_of(h: &Harness, id: &str) -> Value {
    let o = h
        .wait(id, |o| o["returns"][0]["credit_note"].is_string())
        .await;
    h.invoice(o["returns"][0]["credit_note"].as_str().unwrap())
        .await
}

async fn exchanges_settle_the_difference(h: &Harness) {
    for (sku, rate) in [
        ("SHIRT-M", "19"),
        ("SHIRT-L", "19"),
        ("COAT", "19"),
        ("SCARF", "7"),
    ] {
        h.stock(sku, rate, 10).await;
    }
    let (even, even_ful) = shipped(h, "ex-even", 2).await;
    let (dearer, dearer_ful) = shipped(h, "ex-dearer", 1).await;
    let (cheaper, cheaper_ful) = shipped(h, "ex-cheaper", 1).await;

    // An unknown replacement SKU: 422 naming it, nothing booked.
    let (status, body) = post(
        h,
        &format!("/v1/fulfillments/{even_ful}/returns"),
        json!({"return_id": "RMA-0", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
               "exchange": [{"sku": "HAT", "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "exchange[0].sku");
    let o = h.order(&even).await;
    assert_eq!(o["returns"], json!([]), "no return, no credit note");
    assert_eq!(h.sku("SHIRT-M").await["on_hand"], 6, "stock unchanged");

    // Even: one shirt in M for one in L. Credited 20.00 less its half of
    // the discount (0.50): the replacement costs exactly 19.50, paid by it.
    let even_return = json!({"return_id": "RMA-1", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
                             "exchange": [{"sku": "SHIRT-L", "quantity": 1}]});
    let (status, answer) = post(
        h,
        &format!("/v1/fulfillments/{even_ful}/returns"),
        even_return.clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let replacement = answer["replacement_order_id"].as_str().unwrap().to_string();
    assert_eq!(answer["id"], even.as_str());
    assert_eq!(answer["amount_credited"], 1950);
    assert_eq!(
        answer["payment_status"], "paid",
        "the credit went to the replacement"
    );
    assert_eq!(
        h.sku("SHIRT-M").await["on_hand"],
        7,
        "back in stock at once"
    );
    let r = h.order(&replacement).await;
    assert_eq!(r["exchange_for"], even.as_str());
    assert_eq!(r["payment_method"], "exchange");
    assert_eq!(r["shipping_price"], 0);
    assert_eq!(r["lines"][0]["sku"], "SHIRT-L");
    assert_eq!(
        (
            r["total"].clone(),
            r["amount_paid"].clone(),
            r["amount_due"].clone()
        ),
        (json!(1950), json!(1950), json!(0))
    );
    assert_eq!(r["customer"], h.order(&even).await["customer"]);
    // The same report again: the same replacement, nothing new.
    let (status, again) = post(
        h,
        &format!("/v1/fulfillments/{even_ful}/returns"),
        even_return,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["replacement_order_id"], replacement.as_str());
    let (status, _) = post(
        h,
        &format!("/v1/fulfillments/{even_ful}/returns"),
        json!({"return_id": "RMA-1", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
               "exchange": [{"sku": "COAT", "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, 409, "the same return id with another exchange");
    assert_eq!(h.sku("SHIRT-M").await["on_hand"], 7, "restocked once");
    let note = credit_note_of(h, &even).await;
    assert_eq!(note["total"], 1950);
    assert_eq!(
        note["kind"]["exchange"],
        json!({"replacement_order_id": replacement, "amount": 1950}),
        "the credit note says what of it pays the replacement"
    );
    // The replacement is reserved, handed off, shipped and invoiced, paid.
    let invoice = ship_replacement(h, &replacement).await;
    assert_eq!(
        (
            invoice["total"].clone(),
            invoice["amount_paid"].clone(),
            invoice["amount_due"].clone()
        ),
        (json!(1950), json!(1950), json!(0))
    );
    assert_eq!(invoice["shipping"], 0);
    assert_eq!(h.sku("SHIRT-L").await["on_hand"], 9);

    // Dearer: the shirt (credited 19.00) for a coat at 50.00: 31.00 due.
    let (status, answer) = post(
        h,
        &format!("/v1/fulfillments/{dearer_ful}/returns"),
        json!({"return_id": "RMA-2", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
               "exchange": [{"sku": "COAT", "quantity": 1, "unit_price": 5000}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["payment_status"], "paid");
    let r = answer["replacement_order_id"].as_str().unwrap().to_string();
    let o = h.order(&r).await;
    assert_eq!(
        (
            o["total"].clone(),
            o["amount_paid"].clone(),
            o["amount_due"].clone()
        ),
        (json!(5000), json!(1900), json!(3100))
    );
    assert_eq!(o["payment_status"], "partially_paid");
    let invoice = ship_replacement(h, &r).await;
    assert_eq!(
        (
            invoice["amount_paid"].clone(),
            invoice["amount_due"].clone()
        ),
        (json!(1900), json!(3100)),
        "the customer pays the difference"
    );
    assert!(
        invoice["payment_reference"].is_string(),
        "to pay it by transfer"
    );

    // Cheaper: the shirt (credited 19.00) for a scarf at 5.00: 14.00 back.
    let (status, answer) = post(
        h,
        &format!("/v1/fulfillments/{cheaper_ful}/returns"),
        json!({"return_id": "RMA-3", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
               "exchange": [{"sku": "SCARF", "quantity": 1, "unit_price": 500}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["payment_status"], "overpaid",
        "a refund of 14.00 is due"
    );
    assert_eq!(answer["amount_paid"], 2395 - 500);
    assert_eq!(
        answer["amount_paid"].as_i64().unwrap() - (2395 - 1900),
        1400
    );
    let r = answer["replacement_order_id"].as_str().unwrap().to_string();
    let o = h.order(&r).await;
    assert_eq!(
        (
            o["total"].clone(),
            o["amount_due"].clone(),
            o["payment_status"].clone()
        ),
        (json!(500), json!(0), json!("paid"))
    );
    let invoice = ship_replacement(h, &r).await;
    assert_eq!(invoice["amount_due"], 0);
    assert_eq!(invoice["lines"][0]["tax_rate"], "7");
    let _ = (dearer, cheaper);

    // The day's figures: only the dearer exchange's difference is open; the
    // credit moved between orders nets to nothing in the payments.
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["open_receivables"]["EUR"], 3100, "{report}");
    assert_eq!(
        report["payments_received"]["EUR"],
        4395 + 2395 + 2395,
        "{report}"
    );

    // A replacement cancelled before it ships gives the credit back: the
    // original owes the customer all of it (19.00), the replacement only
    // what the customer paid on top (31.00), each as a refund due.
    let (original, ful) = shipped(h, "ex-cancel", 1).await;
    let (status, answer) = post(
        h,
        &format!("/v1/fulfillments/{ful}/returns"),
        json!({"return_id": "RMA-4", "lines": [{"sku": "SHIRT-M", "quantity": 1}],
               "exchange": [{"sku": "COAT", "quantity": 1, "unit_price": 5000}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let r = answer["replacement_order_id"].as_str().unwrap().to_string();
    let pay = h
        .admin
        .pay("evt_ex_cancel_r", &r, 3100, "eur")
        .await
        .unwrap();
    assert_eq!(pay.status, 200, "{}", pay.body);
    h.wait(&r, |o| o["payment_status"] == "paid").await;
    h.wait_status(&r, "handed_off").await;
    let cancelled = h
        .storefront
        .post(&format!("/v1/orders/{r}/cancel"), &json!({}))
        .await
        .unwrap();
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(
        cancelled.body["amount_paid"], 3100,
        "the credit left the cancelled replacement: {}",
        cancelled.body
    );
    let o = h.wait(&original, |o| o["amount_paid"] == json!(2395)).await;
    assert_eq!(
        (o["total"].clone(), o["payment_status"].clone()),
        (json!(2395), json!("overpaid")),
        "the original owes the whole credit of 19.00 back: {o}"
    );
    assert_eq!(o["amount_credited"], 1900);
    let said = |o: &Value| {
        o["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "credit_returned")
    };
    assert!(said(&o) && said(&cancelled.body), "both timelines say so");
    assert_eq!(h.sku("COAT").await["reserved"], 0, "released");
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(
        report["payments_received"]["EUR"],
        4395 + 2395 + 2395 + 2395 + 3100,
        "the credit moved there and back nets to nothing: {report}"
    );

    // Only a return creates an exchange order.
    let mut body = order_body(9, &[("SHIRT-M", 1, 2000)]);
    body["payment_method"] = json!("exchange");
    let refused = h.storefront.create_order("ex-direct", &body).await.unwrap();
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["error"]["field"], "payment_method");
}

#[tokio::test]
async fn exchanges_settle_the_difference_embedded() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    exchanges_settle_the_difference(&h).await;
    // The cancelled replacement's email says the return's credit comes back.
    let started = std::time::Instant::now();
    let told = loop {
        let told = h
            .outbox_files("cancellation-")
            .iter()
            .filter_map(|m| {
                let parsed = mail_parser::MessageParser::default().parse(m.as_bytes())?;
                Some(parsed.body_text(0)?.to_string())
            })
            .filter(|text| text.contains("Die Gutschrift aus Ihrer Rücksendung"))
            .count();
        if told > 0 || started.elapsed() > std::time::Duration::from_secs(10) {
            break told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(told, 1, "one cancellation email of the replacement says so");
}

#[tokio::test]
async fn exchanges_settle_the_difference_on_aws() {
    let wh = FakeWarehouse::start(0).await;
    let (h, _env) = Harness::aws_with_warehouse(&wh).await;
    exchanges_settle_the_difference(&h).await;
}
