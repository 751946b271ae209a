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

/// Stripe's refunds and disputes name the payment intent, not the order:
/// they find it through the payment that was booked, each refund counts
/// once (also when `charge.refunded` reports it too), a failed refund is
/// reversed once, a dispute takes the money back and gives it back once.
async fn refunds_and_disputes(h: &Harness) {
    let (order, total) = order_of(h, 3000).await;
    let pi = format!("pi_{}", ulid::Ulid::new());
    let send = |body: Vec<u8>| async move {
        let a = h.admin.stripe_event(&body).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["duplicate"].as_bool().unwrap()
    };
    let paid = event(
        &format!("evt_pay_{pi}"),
        "payment_intent.succeeded",
        json!({"id": pi, "amount_received": total, "currency": "eur", "metadata": {"order_id": order}}),
    );
    send(paid).await;
    h.wait(&order, |o| o["payment_status"] == "paid").await;

    let refund = |evt: &str, id: &str, amount: i64, status: &str| {
        event(
            &format!("{evt}_{pi}"),
            "refund.updated",
            json!({"id": id, "object": "refund", "amount": amount, "currency": "eur",
                   "status": status, "charge": "ch_r", "payment_intent": pi}),
        )
    };
    let state = |o: &Value| {
        (
            o["amount_paid"].as_i64().unwrap(),
            o["amount_refunded"].as_i64().unwrap(),
            o["disputed"].as_bool().unwrap(),
        )
    };
    // Pending: nothing yet. Then succeeded, told three times (twice by
    // other event ids, once the same event again).
    send(refund("evt_r1", "re_1", 500, "pending")).await;
    assert!(!send(refund("evt_r2", "re_1", 500, "succeeded")).await);
    assert!(!send(refund("evt_r3", "re_1", 500, "succeeded")).await);
    assert!(send(refund("evt_r2", "re_1", 500, "succeeded")).await);
    // A refund that failed before its success was heard of never counts.
    send(refund("evt_r4", "re_2", 700, "failed")).await;
    send(refund("evt_r5", "re_2", 700, "succeeded")).await;
    // charge.refunded reports re_1 again, cumulatively.
    send(event(
        &format!("evt_ch_{pi}"),
        "charge.refunded",
        json!({"id": "ch_r", "amount_refunded": 500, "currency": "eur", "payment_intent": pi}),
    ))
    .await;
    h.wait(&order, |o| o["amount_refunded"] == 500).await;
    // Let every event sent so far be booked before judging the sum.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let o = h.order(&order).await;
    assert_eq!(state(&o), (total - 500, 500, false), "{o:#}");

    // re_1 fails after all: reversed, once.
    send(refund("evt_r6", "re_1", 500, "failed")).await;
    send(refund("evt_r7", "re_1", 500, "canceled")).await;
    let o = h.wait(&order, |o| o["amount_refunded"] == 0).await;
    assert_eq!(state(&o), (total, 0, false));

    // A dispute takes the money back (told twice), then gives it back.
    let dispute = |evt: &str, kind: &str| {
        event(
            &format!("{evt}_{pi}"),
            kind,
            json!({"id": "dp_1", "amount": total, "currency": "eur", "charge": "ch_r", "payment_intent": pi}),
        )
    };
    send(dispute("evt_d1", "charge.dispute.funds_withdrawn")).await;
    send(dispute("evt_d2", "charge.dispute.funds_withdrawn")).await;
    h.wait(&order, |o| o["disputed"] == true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let o = h.order(&order).await;
    assert_eq!(state(&o), (0, 0, true));
    assert_eq!(o["payment_status"], "unpaid", "owed again");
    send(dispute("evt_d3", "charge.dispute.funds_reinstated")).await;
    let o = h.wait(&order, |o| o["disputed"] == false).await;
    assert_eq!(state(&o), (total, 0, false));
    assert_eq!(o["payment_status"], "paid");
    let steps: Vec<&str> = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["event"].as_str())
        .collect();
    for step in [
        "refunded",
        "refund_reversed",
        "dispute_funds_withdrawn",
        "dispute_funds_reinstated",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
}

#[tokio::test]
async fn refunds_and_disputes_are_booked_once_by_their_payment() {
    let h = Harness::simulated(Duration::from_secs(3600)).await;
    refunds_and_disputes(&h).await;
}

#[tokio::test]
async fn refunds_and_disputes_are_booked_once_by_their_payment_on_aws() {
    let (h, _env) = Harness::aws(Duration::from_secs(3600)).await;
    refunds_and_disputes(&h).await;
}
