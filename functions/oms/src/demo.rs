//! `oms demo`: a whole run in a fresh data dir, through the real HTTP API,
//! that checks every order reached the end state it should.

use anyhow::{bail, Result};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::app::start;
use crate::client::{order_body, Client};
use crate::config::Settings;
use crate::sample_statement::{camt053, Credit, Remittance};

const CATALOGUE: &[(&str, &str, &str, i64)] = &[
    ("MUG-BLUE", "Tasse Blau", "19", 1299),
    ("TEA-EARLGREY", "Earl Grey 250 g", "7", 650),
    ("BOOK-COOK", "Kochbuch", "7", 2400),
    ("TOWEL-XL", "Handtuch XL", "19", 1899),
    ("CANDLE", "Duftkerze", "19", 899),
];

pub struct DemoOutcome {
    pub data_dir: PathBuf,
    pub emails: usize,
    pub failures: Vec<String>,
    pub report: Value,
}

/// Runs the demo in `data_dir`; `failures` lists every order that did not end as expected.
pub async fn run(orders: usize, data_dir: PathBuf) -> Result<DemoOutcome> {
    let mut settings = Settings::from_env(data_dir.clone(), "127.0.0.1:0".into(), None)?;
    settings.api_keys = None;
    settings.warehouse = None;
    settings.simulated_ship_delay = Duration::from_millis(300);
    settings
        .invoice
        .finance_email
        .get_or_insert_with(|| "finance@shop.example".into());
    let running = start(settings).await?;
    println!(
        "pipeline listening on {} (data in {})",
        running.url(),
        data_dir.display()
    );
    let client = Client::new(
        running.url(),
        running.api_key.clone(),
        running.stripe_secret.clone(),
    );

    for (sku, name, rate, _) in CATALOGUE {
        expect(
            client
                .put_sku(sku, name, rate, orders as i64 * 4)
                .await?
                .status,
            &[201, 200],
            "stocking",
        )?;
    }
    // One item is out of stock: its order waits as a backorder until restocked.
    expect(
        client.put_sku("LAMP", "Leselampe", "19", 0).await?.status,
        &[201, 200],
        "stocking",
    )?;

    println!("placing {orders} orders, paying them through signed Stripe events …");
    let mut placed = Vec::new();
    for n in 0..orders {
        let (sku, _, _, price) = CATALOGUE[n % CATALOGUE.len()];
        let (sku2, _, _, price2) = CATALOGUE[(n + 2) % CATALOGUE.len()];
        let lines = if n % 3 == 0 {
            vec![(sku, 1 + (n % 3) as i64, price), (sku2, 1, price2)]
        } else {
            vec![(sku, 1, price)]
        };
        placed.push(place_and_pay(&client, n, &lines).await?);
    }
    let backorder = place_and_pay(&client, orders, &[("LAMP", 1, 3999)]).await?;
    let cancelled = client
        .create_order(
            "demo-cancel",
            &order_body(orders + 1, &[("CANDLE", 2, 899)]),
        )
        .await?;
    let cancelled_id = cancelled.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = client
        .post(&format!("/v1/orders/{cancelled_id}/cancel"), &Value::Null)
        .await?;
    expect(answer.status, &[200], "cancelling")?;
    wait_for(
        &client,
        &backorder,
        |o| o["status"] == "backordered",
        Duration::from_secs(30),
    )
    .await;
    println!("order {backorder} is backordered; restocking LAMP …");
    expect(
        client.put_sku("LAMP", "Leselampe", "19", 5).await?.status,
        &[200],
        "restocking",
    )?;
    placed.push(backorder);

    // Paid by bank transfer: prepayment orders wait for their money, an
    // invoice order ships at once; one bank statement pays them all.
    println!("placing 3 prepayment orders and 1 invoice order, paid by one bank statement …");
    let mut by_transfer = Vec::new();
    for (k, method) in ["bank_transfer", "bank_transfer", "bank_transfer", "invoice"]
        .into_iter()
        .enumerate()
    {
        let n = orders + 10 + k;
        let mut body = order_body(n, &[("TOWEL-XL", 1, 1899)]);
        body["payment_method"] = Value::from(method);
        let answer = client.create_order(&format!("demo-{n}"), &body).await?;
        expect(answer.status, &[201], "placing a transfer order")?;
        by_transfer.push((
            answer.body["id"].as_str().unwrap_or_default().to_string(),
            answer.body["total"].as_i64().unwrap_or_default(),
            answer.body["payment_reference"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    let mut failures = Vec::new();
    for (id, _, _) in &by_transfer[..3] {
        let waiting = |o: &Value| o["status"] == "awaiting_payment";
        let o = wait_for(&client, id, waiting, Duration::from_secs(30)).await;
        if !waiting(&o) {
            failures.push(format!(
                "{id}: expected awaiting_payment, is {}",
                o["status"]
            ));
        }
    }
    let credits: Vec<Credit> = by_transfer
        .iter()
        .enumerate()
        .map(|(k, (id, total, reference))| Credit {
            reference: format!("DEMO-{k}"),
            amount: *total,
            debtor: format!("Kundin {k}"),
            // The second customer typed the reference by hand, in two lines.
            remittance: if k == 1 {
                let (a, b) = reference.split_at(12);
                Remittance::Lines(vec![format!("Bestellung {a}"), format!("{b} danke")])
            } else if k == 3 {
                Remittance::Lines(vec![format!("Order {}", id.replace('_', ""))])
            } else {
                Remittance::Structured(reference.clone())
            },
        })
        .collect();
    let statement = camt053("DEMO-STATEMENT", &credits);
    let imported = client.post_xml("/v1/bank-statements", &statement).await?;
    expect(imported.status, &[200], "importing the bank statement")?;
    println!("bank statement imported: {}", imported.body);
    placed.extend(by_transfer.iter().map(|(id, _, _)| id.clone()));

    let deadline = Duration::from_secs(120);
    // Every parcel invoiced (the simulated warehouse ships an order of
    // several lines in two parcels, each with its invoice).
    let settled = |o: &Value| {
        o["status"] == "shipped"
            && o["payment_status"] == "paid"
            && !o["invoice_number"].is_null()
            && o["shipments"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["invoice_number"].is_string()))
    };
    let mut invoices = 0;
    for id in &placed {
        let order = wait_for(&client, id, settled, deadline).await;
        invoices += order["shipments"].as_array().map_or(0, Vec::len);
        if !settled(&order) {
            failures.push(format!(
                "{id}: {} / {} / invoice {}",
                order["status"], order["payment_status"], order["invoice_number"]
            ));
        }
    }
    let order = client
        .get(&format!("/v1/orders/{cancelled_id}"))
        .await?
        .body;
    if order["status"] != "cancelled" {
        failures.push(format!(
            "{cancelled_id}: expected cancelled, is {}",
            order["status"]
        ));
    }
    // Emails are sent right after the invoice is numbered: give the last ones a moment.
    let started = Instant::now();
    let mut emails = count_emails(&running.outbox);
    while emails < invoices && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        emails = count_emails(&running.outbox);
    }
    if emails != invoices {
        failures.push(format!(
            "{emails} invoice emails for {invoices} invoices of {} shipped orders",
            placed.len()
        ));
    }
    if let Some(first) = placed.first() {
        match exchange(&client, first).await {
            Ok(done) => println!("{done}"),
            Err(e) => failures.push(format!("exchange: {e}")),
        }
    }
    let report = client.get("/v1/reports/daily").await?.body;
    running.stop().await;
    Ok(DemoOutcome {
        data_dir,
        emails,
        failures,
        report,
    })
}

/// The first customer sends a unit back and takes another article instead:
/// the return is credited, and the replacement order, paid by the credit,
/// is reserved, shipped and invoiced.
async fn exchange(client: &Client, id: &str) -> Result<String> {
    let order = client.get(&format!("/v1/orders/{id}")).await?.body;
    let ful = order["fulfillments"][0]["id"].as_str().unwrap_or_default();
    let sku = order["lines"][0]["sku"].as_str().unwrap_or_default();
    let other = CATALOGUE
        .iter()
        .map(|c| c.0)
        .find(|s| *s != sku)
        .unwrap_or(sku);
    let answer = client
        .post(
            &format!("/v1/fulfillments/{ful}/returns"),
            &serde_json::json!({"return_id": "DEMO-RMA-1", "lines": [{"sku": sku, "quantity": 1}],
                                "exchange": [{"sku": other, "quantity": 1}]}),
        )
        .await?;
    expect(answer.status, &[200], "the return with an exchange")?;
    let replacement = answer.body["replacement_order_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let done = wait_for(
        client,
        &replacement,
        |o| {
            o["status"] == "shipped"
                && o["payment_status"] == "paid"
                && o["invoice_number"].is_string()
        },
        Duration::from_secs(30),
    )
    .await;
    if done["status"] != "shipped" || done["payment_status"] != "paid" {
        bail!(
            "replacement {replacement}: {} / {}",
            done["status"],
            done["payment_status"]
        );
    }
    Ok(format!(
        "exchange: {id} sent back 1 × {sku} for 1 × {other}; replacement order {replacement} \
         costs the credit ({}), paid by it, shipped, invoice {}",
        oms_domain::money::format_minor(
            done["total"].as_i64().unwrap_or_default(),
            oms_domain::Currency::parse("EUR").expect("EUR")
        ),
        done["invoice_number"].as_str().unwrap_or_default()
    ))
}

fn expect(status: u16, ok: &[u16], what: &str) -> Result<()> {
    if ok.contains(&status) {
        Ok(())
    } else {
        bail!("{what} answered HTTP {status}")
    }
}

async fn place_and_pay(client: &Client, n: usize, lines: &[(&str, i64, i64)]) -> Result<String> {
    let answer = client
        .create_order(&format!("demo-{n}"), &order_body(n, lines))
        .await?;
    if answer.status != 201 {
        bail!(
            "order {n} was refused with HTTP {}: {}",
            answer.status,
            answer.body
        );
    }
    let id = answer.body["id"].as_str().unwrap_or_default().to_string();
    let total = answer.body["total"].as_i64().unwrap_or_default();
    expect(
        client
            .pay(&format!("evt_demo_{n}"), &id, total, "eur")
            .await?
            .status,
        &[200],
        "paying",
    )?;
    Ok(id)
}

/// Polls an order until `done` holds or `limit` passes; returns the last view.
pub async fn wait_for(
    client: &Client,
    id: &str,
    done: impl Fn(&Value) -> bool,
    limit: Duration,
) -> Value {
    let started = Instant::now();
    loop {
        let order = client
            .get(&format!("/v1/orders/{id}"))
            .await
            .map(|a| a.body)
            .unwrap_or(Value::Null);
        if done(&order) || started.elapsed() > limit {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Invoice emails (`INV-….eml`) in the outbox.
pub fn count_emails(outbox: &std::path::Path) -> usize {
    std::fs::read_dir(outbox)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("INV-") && name.ends_with(".eml")
                })
                .count()
        })
        .unwrap_or(0)
}
