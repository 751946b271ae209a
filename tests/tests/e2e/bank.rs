//! Bank statements end to end, on both backends: real-shaped camt.053.001.02
//! and camt.054.001.08 files (tests/fixtures/camt) filled with this test's
//! orders, imported over HTTP; matching by structured reference, by a
//! reference split over `Ustrd` lines, by invoice number and by order id;
//! a batch entry; an unmatched credit with a suggestion, assigned by
//! finance; pending and fee entries ignored; a returned transfer reversed;
//! a prepayment released to the warehouse; the same file twice; bad files.

use oms_domain::payment_reference::{for_order, printed};
use oms_domain::OrderId;
use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

const CAMT053: &str = include_str!("../../fixtures/camt/camt053_v02.xml");
const CAMT054: &str = include_str!("../../fixtures/camt/camt054_v08.xml");

fn euros(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

async fn post_statement(h: &Harness, key: &str, xml: &str) -> (u16, Value) {
    let resp = h
        .http
        .post(h.url("/v1/bank-statements"))
        .bearer_auth(key)
        .header("content-type", "application/xml")
        .body(xml.to_string())
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

struct Placed {
    id: String,
    total: i64,
}

async fn place(h: &Harness, n: usize, method: &str, unit_price: i64) -> Placed {
    let mut body = order_body(n, &[("MUG", 1, unit_price)]);
    body["payment_method"] = json!(method);
    let key = format!("bank-{n}-{}", jiff::Timestamp::now().as_nanosecond());
    let a = h.storefront.create_order(&key, &body).await.unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    Placed {
        id: a.body["id"].as_str().unwrap().to_string(),
        total: a.body["total"].as_i64().unwrap(),
    }
}

fn paid(o: &Value) -> bool {
    o["amount_due"] == 0 && o["payment_status"] == "paid"
}

fn timeline_has(o: &Value, event: &str) -> bool {
    o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == event)
}

async fn statements_are_matched_booked_and_never_twice(h: &Harness) {
    h.stock("MUG", "19", 1000).await;
    // Prepayment orders wait for their money; invoice orders ship at once.
    let a = place(h, 1, "bank_transfer", 1001).await;
    let b = place(h, 2, "bank_transfer", 1002).await;
    let f = place(h, 6, "bank_transfer", 1006).await;
    let g = place(h, 7, "bank_transfer", 1007).await;
    let c = place(h, 3, "invoice", 1003).await;
    let d = place(h, 4, "invoice", 1004).await;
    let e = place(h, 5, "invoice", 1005).await;
    for p in [&a, &b, &f, &g] {
        let o = h.wait_status(&p.id, "awaiting_payment").await;
        assert_eq!(o["payment_reference"], for_order(&OrderId(p.id.clone())));
        assert!(o["due_date"].is_null());
    }
    let mut invoice_c = String::new();
    for p in [&c, &d, &e] {
        let o = h
            .wait(&p.id, |o| {
                o["status"] == "shipped" && o["invoice_number"].is_string()
            })
            .await;
        assert!(o["due_date"].is_string(), "invoice orders have terms: {o}");
        if p.id == c.id {
            invoice_c = o["invoice_number"].as_str().unwrap().to_string();
        }
    }
    // The invoice states its due date and the reference to quote.
    let inv = h
        .admin
        .get(&format!("/v1/invoices/{invoice_c}"))
        .await
        .unwrap();
    assert!(inv.body["due_date"].is_string(), "{}", inv.body);
    assert_eq!(
        inv.body["payment_reference"],
        for_order(&OrderId(c.id.clone()))
    );

    let run = format!("T{}", jiff::Timestamp::now().as_millisecond());
    let rf_b = printed(&for_order(&OrderId(b.id.clone())));
    let (b1, b2) = rf_b.split_at(14);
    let fill = |xml: &str| {
        xml.replace("{{RUN}}", &run)
            .replace("{{AMOUNT_A}}", &euros(a.total))
            .replace("{{RF_A}}", &for_order(&OrderId(a.id.clone())))
            .replace("{{AMOUNT_B}}", &euros(b.total))
            .replace("{{USTRD_B1}}", &format!("Zahlung zu {b1}"))
            .replace("{{USTRD_B2}}", &format!("{b2} Danke"))
            .replace("{{AMOUNT_C}}", &euros(c.total))
            .replace("{{INVOICE_C}}", &invoice_c)
            .replace("{{INVOICE_C_PLAIN}}", &invoice_c.replace('-', ""))
            .replace("{{AMOUNT_DE}}", &euros(d.total + e.total))
            .replace("{{AMOUNT_D}}", &euros(d.total))
            .replace("{{RF_D}}", &for_order(&OrderId(d.id.clone())))
            .replace("{{AMOUNT_E}}", &euros(e.total))
            .replace("{{ORDER_E_NO_UNDERSCORE}}", &e.id.replace('_', ""))
            .replace("{{AMOUNT_F}}", &euros(f.total))
            .replace("{{RF_F}}", &for_order(&OrderId(f.id.clone())))
            .replace("{{AMOUNT_G}}", &euros(g.total))
            .replace("{{RF_G}}", &for_order(&OrderId(g.id.clone())))
    };
    let day = fill(CAMT053);

    // Only finance (or admin) keys import.
    let (status, _) = post_statement(h, STOREFRONT_KEY, &day).await;
    assert_eq!(status, 403);
    // Bad files book nothing and say why.
    let (status, body) = post_statement(h, FINANCE_KEY, &day[..day.len() / 2]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not well-formed XML"),
        "{body}"
    );
    let pain = day.replace("camt.053.001.02", "pain.001.001.03");
    let (status, body) = post_statement(h, FINANCE_KEY, &pain).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a camt.053 or camt.054"),
        "{body}"
    );
    let no_amount = day.replacen(&format!("<Amt Ccy=\"EUR\">{}</Amt>", euros(a.total)), "", 1);
    let (status, body) = post_statement(h, FINANCE_KEY, &no_amount).await;
    assert_eq!(status, 400, "{body}");
    assert!(h.order(&a.id).await["amount_paid"] == 0);

    let (status, summary) = post_statement(h, FINANCE_KEY, &day).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary,
        json!({"statement_id": format!("{run}-053-0001"), "entries": 8, "booked": 5,
               "unmatched": 1, "ignored": 2, "duplicates": 0})
    );
    // Structured reference, split reference, invoice number, batch by
    // reference and by order id: each paid in full, booked once.
    for p in [&a, &b, &c, &d, &e] {
        let o = h.wait(&p.id, paid).await;
        assert_eq!(o["amount_paid"], p.total, "{o}");
        assert!(timeline_has(&o, "bank_transfer_received"), "{o}");
    }
    // Prepayments paid in full go to the warehouse.
    for p in [&a, &b] {
        h.wait(&p.id, |o| {
            o["status"] == "handed_off" || o["status"] == "shipped"
        })
        .await;
    }
    assert_eq!(h.order(&f.id).await["status"], "awaiting_payment");

    // The same statement again books nothing.
    let (status, again) = post_statement(h, FINANCE_KEY, &day).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            again["booked"].as_i64(),
            again["unmatched"].as_i64(),
            again["duplicates"].as_i64(),
            again["ignored"].as_i64()
        ),
        (Some(0), Some(0), Some(6), Some(2)),
        "{again}"
    );
    for p in [&a, &c, &d] {
        assert_eq!(h.order(&p.id).await["amount_paid"], p.total);
    }

    // The credit nobody named waits for finance, with F as suggestion.
    let list = h
        .finance
        .get("/v1/bank-transactions?status=unmatched")
        .await
        .unwrap();
    assert_eq!(list.status, 200, "{}", list.body);
    let unmatched = list.body.as_array().unwrap();
    assert_eq!(unmatched.len(), 1, "{}", list.body);
    let t = &unmatched[0];
    assert_eq!(t["id"], format!("{run}-F"));
    assert_eq!(t["amount"], f.total);
    assert_eq!(t["currency"], "EUR");
    assert_eq!(t["debtor_name"], "K. Unbekannt");
    assert_eq!(t["debtor_iban"], "DE12500105170648489890");
    assert_eq!(t["booked_on"], "2026-12-01");
    assert_eq!(t["suggestions"], json!([f.id]));
    let assign = format!("/v1/bank-transactions/{run}-F/assign");
    let denied = h
        .storefront
        .post(&assign, &json!({"order_id": f.id}))
        .await
        .unwrap();
    assert_eq!(denied.status, 403);
    let nobody = h
        .finance
        .post(&assign, &json!({"order_id": "ord_NOPE"}))
        .await
        .unwrap();
    assert_eq!(nobody.status, 422, "{}", nobody.body);
    let done = h
        .finance
        .post(&assign, &json!({"order_id": f.id}))
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "assigned");
    let twice = h
        .finance
        .post(&assign, &json!({"order_id": f.id}))
        .await
        .unwrap();
    assert_eq!(twice.status, 409, "{}", twice.body);
    let missing = h
        .finance
        .post(
            "/v1/bank-transactions/nope/assign",
            &json!({"order_id": f.id}),
        )
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    let o = h.wait(&f.id, paid).await;
    assert_eq!(o["amount_paid"], f.total);
    let list = h.finance.get("/v1/bank-transactions").await.unwrap();
    assert_eq!(list.body, json!([]));

    // A day later (camt.054.001.08): B's transfer comes back, G pays.
    let (status, notice) = post_statement(h, FINANCE_KEY, &fill(CAMT054)).await;
    assert_eq!(status, 200, "{notice}");
    assert_eq!(
        notice,
        json!({"statement_id": format!("{run}-054-0001"), "entries": 2, "booked": 2,
               "unmatched": 0, "ignored": 0, "duplicates": 0})
    );
    let o = h.wait(&b.id, |o| o["amount_paid"] == 0).await;
    assert_eq!(o["amount_due"], b.total);
    assert!(timeline_has(&o, "bank_transfer_returned"), "{o}");
    h.wait(&g.id, |o| paid(o) && o["status"] != "awaiting_payment")
        .await;
    let (_, repeat) = post_statement(h, FINANCE_KEY, &fill(CAMT054)).await;
    assert_eq!(repeat["duplicates"], 2, "{repeat}");
    assert_eq!(h.order(&b.id).await["amount_paid"], 0, "returned once");
}

#[tokio::test]
async fn statements_are_matched_booked_and_never_twice_embedded() {
    let h = Harness::simulated(Duration::from_millis(50)).await;
    statements_are_matched_booked_and_never_twice(&h).await;
}

#[tokio::test]
async fn statements_are_matched_booked_and_never_twice_on_aws() {
    let (h, _env) = Harness::aws(Duration::from_millis(50)).await;
    statements_are_matched_booked_and_never_twice(&h).await;
}

#[tokio::test]
async fn statements_over_10_mib_are_refused() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let big = format!(
        "<?xml version=\"1.0\"?><!--{}-->",
        "x".repeat(oms_domain::bank::MAX_STATEMENT_BYTES)
    );
    let (status, body) = post_statement(&h, FINANCE_KEY, &big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
}
