//! `oms bench`: orders per second through the whole pipeline (capture,
//! reservation, hand-off, shipment, invoice with PDF and email, payment
//! booking) and capture latency under concurrent clients, over real HTTP on
//! loopback, on the embedded backend or on the AWS backend (then also what
//! each order consumed of DynamoDB, SQS and SES, and what that costs).
//! Prints figures; asserts nothing.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::start;
use crate::client::{order_body, Client};
use crate::config::{Backend, Settings};
use crate::cost;

pub async fn run(
    orders: usize,
    concurrency: usize,
    data_dir: PathBuf,
    backend: Backend,
) -> Result<()> {
    let mut settings = Settings::from_env(data_dir.clone(), "127.0.0.1:0".into(), None)?;
    if let Backend::Aws { prefix } = &backend {
        // Fresh resources, so the figures are this run's alone.
        let sdk = oms_aws::Sdk::from_env().await;
        oms_aws::init(&sdk, prefix, Some(&settings.invoice.mail_from)).await?;
    }
    settings.backend = backend.clone();
    settings.api_keys = None;
    settings.warehouse = None;
    settings.simulated_ship_delay = Duration::ZERO;
    settings
        .invoice
        .finance_email
        .get_or_insert_with(|| "finance@shop.example".into());
    let running = start(settings).await?;
    let client = Client::new(
        running.url(),
        running.api_key.clone(),
        running.stripe_secret.clone(),
    );
    let skus: Vec<String> = (0..10).map(|i| format!("BENCH-{i}")).collect();
    for sku in &skus {
        client
            .put_sku(sku, "Bench item", "19", orders as i64 * 2)
            .await?;
    }

    let before = running.usage.snapshot();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, skus) = (client.clone(), next.clone(), skus.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= orders {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let sku = skus[n % skus.len()].as_str();
                let body = order_body(n, &[(sku, 1, 1999)]);
                let t = Instant::now();
                let answer = client.create_order(&format!("bench-{n}"), &body).await?;
                latencies.push(t.elapsed());
                if answer.status != 201 {
                    bail!("order {n}: HTTP {} {}", answer.status, answer.body);
                }
                let id = answer.body["id"].as_str().unwrap_or_default();
                let total = answer.body["total"].as_i64().unwrap_or_default();
                client
                    .pay(&format!("evt_bench_{n}"), id, total, "eur")
                    .await?;
            }
        });
    }
    let mut latencies = Vec::with_capacity(orders);
    while let Some(done) = workers.join_next().await {
        latencies.extend(done??);
    }
    let captured_in = started.elapsed();

    // Done when every order is invoiced, emailed and its payment booked.
    let limit = Duration::from_secs(600);
    loop {
        let report = client.get("/v1/reports/daily").await?.body;
        let invoiced = report["invoices_issued"].as_u64().unwrap_or(0) as usize;
        let paid_all = report["open_receivables"]["EUR"].as_i64().unwrap_or(0) == 0;
        let emails = match backend {
            Backend::Embedded => crate::demo::count_emails(&running.outbox),
            // Two recipients (customer and finance) per invoice email.
            Backend::Aws { .. } => running.usage.snapshot().ses_emails as usize / 2,
        };
        if invoiced >= orders && paid_all && emails >= orders {
            break;
        }
        if started.elapsed() > limit {
            bail!("only {invoiced} of {orders} orders were invoiced after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: usize| latencies[(p * latencies.len()).div_ceil(100).max(1) - 1];
    let used = running.usage.snapshot();
    let name = match &backend {
        Backend::Embedded => "embedded backend".to_string(),
        Backend::Aws { prefix } => format!("AWS backend (table {prefix})"),
    };
    println!(
        "oms bench: {name}, {orders} orders, {concurrency} concurrent clients, HTTP on loopback"
    );
    println!(
        "  capture latency      p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms",
        ms(pct(50)),
        ms(pct(99)),
        ms(*latencies.last().expect("orders > 0"))
    );
    println!(
        "  capture + payment    {:>8.0} orders/s ({:.2} s)",
        orders as f64 / captured_in.as_secs_f64(),
        captured_in.as_secs_f64()
    );
    println!("  end to end           {:>8.0} orders/s ({:.2} s until every order was shipped, invoiced, emailed and paid)",
        orders as f64 / total.as_secs_f64(), total.as_secs_f64());
    if let Some(rss) = peak_rss_kib() {
        println!("  peak memory (RSS)    {:>8.1} MiB", rss as f64 / 1024.0);
    }
    if let Backend::Aws { .. } = backend {
        cost::print(&cost::PerOrder::measured(before, used, orders));
    }
    let db = std::fs::metadata(data_dir.join("oms.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("  database size        {:>8.1} MiB", db as f64 / 1048576.0);
    running.stop().await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
