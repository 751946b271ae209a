//! The spine end to end on the AWS backend: DynamoDB Local holds the state
//! and carries the outbox on its stream, SQS and SES v2 are moto's. Capture
//! → reservation → hand-off → shipment → invoice email with PDF → payment →
//! report, all through the same HTTP API as on the embedded backend.

use oms_tests::aws::sent_emails;
use oms_tests::*;
use std::time::Duration;

#[tokio::test]
async fn orders_flow_from_capture_to_paid_on_the_aws_backend() {
    let (h, env) = Harness::aws(Duration::from_millis(300)).await;
    h.stock("MUG", "19", 5).await;
    h.stock("TEE", "7", 1).await;

    let mut orders = Vec::new();
    for i in 0..4 {
        orders.push(h.place(&format!("aws-{i}"), &[("MUG", 1, 1299)]).await);
    }
    // Same key, same body: the first answer again, no second order.
    let again = h
        .storefront
        .create_order("aws-0", &order_body(1, &[("MUG", 1, 1299)]))
        .await
        .unwrap();
    assert_eq!(again.body["id"], orders[0].as_str());
    // Two TEEs for one in stock: backordered until restocked.
    let short = h.place("aws-short", &[("TEE", 2, 1500)]).await;
    h.wait_status(&short, "backordered").await;

    let mut invoices = Vec::new();
    let mut paid = 0;
    for id in &orders {
        let o = h.wait(id, |o| o["invoice_number"].is_string()).await;
        assert_eq!(o["status"], "shipped");
        invoices.push(o["invoice_number"].as_str().unwrap().to_string());
        let total = o["total"].as_i64().unwrap();
        paid += total;
        let paid = h
            .storefront
            .pay(&format!("evt_{id}"), id, total, "EUR")
            .await
            .unwrap();
        assert_eq!(paid.status, 200, "{}", paid.body);
        // A provider retry is answered, and booked once.
        h.storefront
            .pay(&format!("evt_{id}"), id, total, "EUR")
            .await
            .unwrap();
    }
    invoices.sort();
    let year = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year();
    let expected: Vec<String> = (1..=4).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(invoices, expected, "gap-free from 1");

    for id in &orders {
        let o = h.wait(id, |o| o["payment_status"] == "paid").await;
        assert_eq!(o["amount_due"], 0, "{o:#}");
    }
    assert_eq!(h.sku("MUG").await["on_hand"], 1, "four shipped");

    // Restock: the backordered order is reserved and goes all the way.
    h.stock("TEE", "7", 5).await;
    h.wait(&short, |o| o["invoice_number"].is_string()).await;

    // Every invoice went out through SES with its PDF, to customer and finance.
    let started = std::time::Instant::now();
    let mails = loop {
        let mails: Vec<String> = sent_emails(&env.moto)
            .await
            .into_iter()
            // moto is shared by all tests: this test's orders are its own.
            // Invoices are the ones with a PDF (the notices have none).
            .filter(|m| {
                m.contains("application/pdf")
                    && orders
                        .iter()
                        .any(|id| m.contains(&format!("Ihrer Bestellung {id}")))
            })
            .collect();
        if mails.len() >= 4 || started.elapsed() > Duration::from_secs(20) {
            break mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(mails.len(), 4, "one email per invoice");
    for m in &mails {
        assert!(m.contains("application/pdf"), "PDF attached");
        assert!(m.contains("finance@shop.example"), "finance in copy");
    }

    let report = h.admin.get("/v1/reports/daily").await.unwrap();
    assert_eq!(report.status, 200, "{}", report.body);
    let r = &report.body;
    assert_eq!(r["orders_captured"], 5, "{r:#}");
    assert_eq!(r["orders_shipped"], 5, "{r:#}");
    assert_eq!(r["invoices_issued"], 5, "{r:#}");
    assert_eq!(r["orders_backordered"], 1, "{r:#}");
    assert_eq!(r["payments_received"]["EUR"], paid, "{r:#}");
    assert_eq!(
        r["revenue"]["EUR"],
        paid + r["open_receivables"]["EUR"].as_i64().unwrap(),
        "{r:#}"
    );
    assert_eq!(h.running.dead_letter_count().await.unwrap(), 0);
    h.running.stop().await;
}

/// Two pipelines on fresh tables at once, as the tests run them: each relay
/// reads its own stream to the end. (DynamoDB Local then answers
/// `TrimmedDataAccessException` for a fresh iterator now and then; the
/// relay must reopen the shard, as it must when an iterator expires after
/// 15 minutes in AWS, instead of retrying a dead iterator for ever.)
#[tokio::test]
async fn two_pipelines_side_by_side_both_deliver() {
    async fn one(n: usize) {
        let (h, _env) = Harness::aws(Duration::from_millis(20)).await;
        h.stock("MUG", "19", 100).await;
        let id = h.place(&format!("side-{n}"), &[("MUG", 1, 1000)]).await;
        h.wait_status(&id, "shipped").await;
    }
    tokio::join!(one(1), one(2), one(3));
}
