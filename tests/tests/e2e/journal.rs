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
    datev_reproduces_the_journal(h, &j.body, day(today, -1), day(due, 40), revenue, vat).await;
}

/// The DATEV export of the same period (one batch per calendar year), read
/// back as DATEV imports it: gross lines on the automatic revenue account
/// split into net and VAT at its rate, lines with tax key 40 as they are.
/// The VAT and every account's balance come out as the journal has them.
async fn datev_reproduces_the_journal(
    h: &Harness,
    journal: &Value,
    from: Date,
    to: Date,
    revenue: &str,
    vat: &str,
) {
    let mut periods = vec![];
    let mut start = from;
    while start <= to {
        let end = Date::new(start.year(), 12, 31).unwrap().min(to);
        periods.push((start, end));
        start = Date::new(start.year() + 1, 1, 1).unwrap();
    }
    let mut vat_booked = 0i64;
    let mut balances: std::collections::BTreeMap<String, i64> = Default::default();
    for (from, to) in periods {
        let response = h
            .http
            .get(h.url(&format!("/v1/exports/datev?from={from}&to={to}")))
            .bearer_auth(FINANCE_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=windows-1252"
        );
        let bytes = response.bytes().await.unwrap();
        let (text, _, malformed) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!malformed);
        let mut lines = text.split("\r\n");
        let header: Vec<&str> = lines.next().unwrap().split(';').collect();
        assert_eq!(
            &header[..5],
            ["\"EXTF\"", "700", "21", "\"Buchungsstapel\"", "13"]
        );
        assert_eq!(header[14], from.strftime("%Y%m%d").to_string());
        assert_eq!(header[15], to.strftime("%Y%m%d").to_string());
        assert_eq!(lines.next().unwrap().split(';').count(), 125);
        for line in lines.filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split(';').collect();
            assert_eq!(f.len(), 125, "{line}");
            let amount: i64 = f[0].replace(',', "").parse().unwrap();
            let signed = if f[1] == "\"S\"" { amount } else { -amount };
            let (account, contra, key) = (f[6], f[7], f[8]);
            let tax = if account == revenue && key == "\"\"" {
                oms_domain::datev::automatic_vat(signed, 1900)
            } else {
                0
            };
            vat_booked += tax;
            *balances.entry(account.to_string()).or_default() += signed - tax;
            *balances.entry(contra.to_string()).or_default() -= signed;
        }
    }
    let mut want: std::collections::BTreeMap<String, i64> = Default::default();
    for e in journal.as_array().unwrap() {
        for p in e["postings"].as_array().unwrap() {
            let signed = p["debit"].as_i64().unwrap() - p["credit"].as_i64().unwrap();
            *want
                .entry(p["account"].as_str().unwrap().to_string())
                .or_default() += signed;
        }
    }
    assert_eq!(vat_booked, want.remove(vat).unwrap(), "VAT to the cent");
    balances.retain(|_, v| *v != 0);
    want.retain(|_, v| *v != 0);
    assert_eq!(balances, want, "every account as the journal has it");
    let across = h
        .finance
        .get("/v1/exports/datev?from=2026-12-01&to=2027-01-31")
        .await
        .unwrap();
    assert_eq!(across.status, 400, "{}", across.body);
    assert_eq!(across.body["error"]["field"], "to");
}

#[tokio::test]
async fn journal_books_every_step_once_embedded_skr03() {
    let h = Harness::simulated(Duration::from_millis(20)).await;
    journal_books_every_step_once(&h, "8400", "1776").await;
    // `oms export datev` on the data dir writes what the route answers
    // (but for the creation time in the header).
    let today = oms_domain::collection::business_date(jiff::Timestamp::now());
    let (from, to) = (day(today, -1), Date::new(today.year(), 12, 31).unwrap());
    let path = format!("/v1/exports/datev?from={from}&to={to}");
    let served = h
        .http
        .get(h.url(&path))
        .bearer_auth(FINANCE_KEY)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let file = oms::export::datev(h.dir.path(), &from.to_string(), &to.to_string())
        .await
        .unwrap();
    let without_created = |b: &[u8]| -> Vec<String> {
        let text = encoding_rs::WINDOWS_1252.decode(b).0.into_owned();
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
        let mut header: Vec<String> = lines[0].split(';').map(str::to_string).collect();
        header[5].clear();
        lines[0] = header.join(";");
        lines
    };
    assert!(without_created(&file).len() > 3, "lines were exported");
    assert_eq!(without_created(&file), without_created(&served));
    let refused = oms::export::datev(h.dir.path(), "2026-12-01", "2027-01-31").await;
    assert!(refused.unwrap_err().to_string().contains("one fiscal year"));
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
