//! Generated orders shipped in random parcels, end to end on both
//! backends: random lines (rates 19, 7 and 0 %), prices, shipping and
//! discounts; each order split into one to three parcels at random (the
//! last one now and then without lines, "the rest"). Every order's parcel
//! invoices hold exactly its units and add up to exactly its total, shipping
//! on the first and the discount in full, and the invoice numbers are
//! gap-free across all of them.

use oms_tests::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// xorshift64*: a fixed seed gives the same orders every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

const SKUS: [(&str, &str); 6] = [
    ("G-MUG", "19"),
    ("G-TEA", "7"),
    ("G-BOOK", "0"),
    ("G-LAMP", "19"),
    ("G-JAM", "7"),
    ("G-PEN", "19"),
];

/// One generated order: its request body and, per parcel, its lines
/// (`None`: "the rest").
struct Plan {
    body: Value,
    parcels: Vec<Option<Vec<(String, i64)>>>,
}

fn plan(rng: &mut Rng, n: usize) -> Plan {
    let mut skus: Vec<usize> = (0..SKUS.len()).collect();
    let count = 1 + rng.below(4) as usize;
    let mut lines = Vec::new();
    for _ in 0..count {
        let sku = skus.remove(rng.below(skus.len() as u64) as usize);
        let quantity = 1 + rng.below(4) as i64;
        let price = 1 + rng.below(20_000) as i64;
        lines.push((SKUS[sku].0, quantity, price));
    }
    let goods: i64 = lines.iter().map(|(_, q, p)| q * p).sum();
    let mut body = order_body(n, &lines);
    body["payment_method"] = json!("invoice");
    body["shipping_price"] = json!(rng.below(1_000));
    body["discount"] = match rng.below(3) {
        0 => Value::Null,
        _ => json!({"code": "GEN", "amount": rng.below(goods as u64 / 2 + 1)}),
    };
    // Each unit goes into one of up to three parcels.
    let parcels_wanted = 1 + rng.below(3) as usize;
    let mut split: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); parcels_wanted];
    for (sku, quantity, _) in &lines {
        for _ in 0..*quantity {
            let p = rng.below(parcels_wanted as u64) as usize;
            *split[p].entry(sku.to_string()).or_default() += 1;
        }
    }
    split.retain(|p| !p.is_empty());
    let rest_without_lines = rng.below(2) == 0;
    let last = split.len() - 1;
    let parcels = split
        .into_iter()
        .enumerate()
        .map(|(i, p)| (i < last || !rest_without_lines).then(|| p.into_iter().collect()))
        .collect();
    Plan { body, parcels }
}

async fn generated_orders_invoice_exactly(h: &Harness, wh: &FakeWarehouse, orders: usize) {
    for (sku, rate) in SKUS {
        h.stock(sku, rate, 1_000_000).await;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let plans: Vec<Plan> = (0..orders).map(|n| plan(&mut rng, n)).collect();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));

    // Capture them all.
    let mut set = tokio::task::JoinSet::new();
    for (n, p) in plans.iter().enumerate() {
        let (client, body, limit) = (h.storefront.clone(), p.body.clone(), limit.clone());
        set.spawn(async move {
            let _turn = limit.acquire().await.unwrap();
            let a = client
                .create_order(&format!("gen-{n}"), &body)
                .await
                .unwrap();
            assert_eq!(a.status, 201, "{}", a.body);
            (n, a.body["id"].as_str().unwrap().to_string())
        });
    }
    let mut ids = vec![String::new(); orders];
    while let Some(r) = set.join_next().await {
        let (n, id) = r.unwrap();
        ids[n] = id;
    }

    // The warehouse gets them; it ships each in its parcels.
    let started = Instant::now();
    while wh.handoffs().len() < orders {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{} of {orders} handed off",
            wh.handoffs().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fulfillment_of: BTreeMap<String, String> = wh
        .handoffs()
        .into_iter()
        .map(|(_, _, b)| {
            let order = b["order_id"].as_str().unwrap().to_string();
            (order, b["fulfillment_id"].as_str().unwrap().to_string())
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for (n, p) in plans.iter().enumerate() {
        let ful = fulfillment_of[&ids[n]].clone();
        let (client, parcels, limit) = (h.warehouse.clone(), p.parcels.clone(), limit.clone());
        set.spawn(async move {
            let _turn = limit.acquire().await.unwrap();
            for (i, lines) in parcels.iter().enumerate() {
                let mut body = json!({"carrier": "DPD", "tracking_number": format!("G{n}-{i}")});
                if let Some(lines) = lines {
                    body["lines"] = lines
                        .iter()
                        .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
                        .collect();
                }
                let path = format!("/v1/fulfillments/{ful}/shipments");
                let a = client.post(&path, &body).await.unwrap();
                assert_eq!(a.status, 200, "{}", a.body);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    // Every parcel invoiced; each order's invoices add up to its total.
    let started = Instant::now();
    let mut numbers = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let order = loop {
            let o = h.order(id).await;
            let invoiced = o["shipments"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["invoice_number"].is_string()));
            if o["status"] == "shipped" && invoiced {
                break o;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "order {id} not invoiced: {o}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let shipments = order["shipments"].as_array().unwrap();
        assert_eq!(shipments.len(), plans[n].parcels.len(), "{order}");
        let (mut total, mut shipping, mut discount) = (0, Vec::new(), 0);
        let mut units: BTreeMap<String, i64> = BTreeMap::new();
        for s in shipments {
            let number = s["invoice_number"].as_str().unwrap();
            let inv = h.invoice(number).await;
            assert_eq!(inv["shipment_id"], s["id"]);
            total += inv["total"].as_i64().unwrap();
            shipping.push(inv["shipping"].as_i64().unwrap());
            discount += inv["discount"].as_i64().unwrap();
            for l in inv["lines"].as_array().unwrap() {
                *units.entry(l["sku"].as_str().unwrap().into()).or_default() +=
                    l["quantity"].as_i64().unwrap();
            }
            numbers.push(number[9..].parse::<u64>().unwrap());
        }
        assert_eq!(total, order["total"].as_i64().unwrap(), "{order}");
        assert_eq!(shipping[0], order["shipping_price"].as_i64().unwrap());
        assert!(shipping[1..].iter().all(|s| *s == 0), "{shipping:?}");
        assert_eq!(discount, order["discount"]["amount"].as_i64().unwrap_or(0));
        let ordered: BTreeMap<String, i64> = order["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["sku"].as_str().unwrap().into(),
                    l["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(units, ordered, "{order}");
    }
    numbers.sort();
    let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "gap-free and unique across all parcels");
    assert!(
        numbers.len() > orders * 3 / 2,
        "most orders ship in several parcels"
    );
}

#[tokio::test]
async fn generated_orders_in_random_parcels_invoice_exactly_embedded() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    generated_orders_invoice_exactly(&h, &wh, 1_000).await;
}

#[tokio::test]
async fn generated_orders_in_random_parcels_invoice_exactly_on_aws() {
    let wh = FakeWarehouse::start(0).await;
    let (h, _env) = Harness::aws_with_warehouse_under_load(&wh).await;
    generated_orders_invoice_exactly(&h, &wh, 1_000).await;
}
