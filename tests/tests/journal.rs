//! The journal on both backends: an invoice, a part payment and dunning
//! charges are booked as balanced postings with the chart's numbers, once
//! each, and what the receivables account still holds is what the order
//! says is due.

use jiff::civil::Date;
use jiff::Span;
use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

fn day(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap()
}

async fn journal_books_every_step_once(h: &Harness, revenue: &str, vat: &str) {
    h.stock("MUG", "19", 10).await;
    let mut body = order_body(1, &[("MUG", 1, 11900)]);
    body["payment_method"] = json!("invoice");
    body["customer"]["company"] = json!("Muster GmbH");
    let a = h.storefront.create_order("journal-1", &body).await.unwrap();
    let id = a.body["id"].as_str().unwrap().to_string();
    let o = h
        .wait(&id, |o| {
            o["invoice_number"].is_string() && o["due_date"].is_string()
        })
        .await;
    let (total, number) = (o["total"].as_i64().unwrap(), o["invoice_number"].clone());
    let due: Date = o["due_date"].as_str().unwrap().parse().unwrap();
    let pay = h
        .admin
        .pay("evt_journal_1", &id, 5000, "eur")
        .await
        .unwrap();
    assert_eq!(pay.status, 200);
    h.wait(&id, |o| o["amount_paid"] == 5000).await;
    for n in [7, 21] {
        let run = h
            .finance
            .post(&format!("/v1/dunning/run?date={}", day(due, n)), &json!({}))
            .await
            .unwrap();
        assert_eq!(run.status, 200, "{}", run.body);
    }
    let o = h.order(&id).await;
    let today = oms_domain::collection::business_date(jiff::Timestamp::now());
    let path = format!("/v1/journal?from={}&to={}", day(today, -1), day(due, 40));
    let denied = h.storefront.get(&path).await.unwrap();
    assert_eq!(denied.status, 403);
    let j = h.finance.get(&path).await.unwrap();
    assert_eq!(j.status, 200, "{}", j.body);
    let entries: Vec<Value> = j
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["text"].as_str().unwrap().contains(&id))
        .cloned()
        .collect();
    assert_eq!(
        entries.len(),
        3,
        "invoice, payment, level-2 charges: {entries:#?}"
    );
    for e in &entries {
        let sum = |side: &str| -> i64 {
            e["postings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[side].as_i64().unwrap())
                .sum()
        };
        assert_eq!(sum("debit"), sum("credit"), "balanced: {e}");
        assert_eq!(e["document"], number, "the invoice is the document: {e}");
    }
    let postings = |i: usize| -> Vec<(String, i64, i64)> {
        entries[i]["postings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["account"].as_str().unwrap().to_string(),
                    p["debit"].as_i64().unwrap(),
                    p["credit"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // 122.95 gross at 19 %: 103.32 net, 19.63 VAT.
    assert_eq!(
        postings(0),
        [
            ("10000".to_string(), total, 0),
            (revenue.to_string(), 0, 10332),
            (vat.to_string(), 0, 1963)
        ]
    );
    assert_eq!(entries[0]["date"], today.to_string());
    let clearing = if revenue == "8400" { "1360" } else { "1460" };
    assert_eq!(
        postings(1),
        [
            (clearing.to_string(), 5000, 0),
            ("10000".to_string(), 0, 5000)
        ]
    );
    let interest = o["dunning"]["interest"].as_i64().unwrap();
    assert!(interest > 0);
    let (fees, interest_account) = if revenue == "8400" {
        ("8600", "2650")
    } else {
        ("4830", "7100")
    };
    assert_eq!(
        postings(2),
        [
            ("10000".to_string(), 4000 + interest, 0),
            (fees.to_string(), 0, 4000),
            (interest_account.to_string(), 0, interest)
        ]
    );
    assert_eq!(entries[2]["date"], day(due, 21).to_string());
    // What the receivables account holds for the order is what it owes.
    let receivable: i64 = (0..3)
        .flat_map(postings)
        .filter(|(a, _, _)| a == "10000")
        .map(|(_, d, c)| d - c)
        .sum();
    assert_eq!(receivable, o["amount_due"].as_i64().unwrap());
    // The journal shares the facts index with the daily figures on AWS:
    // the report still reads (it once failed on journal items).
    let report = h.admin.get("/v1/reports/daily").await.unwrap();
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["invoices_issued"], 1);
    assert_eq!(report.body["payments_received"]["EUR"], 5000);
    // Read again: the same entries, none twice.
    let again = h.finance.get(&path).await.unwrap();
    assert_eq!(again.body, j.body);
    let bad = h
        .finance
        .get("/v1/journal?from=2026-12-31&to=2026-01-01")
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn journal_books_every_step_once_embedded_skr03() {
    let h = Harness::simulated(Duration::from_millis(20)).await;
    journal_books_every_step_once(&h, "8400", "1776").await;
}

#[tokio::test]
async fn journal_books_every_step_once_embedded_skr04() {
    let h = Harness::start(|s| {
        s.simulated_ship_delay = Duration::from_millis(20);
        s.invoice.chart.kind = oms_domain::journal::ChartKind::Skr04;
    })
    .await;
    journal_books_every_step_once(&h, "4400", "3806").await;
}

#[tokio::test]
async fn journal_books_every_step_once_on_aws() {
    let (h, _env) = Harness::aws(Duration::from_millis(20)).await;
    journal_books_every_step_once(&h, "8400", "1776").await;
}
