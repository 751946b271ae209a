//! Short picks on both backends: units the warehouse cannot ship are cut
//! from the order (total less their price and discount share), taken out
//! of `on_hand` and `reserved`, the customer is told; a paid order shows
//! `overpaid`; the invoice covers what ships; cutting everything cancels.

use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn short(h: &Harness, ful: &str, lines: Value) -> (u16, Value) {
    let a = h
        .warehouse
        .post(
            &format!("/v1/fulfillments/{ful}/short"),
            &json!({"lines": lines, "reason": "damaged"}),
        )
        .await
        .unwrap();
    (a.status, a.body)
}

fn ful(o: &Value) -> String {
    o["fulfillments"][0]["id"].as_str().unwrap().to_string()
}

async fn the_warehouse_cuts_what_it_cannot_ship(h: &Harness, wh: &FakeWarehouse) {
    h.stock("MUG", "19", 10).await;
    h.stock("LAMP", "19", 10).await;
    // Unpaid (invoice): 3 × 12.99 + 4.95 shipping − 1.00 discount = 42.92.
    let mut body = order_body(1, &[("MUG", 3, 1299)]);
    body["payment_method"] = json!("invoice");
    let unpaid = h
        .storefront
        .create_order("short-1", &body)
        .await
        .unwrap()
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Paid by card: 2 × 49.00 + 4.95 − 1.00 = 101.95, paid in full.
    let paid = h.place("short-2", &[("LAMP", 2, 4900)]).await;
    let pay = h
        .admin
        .pay("evt_short_2", &paid, 10195, "eur")
        .await
        .unwrap();
    assert_eq!(pay.status, 200);
    // Another to cut completely.
    let whole = h.place("short-3", &[("MUG", 1, 1299)]).await;
    wh.wait_for_handoffs(3).await;
    for id in [&unpaid, &paid, &whole] {
        h.wait_status(id, "handed_off").await;
    }
    let o = h.order(&unpaid).await;
    let f = ful(&o);

    // More than held, or a SKU the order lacks: 422 naming the line.
    let (status, body) = short(h, &f, json!([{"sku": "MUG", "quantity": 4}])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "lines[0].quantity");
    let (status, body) = short(h, &f, json!([{"sku": "LAMP", "quantity": 1}])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "lines[0].sku");
    assert_eq!(h.order(&unpaid).await["total"], 4292, "nothing changed");

    // One MUG damaged: 12.99 less its third of the discount (0.33).
    let (status, o) = short(h, &f, json!([{"sku": "MUG", "quantity": 1}])).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["lines"][0]["quantity"], 2);
    assert_eq!(o["total"], 4292 - 1299 + 33);
    assert_eq!(o["status"], "handed_off");
    assert_eq!(o["payment_status"], "unpaid");
    // It is not there: out of on_hand and reserved (3 + 1 held, 1 gone).
    let mug = h.sku("MUG").await;
    assert_eq!(
        (mug["on_hand"].clone(), mug["reserved"].clone()),
        (json!(9), json!(3))
    );

    // The paid order: one lamp short, the customer is owed a refund. The
    // warehouse sends it under an Idempotency-Key and, as if the answer were
    // lost, again: the second cuts nothing more.
    let p = h.order(&paid).await;
    let lamp = json!({"lines": [{"sku": "LAMP", "quantity": 1}], "reason": "damaged"});
    let path = format!("/v1/fulfillments/{}/short", ful(&p));
    let first = h
        .warehouse
        .post_idempotent(&path, "short-lamp-1", &lamp)
        .await
        .unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    let again = h
        .warehouse
        .post_idempotent(&path, "short-lamp-1", &lamp)
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["total"], first.body["total"], "cut once");
    assert_eq!(again.body["lines"], first.body["lines"]);
    assert_eq!(
        again.body["short_picks"],
        json!([{"lines": [{"sku": "LAMP", "quantity": 1}], "reason": "damaged",
                "at": first.body["short_picks"][0]["at"], "amount": 4850, "key": "short-lamp-1"}])
    );
    // The key with another report: refused, nothing cut.
    let other = json!({"lines": [{"sku": "LAMP", "quantity": 1}], "reason": "lost"});
    let refused = h
        .warehouse
        .post_idempotent(&path, "short-lamp-1", &other)
        .await
        .unwrap();
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "idempotency_conflict");
    let bad = h
        .warehouse
        .post_idempotent(&path, "two words", &lamp)
        .await
        .unwrap();
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["error"]["field"], "Idempotency-Key");
    let stock = h.sku("LAMP").await;
    assert_eq!(
        (stock["on_hand"].clone(), stock["reserved"].clone()),
        (json!(9), json!(1)),
        "one lamp out of stock, not two"
    );
    let p = h.order(&paid).await;
    assert_eq!(p["total"], 10195 - 4900 + 50);
    assert_eq!(p["payment_status"], "overpaid");
    assert_eq!(p["amount_due"], 0, "a refund of 48.50 is due");
    assert_eq!(p["amount_paid"], 10195);

    // Everything short: the order is cancelled and owes nothing.
    let w = h.order(&whole).await;
    let (status, w) = short(h, &ful(&w), json!([{"sku": "MUG", "quantity": 1}])).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        (w["status"].clone(), w["total"].clone()),
        (json!("cancelled"), json!(0))
    );
    let mug = h.sku("MUG").await;
    assert_eq!(
        (mug["on_hand"].clone(), mug["reserved"].clone()),
        (json!(8), json!(2))
    );

    // The rest ships; the invoice covers exactly it; stock leaves on_hand.
    let shipped = h
        .warehouse
        .post(
            &format!("/v1/fulfillments/{f}/shipments"),
            &json!({"carrier": "DHL", "tracking_number": "00340434"}),
        )
        .await
        .unwrap();
    assert_eq!(shipped.status, 200, "{}", shipped.body);
    let o = h.wait(&unpaid, |o| o["invoice_number"].is_string()).await;
    let number = o["invoice_number"].as_str().unwrap();
    let inv = h
        .storefront
        .get(&format!("/v1/invoices/{number}"))
        .await
        .unwrap();
    assert_eq!(inv.body["total"], o["total"]);
    assert_eq!(inv.body["lines"][0]["quantity"], 2);
    let mug = h.sku("MUG").await;
    assert_eq!(
        (mug["on_hand"].clone(), mug["reserved"].clone()),
        (json!(6), json!(0))
    );
    // Shipped: nothing more can be short.
    let (status, _) = short(h, &f, json!([{"sku": "MUG", "quantity": 1}])).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_warehouse_cuts_what_it_cannot_ship_embedded() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    the_warehouse_cuts_what_it_cannot_ship(&h, &wh).await;
    // The customer is told once per short pick, in German.
    let started = std::time::Instant::now();
    while h.outbox_files("short-").len() < 3 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shorts = h.outbox_files("short-");
    assert_eq!(shorts.len(), 3, "{shorts:?}");
    let all: String = shorts.concat();
    assert!(all.contains("nicht alles lieferbar"));
}

#[tokio::test]
async fn the_warehouse_cuts_what_it_cannot_ship_on_aws() {
    let wh = FakeWarehouse::start(0).await;
    let (h, _env) = Harness::aws_with_warehouse(&wh).await;
    the_warehouse_cuts_what_it_cannot_ship(&h, &wh).await;
}
