//! Invoices per second, single-threaded: the PDF (hybrid PDF/A-3b with its
//! CII embedded), the CII and the UBL of typical orders, and their sizes.
//! `cargo bench -p oms-invoice` (prints figures; asserts nothing).

use jiff::Timestamp;
use oms_domain::invoice::build_invoice;
use oms_domain::invoice::fixtures::seller;
use oms_domain::order::fixtures::sample_order;
use oms_domain::order::OrderLine;
use oms_domain::{InvoiceNumber, Sku, TaxRate};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::var("OMS_BENCH_INVOICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let shipped: Timestamp = "2026-11-26T10:00:00Z".parse().unwrap();
    let invoices: Vec<_> = (0..n)
        .map(|i| {
            let mut o = sample_order();
            o.lines = (0..1 + i % 5)
                .map(|l| OrderLine {
                    sku: Sku(format!("SKU-{l}")),
                    name: format!("Artikel Nummer {l} in Blau"),
                    quantity: 1 + (l as i64 % 3),
                    unit_price: 999 + 1000 * l as i64,
                    tax_rate: TaxRate::parse(if l % 2 == 0 { "19" } else { "7" }).unwrap(),
                })
                .collect();
            o.total =
                oms_domain::order::order_total(&o.lines, o.shipping_price, o.discount.as_ref());
            build_invoice(&o, InvoiceNumber::new(2026, i + 1), shipped, seller())
        })
        .collect();
    // Warm up: fonts parsed once per process.
    let _ = oms_invoice::render_pdf(&invoices[0]);
    let mut bytes = [0usize; 3];
    let mut secs = [0f64; 3];
    for inv in &invoices {
        let t = Instant::now();
        bytes[0] += oms_invoice::render_pdf(inv).len();
        secs[0] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bytes[1] += oms_invoice::render_cii(inv).len();
        secs[1] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bytes[2] += oms_invoice::render_ubl(inv).len();
        secs[2] += t.elapsed().as_secs_f64();
    }
    println!("{n} invoices (1-5 lines), single-threaded:");
    for (i, name) in ["PDF", "CII", "UBL"].iter().enumerate() {
        println!(
            "  {name:<4} {:>8.0} documents/s  {:>7.2} ms each  mean size {:>6} B",
            n as f64 / secs[i],
            secs[i] * 1000.0 / n as f64,
            bytes[i] / n as usize
        );
    }
    let all: f64 = secs.iter().sum();
    println!("  all three: {:.0} invoices/s", n as f64 / all);
}
