//! Test harness: a whole pipeline on the embedded backend in a temporary
//! directory, called over real HTTP on loopback, plus a fake warehouse that
//! records the hand-offs it receives.

pub mod aws;

use axum::http::{HeaderMap, StatusCode};
use oms::app::{start, Running};
use oms::client::Client;
use oms::config::Settings;
use oms_runtime::config::{Secret, WarehouseConfig};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use oms::client::order_body;

pub const ADMIN_KEY: &str = "adm_test";
pub const STOREFRONT_KEY: &str = "sf_test";
pub const WAREHOUSE_KEY: &str = "wh_test";
pub const FINANCE_KEY: &str = "fi_test";
pub const STRIPE_SECRET: &str = "whsec_test_secret";
pub const WAREHOUSE_SECRET: &str = "wh_signing_secret";

pub struct Harness {
    pub running: Running,
    pub admin: Client,
    pub storefront: Client,
    pub warehouse: Client,
    pub finance: Client,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// The pipeline with the simulated warehouse shipping after `ship_delay`.
    pub async fn simulated(ship_delay: Duration) -> Harness {
        Harness::start(|s| s.simulated_ship_delay = ship_delay).await
    }

    /// The pipeline handing off to `warehouse`, which never ships by itself.
    pub async fn with_warehouse(warehouse: &FakeWarehouse) -> Harness {
        Harness::start(hand_to(warehouse)).await
    }

    /// [`Harness::with_warehouse`] on the AWS backend.
    pub async fn aws_with_warehouse(warehouse: &FakeWarehouse) -> (Harness, aws::AwsTestEnv) {
        Harness::aws_with(Duration::from_millis(20), hand_to(warehouse)).await
    }

    /// [`Harness::aws_with_warehouse`] with the production retry policy (16
    /// deliveries, backoff up to minutes) instead of the tests' 4 quick
    /// ones: for load tests, during which the emulators stall now and then
    /// for longer than four quick attempts last.
    pub async fn aws_with_warehouse_under_load(
        warehouse: &FakeWarehouse,
    ) -> (Harness, aws::AwsTestEnv) {
        let hand = hand_to(warehouse);
        Harness::aws_with(Duration::from_millis(20), move |s| {
            hand(s);
            s.queue.max_attempts = 16;
        })
        .await
    }

    /// The pipeline on the AWS backend (DynamoDB Local, SQS and SES on
    /// moto), with fresh resources, the simulated warehouse shipping after
    /// `ship_delay`, and invoice mail sent from a sender SES knows.
    pub async fn aws(ship_delay: Duration) -> (Harness, aws::AwsTestEnv) {
        Harness::aws_with(ship_delay, |_| {}).await
    }

    /// [`Harness::aws`] with more settings changed by `adjust`.
    pub async fn aws_with(
        ship_delay: Duration,
        adjust: impl FnOnce(&mut Settings),
    ) -> (Harness, aws::AwsTestEnv) {
        let env = aws::aws_env().await;
        let prefix = env.prefix.clone();
        let h = Harness::start(move |s| {
            s.backend = oms::config::Backend::Aws { prefix };
            s.simulated_ship_delay = ship_delay;
            s.invoice.mail_from = "shop@example.com".into();
            adjust(s);
        })
        .await;
        (h, env)
    }

    pub async fn start(adjust: impl FnOnce(&mut Settings)) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::local(dir.path().to_path_buf(), "127.0.0.1:0".into());
        settings.api_keys = Some(Secret::new(format!(
            "admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY},warehouse:{WAREHOUSE_KEY},finance:{FINANCE_KEY}"
        )));
        settings.stripe_webhook_secret = Some(Secret::new(STRIPE_SECRET.into()));
        settings.invoice.finance_email = Some("finance@shop.example".into());
        settings.queue.max_attempts = 4;
        adjust(&mut settings);
        let running = start(settings).await.expect("pipeline starts");
        let client = |key: &str| Client::new(running.url(), key.into(), STRIPE_SECRET.into());
        Harness {
            admin: client(ADMIN_KEY),
            storefront: client(STOREFRONT_KEY),
            warehouse: client(WAREHOUSE_KEY),
            finance: client(FINANCE_KEY),
            http: reqwest::Client::new(),
            running,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url())
    }

    pub async fn stock(&self, sku: &str, tax_rate: &str, on_hand: i64) {
        let a = self
            .admin
            .put_sku(sku, &format!("Item {sku}"), tax_rate, on_hand)
            .await
            .unwrap();
        assert!(
            a.status == 200 || a.status == 201,
            "stocking {sku}: {} {}",
            a.status,
            a.body
        );
    }

    pub async fn sku(&self, sku: &str) -> Value {
        self.admin
            .get(&format!("/v1/skus/{sku}"))
            .await
            .unwrap()
            .body
    }

    pub async fn order(&self, id: &str) -> Value {
        self.admin
            .get(&format!("/v1/orders/{id}"))
            .await
            .unwrap()
            .body
    }

    /// An invoice or credit note as JSON; panics unless it is there.
    pub async fn invoice(&self, number: &str) -> Value {
        let a = self
            .storefront
            .get(&format!("/v1/invoices/{number}"))
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{number}: {}", a.body);
        a.body
    }

    /// Places an order and returns its id; panics unless it is captured.
    pub async fn place(&self, key: &str, lines: &[(&str, i64, i64)]) -> String {
        let a = self
            .storefront
            .create_order(key, &order_body(1, lines))
            .await
            .unwrap();
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    /// Polls the order until `done` holds; panics with the last view after 20 s.
    pub async fn wait(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let order = self.order(id).await;
            if done(&order) {
                return order;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "order {id} did not get there: {order:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        self.wait(id, |o| o["status"] == status).await
    }

    /// The invoice emails written so far, by invoice number.
    pub fn emails(&self) -> Vec<String> {
        self.outbox_files("INV-")
    }

    /// Every `.eml` in the outbox whose name starts with `prefix`.
    pub fn outbox_files(&self, prefix: &str) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.running.outbox)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(prefix))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

/// A warehouse that accepts hand-offs (after failing the first `fail_first`
/// with HTTP 503) and records each body with its signature header.
/// Settings that hand fulfillments to `warehouse`.
fn hand_to(warehouse: &FakeWarehouse) -> impl FnOnce(&mut Settings) {
    let url = warehouse.url();
    move |s| {
        s.warehouse = Some(WarehouseConfig {
            url,
            secret: Secret::new(WAREHOUSE_SECRET.into()),
        });
    }
}

/// (signature header, raw body) of each accepted hand-off.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone)]
pub struct FakeWarehouse {
    addr: std::net::SocketAddr,
    pub received: Received,
    pub calls: Arc<AtomicUsize>,
    /// (signature header, raw body) of each cancellation asked for.
    pub cancellations: Received,
    /// What `POST .../cancellations` answers (200 unless set).
    pub cancel_answer: Arc<std::sync::atomic::AtomicU16>,
}

impl FakeWarehouse {
    pub async fn start(fail_first: usize) -> FakeWarehouse {
        FakeWarehouse::answering(StatusCode::SERVICE_UNAVAILABLE, fail_first).await
    }

    /// A warehouse that answers `status` to the first `first` hand-offs,
    /// then accepts.
    pub async fn answering(status: StatusCode, first: usize) -> FakeWarehouse {
        let fail_first = first;
        let received: Received = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (rec, count) = (received.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/handoff",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (rec, count) = (rec.clone(), count.clone());
                async move {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    if n < fail_first {
                        return status;
                    }
                    let sig = headers
                        .get("x-oms-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    rec.lock().unwrap().push((sig, body.to_vec()));
                    StatusCode::ACCEPTED
                }
            }),
        );
        let cancellations: Received = Arc::new(Mutex::new(Vec::new()));
        let cancel_answer = Arc::new(std::sync::atomic::AtomicU16::new(200));
        let (asked, answer) = (cancellations.clone(), cancel_answer.clone());
        let app = app.route(
            "/handoff/cancellations",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (asked, answer) = (asked.clone(), answer.clone());
                async move {
                    let sig = headers
                        .get("x-oms-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    asked.lock().unwrap().push((sig, body.to_vec()));
                    StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeWarehouse {
            addr,
            received,
            calls,
            cancellations,
            cancel_answer,
        }
    }

    /// Makes `POST .../cancellations` answer `status` from now on.
    pub fn answer_cancellations(&self, status: u16) {
        self.cancel_answer.store(status, Ordering::SeqCst);
    }

    /// Each cancellation asked for as (signature header, raw body, parsed body).
    pub fn cancellations(&self) -> Vec<(String, Vec<u8>, Value)> {
        self.cancellations
            .lock()
            .unwrap()
            .iter()
            .map(|(s, b)| (s.clone(), b.clone(), serde_json::from_slice(b).unwrap()))
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://{}/handoff", self.addr)
    }

    /// Each hand-off as (signature header, raw body, parsed body).
    pub fn handoffs(&self) -> Vec<(String, Vec<u8>, Value)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(s, b)| (s.clone(), b.clone(), serde_json::from_slice(b).unwrap()))
            .collect()
    }

    pub async fn wait_for_handoffs(&self, n: usize) -> Vec<(String, Vec<u8>, Value)> {
        let started = Instant::now();
        while self.received.lock().unwrap().len() < n {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "only {} hand-offs",
                self.received.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.handoffs()
    }
}
