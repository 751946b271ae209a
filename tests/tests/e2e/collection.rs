//! Collecting, on both backends: invoice orders get a due date and are
//! dunned over a simulated 40 days (fees and interest to the cent, B2B and
//! B2C), each level once even with two runs at once; a payment or a block
//! stops dunning; the receivables report ages what is open; prepayment
//! orders unpaid too long are cancelled with their stock released once.

use jiff::civil::Date;
use jiff::Span;
use oms_domain::ports::Store;
use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The base rate the test fixes (2.00 %), so the figures do not move when
/// the table in the code gets a new row.
const BASE_RATE_BP: i64 = 200;

fn days_after(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap()
}

/// Interest as § 288 BGB reckons it, written out independently: amount ×
/// (base + points) × days / 365, half up.
fn interest(amount: i64, points_bp: i64, days: i64) -> i64 {
    let n = amount as i128 * (BASE_RATE_BP + points_bp) as i128 * days as i128;
    let d = 365 * 10_000;
    ((n + d / 2) / d) as i64
}

async fn invoice_order(h: &Harness, n: usize, business: bool) -> (String, i64, Date) {
    let mut body = order_body(n, &[("MUG", 1, 11900)]);
    body["payment_method"] = json!("invoice");
    if business {
        body["customer"]["company"] = json!("Muster GmbH");
        body["customer"]["vat_id"] = json!("DE123456788");
    }
    let key = format!("dun-{n}-{}", jiff::Timestamp::now().as_nanosecond());
    let a = h.storefront.create_order(&key, &body).await.unwrap();
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let o = h
        .wait(&id, |o| {
            o["invoice_number"].is_string() && o["due_date"].is_string()
        })
        .await;
    let due: Date = o["due_date"].as_str().unwrap().parse().unwrap();
    (id, o["total"].as_i64().unwrap(), due)
}

async fn run_dunning(h: &Harness, date: Date) -> Value {
    let a = h
        .finance
        .post(&format!("/v1/dunning/run?date={date}"), &json!({}))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

fn levels_reached(runs: &[Value], order: &str) -> Vec<u64> {
    runs.iter()
        .flat_map(|r| r["notices"].as_array().unwrap().clone())
        .filter(|n| n["order_id"] == order)
        .map(|n| n["level"].as_u64().unwrap())
        .collect()
}

async fn dunning_over_forty_days(h: &Harness, emails: impl Fn() -> Vec<String>) {
    h.stock("MUG", "19", 100).await;
    let (b2b, total, due) = invoice_order(h, 1, true).await;
    let (b2c, total_c, due_c) = invoice_order(h, 2, false).await;
    let (blocked, _, _) = invoice_order(h, 3, false).await;
    let (paying, paying_total, _) = invoice_order(h, 4, false).await;
    assert_eq!(total, total_c);
    assert_eq!(due, due_c, "both invoiced today");
    let today = oms_domain::collection::business_date(jiff::Timestamp::now());
    assert_eq!(
        due,
        days_after(today, 14),
        "OMS_PAYMENT_TERMS_DAYS defaults to 14"
    );

    // Receivables on day 12 after the due date: all four 1-30 days overdue.
    let r = h
        .finance
        .get(&format!(
            "/v1/reports/receivables?date={}",
            days_after(due, 12)
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["open"], 4 * total);
    assert_eq!(r.body["buckets"]["1_30"], 4 * total);
    assert_eq!(r.body["buckets"]["not_due"], 0);
    let line = r.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_id"] == b2b)
        .unwrap()
        .clone();
    assert_eq!(line["days_overdue"], 12);
    assert_eq!(line["dunning_level"], 0);
    assert_eq!(line["due_date"], due.to_string());
    let before = h
        .finance
        .get(&format!("/v1/reports/receivables?date={today}"))
        .await
        .unwrap();
    assert_eq!(before.body["buckets"]["not_due"], 4 * total);

    let block = h
        .finance
        .post(
            &format!("/v1/orders/{blocked}/dunning-block"),
            &json!({"blocked": true}),
        )
        .await
        .unwrap();
    assert_eq!(block.status, 200, "{}", block.body);
    assert_eq!(block.body["dunning_blocked"], true);

    // Forty days, one run a day, the level days twice at once.
    let mut runs = Vec::new();
    for day in 0..=40 {
        let date = days_after(due, day);
        if day == 10 {
            // Paid in full after the reminder: dunning stops at once.
            let pay = h
                .admin
                .pay(&format!("evt_pay_{paying}"), &paying, paying_total, "eur")
                .await
                .unwrap();
            assert_eq!(pay.status, 200, "{}", pay.body);
            h.wait(&paying, |o| o["amount_paid"] == paying_total).await;
        }
        if [7, 21, 35].contains(&day) {
            let (x, y) = tokio::join!(run_dunning(h, date), run_dunning(h, date));
            runs.push(x);
            runs.push(y);
        } else {
            runs.push(run_dunning(h, date).await);
        }
    }
    assert_eq!(levels_reached(&runs, &b2b), [1, 2, 3], "each level once");
    assert_eq!(levels_reached(&runs, &b2c), [1, 2, 3]);
    assert_eq!(levels_reached(&runs, &blocked), Vec::<u64>::new());
    assert_eq!(levels_reached(&runs, &paying), [1], "paid before level 2");

    // B2B: EUR 40 once at level 2; interest at base + 9 points.
    let o = h.order(&b2b).await;
    let (i21, i35) = (interest(total, 900, 21), interest(total, 900, 35));
    assert_eq!((i21, i35), (78, 130), "12,295 cents at 11 %");
    assert_eq!(o["dunning_level"], 3);
    assert_eq!(
        o["dunning"],
        json!({"level": 3, "fees": 4000, "interest": i35, "notices": [
            {"level": 1, "sent_on": days_after(due, 7).to_string(), "fee": 0, "interest": 0},
            {"level": 2, "sent_on": days_after(due, 21).to_string(), "fee": 4000, "interest": i21},
            {"level": 3, "sent_on": days_after(due, 35).to_string(), "fee": 0, "interest": i35 - i21}]})
    );
    assert_eq!(
        o["amount_due"],
        total + 4000 + i35,
        "owed on top of the invoice"
    );
    // B2C: no flat fee; interest at base + 5 points.
    let o = h.order(&b2c).await;
    let (c21, c35) = (interest(total, 500, 21), interest(total, 500, 35));
    assert_eq!((c21, c35), (50, 83), "12,295 cents at 7 %");
    assert_eq!(o["dunning"]["fees"], 0);
    assert_eq!(o["dunning"]["interest"], c35);
    assert_eq!(o["dunning"]["notices"][1]["interest"], c21);
    assert_eq!(o["amount_due"], total + c35);
    let timeline: Vec<&str> = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for level in ["dunning_level_1", "dunning_level_2", "dunning_level_3"] {
        assert_eq!(
            timeline.iter().filter(|e| **e == level).count(),
            1,
            "{timeline:?}"
        );
    }
    let o = h.order(&blocked).await;
    assert_eq!(
        (o["dunning_level"].as_u64(), o["dunning_blocked"].as_bool()),
        (Some(0), Some(true))
    );

    // One email per order and level: the notice with the invoice again,
    // the reference and the bank details, copied to finance.
    let started = std::time::Instant::now();
    let notices = loop {
        let sent: Vec<String> = emails()
            .into_iter()
            .filter(|m| m.contains("Mahnung") || m.contains("Zahlungserinnerung"))
            .collect();
        if sent.len() >= 7 || started.elapsed() > Duration::from_secs(20) {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(notices.len(), 7, "3 + 3 + 1 notices");
    let of = |id: &str| notices.iter().filter(|m| m.contains(id)).count();
    assert_eq!(
        (of(&b2b), of(&b2c), of(&paying), of(&blocked)),
        (3, 3, 1, 0)
    );
    let reminder = notices
        .iter()
        .find(|m| m.contains(&b2b) && m.contains("Zahlungserinnerung"))
        .unwrap();
    assert!(
        reminder.contains("finance@shop.example"),
        "copied to finance"
    );
    assert!(reminder.contains("application/pdf"), "the invoice again");
    let reference = oms_domain::payment_reference::printed(
        &oms_domain::payment_reference::for_order(&oms_domain::OrderId(b2b.clone())),
    );
    assert!(reminder.contains(&reference), "the payment reference");

    // Day 40: the open receivables are 31-60 days overdue, fees included.
    let r = h
        .finance
        .get(&format!(
            "/v1/reports/receivables?date={}",
            days_after(due, 40)
        ))
        .await
        .unwrap();
    let b = &r.body["buckets"];
    let open = r.body["open"].as_i64().unwrap();
    assert_eq!(open, 3 * total + 4000 + i35 + c35);
    assert_eq!(b["31_60"].as_i64().unwrap(), open);
    let sum: i64 = ["not_due", "1_30", "31_60", "61_90", "over_90"]
        .iter()
        .map(|k| b[k].as_i64().unwrap())
        .sum();
    assert_eq!(sum, open);
}

#[tokio::test]
async fn dunning_over_forty_days_embedded() {
    let h = Harness::start(|s| {
        s.simulated_ship_delay = Duration::from_millis(20);
        s.invoice.collection.base_rate_bp = Some(BASE_RATE_BP);
    })
    .await;
    let outbox = h.running.outbox.clone();
    dunning_over_forty_days(&h, move || {
        std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("dunning-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    })
    .await;
}

#[tokio::test]
async fn dunning_over_forty_days_on_aws() {
    let (h, env) = Harness::aws_with(Duration::from_millis(20), |s| {
        s.invoice.collection.base_rate_bp = Some(BASE_RATE_BP);
    })
    .await;
    let moto = env.moto.clone();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let probe = {
        let sent = sent.clone();
        move || sent.lock().unwrap().clone()
    };
    // Moto is asked over HTTP; the closure reads what a poller fetched.
    let poller = tokio::spawn(async move {
        loop {
            let all = aws::sent_emails(&moto).await;
            *sent.lock().unwrap() = all;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    dunning_over_forty_days(&h, probe).await;
    poller.abort();
}

async fn prepayment_expires(h: &Harness, store: &dyn Store) {
    h.stock("LAMP", "19", 5).await;
    let mut body = order_body(9, &[("LAMP", 2, 2500)]);
    body["payment_method"] = json!("bank_transfer");
    let a = h.storefront.create_order("prepay-1", &body).await.unwrap();
    let id = a.body["id"].as_str().unwrap().to_string();
    h.wait_status(&id, "awaiting_payment").await;
    assert_eq!(h.sku("LAMP").await["reserved"], 2, "held while waiting");

    let policy = oms_domain::collection::CollectionPolicy::default();
    let now = jiff::Timestamp::now();
    let early = now + jiff::SignedDuration::from_hours(24 * 6);
    let done = oms_runtime::housekeeping::collect(store, &policy, early)
        .await
        .unwrap();
    assert!(
        done.prepayments_expired.is_empty(),
        "six days: still waiting"
    );
    let late = now + jiff::SignedDuration::from_hours(24 * 7 + 1);
    let (x, y) = tokio::join!(
        oms_runtime::housekeeping::collect(store, &policy, late),
        oms_runtime::housekeeping::collect(store, &policy, late)
    );
    let expired: Vec<String> = [x.unwrap(), y.unwrap()]
        .into_iter()
        .flat_map(|c| c.prepayments_expired)
        .collect();
    assert_eq!(expired, std::slice::from_ref(&id), "cancelled once");
    let o = h.order(&id).await;
    assert_eq!(o["status"], "cancelled");
    assert!(o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "prepayment_expired"));
    let lamp = h.sku("LAMP").await;
    assert_eq!(
        (lamp["reserved"].as_i64(), lamp["on_hand"].as_i64()),
        (Some(0), Some(5))
    );
}

#[tokio::test]
async fn unpaid_prepayments_are_cancelled_once_embedded() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let store = h.running.store.clone().unwrap();
    prepayment_expires(&h, &store).await;
    // The customer is told, once.
    let started = std::time::Instant::now();
    while h.outbox_files("prepayment-expired-").is_empty()
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mails = h.outbox_files("prepayment-expired-");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("storniert"), "{}", mails[0]);
}

#[tokio::test]
async fn unpaid_prepayments_are_cancelled_once_on_aws() {
    let (h, env) = Harness::aws(Duration::from_secs(60)).await;
    let store = oms_aws::DynamoStore::new(&env.sdk, &env.prefix, None);
    prepayment_expires(&h, &store).await;
}
