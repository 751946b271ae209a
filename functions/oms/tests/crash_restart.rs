//! Kill -9 the real `oms serve` process while orders are in its queues,
//! start it again on the same data dir: every order completes, nothing is
//! lost and nothing is duplicated.

use oms::client::{order_body, Client};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "crash-test-key";
const SECRET: &str = "whsec_crash";
const ORDERS: usize = 60;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_oms"))
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("OMS_API_KEYS", KEY)
        .env("OMS_STRIPE_WEBHOOK_SECRET", SECRET)
        .env("OMS_SIM_SHIP_DELAY_MS", "150")
        .env("OMS_FINANCE_EMAIL", "finance@shop.example")
        .env_remove("OMS_WAREHOUSE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("oms starts")
}

/// Messages waiting or in flight, as `oms admin queues` reports them.
fn pending(dir: &std::path::Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args(["admin", "--data-dir", dir.to_str().unwrap(), "queues"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("dead-letters"))
        .filter_map(|l| l.split('\t').nth(1)?.parse::<u64>().ok())
        .sum()
}

async fn wait_up(client: &Client) {
    let started = Instant::now();
    while client.get("/healthz").await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "oms serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Places (or re-places, with the same key) and pays order `n`, as a
/// storefront retrying after an outage would. Errors are tolerated: the
/// server may die mid-request.
async fn place_and_pay(client: &Client, n: usize) -> Option<String> {
    let answer = client
        .create_order(&format!("crash-{n}"), &order_body(n, &[("MUG", 1, 1000)]))
        .await
        .ok()?;
    let id = answer.body["id"].as_str()?.to_string();
    let total = answer.body["total"].as_i64()?;
    client
        .pay(&format!("evt_crash_{n}"), &id, total, "eur")
        .await
        .ok()?;
    Some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_pipeline_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = Client::new(
        format!("http://127.0.0.1:{port}"),
        KEY.into(),
        SECRET.into(),
    );

    let mut child = serve(dir.path(), port);
    wait_up(&client).await;
    assert_eq!(
        client
            .put_sku("MUG", "Tasse", "19", 1000)
            .await
            .unwrap()
            .status,
        201
    );
    // Send orders concurrently and kill the process while they are in flight.
    let mut set = tokio::task::JoinSet::new();
    for n in 0..ORDERS {
        let c = client.clone();
        set.spawn(async move { place_and_pay(&c, n).await });
    }
    // Kill once a third of the orders is in: the later ones are mid-request,
    // the earlier ones somewhere in the queues (shipping takes 150 ms).
    let started = Instant::now();
    loop {
        let report = client
            .get("/v1/reports/daily")
            .await
            .map(|a| a.body)
            .unwrap_or_default();
        if report["orders_captured"].as_u64().unwrap_or(0) >= ORDERS as u64 / 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "orders are not coming in"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    while set.join_next().await.is_some() {}
    assert!(
        pending(dir.path()) > 0,
        "the kill must interrupt work in the queues, or this test proves nothing"
    );

    // Second life: killed again while it drains what the first left behind.
    let mut child = serve(dir.path(), port);
    wait_up(&client).await;
    for n in 0..ORDERS / 2 {
        place_and_pay(&client, n).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Third life: the storefront retries every order with its key; all must finish.
    let mut child = serve(dir.path(), port);
    wait_up(&client).await;
    let mut ids = BTreeSet::new();
    for n in 0..ORDERS {
        ids.insert(place_and_pay(&client, n).await.expect("the server is up"));
    }
    assert_eq!(ids.len(), ORDERS, "one order per idempotency key");
    let started = Instant::now();
    let mut numbers = BTreeSet::new();
    for id in &ids {
        loop {
            let o = client.get(&format!("/v1/orders/{id}")).await.unwrap().body;
            if o["status"] == "shipped"
                && o["payment_status"] == "paid"
                && !o["invoice_number"].is_null()
            {
                assert!(
                    numbers.insert(o["invoice_number"].as_str().unwrap().to_string()),
                    "duplicate invoice number"
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "order {id} stuck: {o}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let year = jiff::Timestamp::now().strftime("%Y").to_string();
    let expected: BTreeSet<String> = (1..=ORDERS).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected, "gap-free and unique across crashes");
    let sku = client.get("/v1/skus/MUG").await.unwrap().body;
    assert_eq!(
        (sku["on_hand"].as_i64(), sku["reserved"].as_i64()),
        (Some(1000 - ORDERS as i64), Some(0)),
        "each unit left once"
    );
    let report = client.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["orders_captured"], ORDERS);
    assert_eq!(report["invoices_issued"], ORDERS);
    assert_eq!(
        report["open_receivables"]["EUR"], 0,
        "every payment booked exactly once: {report}"
    );
    assert_eq!(
        report["payment_mismatches"], 0,
        "no payment booked twice (that would be an overpayment): {report}"
    );
    let started = Instant::now();
    let count = || oms::demo::count_emails(&dir.path().join("outbox"));
    while count() < ORDERS && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(), ORDERS, "one invoice email per order");
    // The customer's emails too: each is named after its event, so one
    // sent again after a kill replaces its file; a missing or extra file
    // means an event lost or a notice sent under another name.
    let named = |prefix: &str| {
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count()
    };
    while (named("confirmation-") < ORDERS || named("shipment-") < ORDERS)
        && started.elapsed() < Duration::from_secs(40)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(named("confirmation-"), ORDERS, "one confirmation per order");
    assert_eq!(named("shipment-"), ORDERS, "one shipment notice per order");
    child.kill().unwrap();
    child.wait().unwrap();

    let admin = Command::new(env!("CARGO_BIN_EXE_oms"))
        .args([
            "admin",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "dead-letters",
        ])
        .output()
        .unwrap();
    assert!(admin.status.success());
    assert_eq!(
        String::from_utf8_lossy(&admin.stdout),
        "",
        "no dead letters"
    );
}
