//! Stripe webhooks: signature checks, dedupe, and reconciliation outcomes.

use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"id": id, "object": "event", "type": kind, "data": {"object": object}}),
    )
    .unwrap()
}

async fn send(h: &Harness, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut r = h
        .http
        .post(h.url("/v1/payments/stripe/events"))
        .body(body.to_vec());
    if let Some(s) = signature {
        r = r.header("stripe-signature", s);
    }
    let resp = r.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn order_of(h: &Harness, total_price: i64) -> (String, i64) {
    h.stock("MUG", "19", 100).await;
    let key = format!("pay-{}", jiff::Timestamp::now().as_nanosecond());
    let a = h
        .storefront
        .create_order(&key, &order_body(1, &[("MUG", 1, total_price)]))
        .await
        .unwrap();
    (
        a.body["id"].as_str().unwrap().to_string(),
        a.body["total"].as_i64().unwrap(),
    )
}

fn succeeded(id: &str, order: &str, amount: i64, currency: &str) -> Vec<u8> {
    event(
        id,
        "payment_intent.succeeded",
        json!({"id": "pi_1", "amount_received": amount, "currency": currency, "metadata": {"order_id": order}}),
    )
}

#[tokio::test]
async fn bad_signatures_are_refused_and_store_nothing() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let (order, total) = order_of(&h, 1000).await;
    let body = succeeded("evt_sig", &order, total, "eur");
    let now = jiff::Timestamp::now().as_second();
    let secret = STRIPE_SECRET.as_bytes();
    let sign = |t: i64, b: &[u8], s: &[u8]| oms_domain::signature::sign(s, t, b);

    let mut tampered = body.clone();
    let pos = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[pos] = b'9';
    for (name, b, sig) in [
        (
            "tampered body",
            tampered.clone(),
            Some(sign(now, &body, secret)),
        ),
        (
            "stale timestamp",
            body.clone(),
            Some(sign(now - 301, &body, secret)),
        ),
        (
            "future timestamp",
            body.clone(),
            Some(sign(now + 301, &body, secret)),
        ),
        (
            "wrong secret",
            body.clone(),
            Some(sign(now, &body, b"whsec_other")),
        ),
        ("no signature", body.clone(), None),
        (
            "garbage signature",
            body.clone(),
            Some("t=abc,v1=zz".into()),
        ),
    ] {
        let (status, answer) = send(&h, &b, sig).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("invalid_signature")),
            "{name}"
        );
    }
    // Nothing was stored: the same event id is new when it comes signed properly.
    let (status, answer) = send(&h, &body, Some(sign(now, &body, secret))).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)));
    h.wait(&order, |o| o["payment_status"] == "paid").await;
}

#[tokio::test]
async fn a_repeated_event_has_no_effect() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let (order, total) = order_of(&h, 1000).await;
    let half = total / 2;
    let first = h.admin.pay("evt_dup", &order, half, "eur").await.unwrap();
    assert_eq!(first.body["duplicate"], false);
    for _ in 0..3 {
        let again = h.admin.pay("evt_dup", &order, half, "eur").await.unwrap();
        assert_eq!(
            (again.status, again.body["duplicate"].as_bool()),
            (200, Some(true))
        );
    }
    let o = h
        .wait(&order, |o| o["payment_status"] == "partially_paid")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o2 = h.order(&order).await;
    assert_eq!(
        (o["amount_paid"].as_i64(), o2["amount_paid"].as_i64()),
        (Some(half), Some(half))
    );
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["payments_received"]["EUR"], half);
}

#[tokio::test]
async fn partial_over_wrong_currency_refund_and_unknown_order() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let (order, total) = order_of(&h, 2000).await;
    h.admin.pay("evt_p1", &order, 500, "eur").await.unwrap();
    let o = h
        .wait(&order, |o| o["payment_status"] == "partially_paid")
        .await;
    assert_eq!(
        (o["amount_paid"].as_i64(), o["amount_due"].as_i64()),
        (Some(500), Some(total - 500))
    );

    // Wrong currency: not booked, flagged.
    h.admin.pay("evt_usd", &order, total, "usd").await.unwrap();
    // Overpaid: booked, flagged.
    h.admin.pay("evt_p2", &order, total, "eur").await.unwrap();
    let o = h.wait(&order, |o| o["payment_status"] == "overpaid").await;
    assert_eq!(o["amount_paid"], total + 500);
    assert_eq!(o["amount_due"], 0);

    // A refund of the extra brings it back to paid; Stripe's figure is cumulative.
    let refund = |id: &str, cumulative: i64| {
        event(
            id,
            "charge.refunded",
            json!({"id": "ch_1", "amount_refunded": cumulative, "currency": "eur", "metadata": {"order_id": order}}),
        )
    };
    assert_eq!(
        h.admin
            .stripe_event(&refund("evt_r1", 500))
            .await
            .unwrap()
            .status,
        200
    );
    h.wait(&order, |o| o["payment_status"] == "paid").await;
    assert_eq!(
        h.admin
            .stripe_event(&refund("evt_r2", total + 500))
            .await
            .unwrap()
            .status,
        200
    );
    let o = h.wait(&order, |o| o["payment_status"] == "refunded").await;
    assert_eq!(o["amount_paid"], 0);

    // Money for an order we do not know.
    h.admin
        .pay("evt_ghost", "ord_ghost", 100, "eur")
        .await
        .unwrap();
    // An event type we do not book is acknowledged and ignored.
    let other = event("evt_other", "customer.created", json!({"id": "cus_1"}));
    assert_eq!(h.admin.stripe_event(&other).await.unwrap().status, 200);

    // Wait until every stored event is booked, then count.
    let conn = rusqlite::Connection::open(h.dir.path().join("oms.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let started = std::time::Instant::now();
    loop {
        let open: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM payment_events WHERE booked_ms IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{open} events not booked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    // wrong currency, overpaid, unknown order
    let mut stmt = conn
        .prepare("SELECT event_id, kind FROM mismatches ORDER BY id")
        .unwrap();
    let kinds: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(report["payment_mismatches"], 3, "{kinds:?}");
    assert_eq!(
        report["payments_received"]["EUR"], 0,
        "500 + total − (total + 500)"
    );
    assert!(h
        .running
        .store
        .as_ref()
        .unwrap()
        .dead_letters()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn malformed_events_are_400_and_stored_nowhere() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let body = event(
        "evt_bad",
        "payment_intent.succeeded",
        json!({"amount_received": -5, "currency": "eur"}),
    );
    let (status, answer) = send(
        &h,
        &body,
        Some(oms_domain::signature::sign(
            STRIPE_SECRET.as_bytes(),
            jiff::Timestamp::now().as_second(),
            &body,
        )),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("data.object.amount_received"))
    );
}
