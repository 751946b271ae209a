//! `oms bench-collection`: the money side's figures. How long importing a
//! bank statement of N entries takes (and its peak memory), what a bank
//! booking costs in DynamoDB request units, and how long a dunning run over
//! M open invoices takes. The orders are written straight to the store (the
//! pipeline's throughput is `oms bench`); the import and the run are the
//! real ones. Prints figures; asserts nothing.

use anyhow::Result;
use jiff::{Span, Timestamp};
use oms_domain::collection::{business_date, CollectionPolicy};
use oms_domain::order::fixtures::sample_order;
use oms_domain::order::{Order, OrderStatus, PaymentMethod};
use oms_domain::ports::{ChangeSet, OrderWrite, Store};
use oms_domain::{payment_reference, InvoiceNumber, OrderId};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Backend;
use crate::sample_statement::{camt053, Credit, Remittance};

/// An invoiced, unpaid order due `overdue_days` ago.
fn open_invoice(n: u64, overdue_days: i64) -> Order {
    let mut o = sample_order();
    o.id = OrderId::generate();
    o.payment_method = PaymentMethod::Invoice;
    o.status = OrderStatus::Shipped;
    o.captured_at = Timestamp::now();
    o.invoice_number = Some(InvoiceNumber::new(2026, n));
    o.due_date = business_date(Timestamp::now())
        .checked_sub(Span::new().days(overdue_days))
        .ok();
    o
}

/// Writes `count` open invoices, many at a time.
async fn write_orders(store: Arc<dyn Store>, count: u64, overdue_days: i64) -> Result<Vec<Order>> {
    let mut all = Vec::with_capacity(count as usize);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..64u64 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for n in (chunk..count).step_by(64) {
                let o = open_invoice(n + 1, overdue_days);
                store
                    .commit(ChangeSet {
                        order: Some(OrderWrite {
                            order: o.clone(),
                            expected_version: None,
                        }),
                        ..ChangeSet::default()
                    })
                    .await?;
                mine.push(o);
            }
            Ok::<_, anyhow::Error>(mine)
        });
    }
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(all)
}

/// A camt.053.001.08 statement paying `orders`: most by structured
/// reference, some by order id in the text (split over two lines, `_`
/// lost), and one in ten with nothing we know (unmatched).
fn statement(orders: &[Order], entries: usize) -> String {
    let run = Timestamp::now().as_millisecond();
    let credits: Vec<Credit> = (0..entries)
        .map(|i| {
            let o = &orders[i % orders.len()];
            let remittance = match i % 10 {
                9 => Remittance::Lines(vec!["Danke fuer alles".into()]),
                7 | 8 => {
                    let id = o.id.as_str().replace('_', "");
                    let (a, b) = id.split_at(15);
                    Remittance::Lines(vec![format!("Bestellung {a}"), b.to_string()])
                }
                _ => Remittance::Structured(payment_reference::for_order(&o.id)),
            };
            Credit {
                reference: format!("BENCH-{run}-{i}"),
                amount: o.total,
                debtor: format!("Kunde {i}"),
                remittance,
            }
        })
        .collect();
    camt053(&format!("BENCH-{run}"), &credits)
}

/// Forgets the peak RSS so far (Linux), so the next reading is this step's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Peak RSS since the last reset: the process's heap (including what the
/// allocator kept from the steps before) plus the SQLite page cache (64 MiB)
/// and the pages of its memory map (up to 256 MiB) that were touched.
fn memory() -> String {
    status_mib("VmHWM:").map_or("unknown".into(), |peak| {
        format!("{peak:.1} MiB peak RSS during")
    })
}

pub async fn run(entries: usize, open: u64, dir: &Path, backend: Backend) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let (store, usage): (Arc<dyn Store>, Option<Arc<oms_aws::Usage>>) = match &backend {
        Backend::Embedded => (
            Arc::new(oms_embedded::Embedded::open(
                &dir.join("oms.db"),
                Default::default(),
            )?),
            None,
        ),
        Backend::Aws { prefix } => {
            let sdk = oms_aws::Sdk::from_env().await;
            oms_aws::init(&sdk, prefix, None).await?;
            let usage = sdk.usage.clone();
            (
                Arc::new(oms_aws::DynamoStore::new(&sdk, prefix, None)),
                Some(usage),
            )
        }
    };
    let name = match &backend {
        Backend::Embedded => "embedded backend".to_string(),
        Backend::Aws { prefix } => format!("AWS backend (table {prefix})"),
    };
    println!("oms bench-collection: {name}");

    // Bank statement import.
    let payers = (entries as u64).max(1);
    let orders = write_orders(store.clone(), payers, 3).await?;
    let xml = statement(&orders, entries);
    let before = usage.as_ref().map(|u| u.snapshot());
    reset_peak_rss();
    let started = Instant::now();
    let summary =
        oms_reconcile::bank::import_statement(store.as_ref(), xml.as_bytes(), Timestamp::now())
            .await?;
    let took = started.elapsed();
    println!(
        "  bank import          {} entries ({:.1} MiB camt.053) in {:.2} s = {:.0} entries/s; booked {}, unmatched {}",
        summary.entries,
        xml.len() as f64 / 1048576.0,
        took.as_secs_f64(),
        summary.entries as f64 / took.as_secs_f64(),
        summary.booked,
        summary.unmatched
    );
    println!("  memory               {} the import", memory());
    if let (Some(u), Some(before)) = (&usage, before) {
        let after = u.snapshot();
        let n = summary.booked.max(1) as f64;
        println!(
            "  per bank booking     {:.1} write units, {:.1} read units (import, booking and order update)",
            (after.write_units - before.write_units) / n,
            (after.read_units - before.read_units) / n
        );
    }
    let started = Instant::now();
    let again =
        oms_reconcile::bank::import_statement(store.as_ref(), xml.as_bytes(), Timestamp::now())
            .await?;
    println!(
        "  the same file again  {:.2} s, {} duplicates, {} booked",
        started.elapsed().as_secs_f64(),
        again.duplicates,
        again.booked
    );

    // Dunning over `open` invoices overdue by 8 days: each reaches level 1.
    if open > 0 {
        let started = Instant::now();
        write_orders(store.clone(), open, 8).await?;
        println!(
            "  wrote {open} open invoices in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let policy = CollectionPolicy::default();
        let today = business_date(Timestamp::now());
        reset_peak_rss();
        let started = Instant::now();
        let run =
            oms_invoice::dunning::run(store.as_ref(), &policy, today, Timestamp::now()).await?;
        let took = started.elapsed();
        println!(
            "  dunning run          {} open, {} notices in {:.2} s = {:.0} orders/s",
            run.checked,
            run.notices.len(),
            took.as_secs_f64(),
            run.checked as f64 / took.as_secs_f64()
        );
        println!("  memory               {} the run", memory());
        let started = Instant::now();
        let idle =
            oms_invoice::dunning::run(store.as_ref(), &policy, today, Timestamp::now()).await?;
        println!(
            "  run again same day   {} notices in {:.2} s (reads the open list only)",
            idle.notices.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
