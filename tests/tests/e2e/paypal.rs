//! PayPal webhooks over real HTTP: a test certificate served on loopback
//! (listed in the allowed hosts), events signed with its key the way PayPal
//! signs them. Valid ones are booked once; tampered, stale or signed by a
//! certificate from another host are refused and store nothing.

use axum::http::StatusCode;
use base64::Engine;
use oms_reconcile::PaypalConfig;
use oms_tests::Harness;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WEBHOOK_ID: &str = "WH-TEST-1";

/// Serves tests/fixtures/paypal/cert.pem and counts the downloads.
async fn cert_server() -> (String, Arc<AtomicUsize>) {
    let pem = include_bytes!("../../fixtures/paypal/cert.pem").to_vec();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/v1/notifications/certs/CERT-TEST",
        axum::routing::get(move || {
            let (pem, counter) = (pem.clone(), counter.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                pem
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("127.0.0.1:{}", addr.port()), hits)
}

struct Paypal {
    h: Harness,
    host: String,
    downloads: Arc<AtomicUsize>,
}

fn paypal_settings(host: String) -> impl FnOnce(&mut oms::config::Settings) {
    move |s| {
        s.simulated_ship_delay = Duration::from_secs(3600);
        s.paypal = Some(PaypalConfig {
            webhook_id: WEBHOOK_ID.into(),
            cert_hosts: vec![host],
        });
    }
}

async fn start() -> Paypal {
    let (host, downloads) = cert_server().await;
    let h = Harness::start(paypal_settings(host.clone())).await;
    Paypal { h, host, downloads }
}

/// The same on the AWS backend (DynamoDB Local, SQS and SES on moto).
async fn start_aws() -> (Paypal, oms_tests::aws::AwsTestEnv) {
    let (host, downloads) = cert_server().await;
    let (h, env) =
        Harness::aws_with(Duration::from_secs(3600), paypal_settings(host.clone())).await;
    (Paypal { h, host, downloads }, env)
}

fn sign(message: &str) -> String {
    let key =
        ring::signature::RsaKeyPair::from_pkcs8(include_bytes!("../../fixtures/paypal/key.pk8"))
            .unwrap();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(signature)
}

fn capture(event_id: &str, order: &str, value: &str) -> Vec<u8> {
    json!({"id": event_id, "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource_type": "capture",
           "resource": {"id": "CAP-1", "status": "COMPLETED", "custom_id": order,
                        "amount": {"value": value, "currency_code": "EUR"}}})
    .to_string()
    .into_bytes()
}

impl Paypal {
    fn cert_url(&self, host: &str) -> String {
        format!("http://{host}/v1/notifications/certs/CERT-TEST")
    }

    /// Delivers `body` signed over `signed_body` (the same for honest calls).
    async fn deliver(
        &self,
        body: &[u8],
        signed_body: &[u8],
        cert_host: &str,
        age: i64,
    ) -> (u16, Value) {
        let id = format!("tx-{}", ulid::Ulid::new());
        let time = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(age))
            .unwrap()
            .to_string();
        let message = format!("{id}|{time}|{WEBHOOK_ID}|{}", crc32fast::hash(signed_body));
        let response = self
            .h
            .http
            .post(format!(
                "{}/v1/payments/paypal/events",
                self.h.running.url()
            ))
            .header("content-type", "application/json")
            .header("paypal-transmission-id", id)
            .header("paypal-transmission-time", time)
            .header("paypal-cert-url", self.cert_url(cert_host))
            .header("paypal-auth-algo", "SHA256withRSA")
            .header("paypal-transmission-sig", sign(&message))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn euros(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[tokio::test]
async fn a_signed_capture_is_booked_once_and_a_refund_after_it() {
    booked_once_then_refunded(start().await).await;
}

#[tokio::test]
async fn a_signed_capture_is_booked_once_and_a_refund_after_it_on_aws() {
    let (p, _env) = start_aws().await;
    booked_once_then_refunded(p).await;
}

async fn booked_once_then_refunded(p: Paypal) {
    p.h.stock("MUG", "19", 5).await;
    let order = p.h.place("k1", &[("MUG", 1, 1299)]).await;
    let answer = p.h.order(&order).await;
    let due = answer["amount_due"].as_i64().unwrap();
    let reference = answer["payment_reference"].as_str().unwrap();
    assert!(
        oms_domain::payment_reference::is_valid(reference),
        "{reference}"
    );
    let body = capture("WH-EVT-1", &order, &euros(due));

    let (status, ack) = p.deliver(&body, &body, &p.host.clone(), 0).await;
    assert_eq!(
        (status, ack["duplicate"].as_bool()),
        (200, Some(false)),
        "{ack}"
    );
    let paid = p.h.wait(&order, |o| o["payment_status"] == "paid").await;
    assert_eq!(paid["amount_paid"], due);

    let (status, ack) = p.deliver(&body, &body, &p.host.clone(), 0).await;
    assert_eq!((status, ack["duplicate"].as_bool()), (200, Some(true)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(p.h.order(&order).await["amount_paid"], due, "booked once");
    assert_eq!(
        p.downloads.load(Ordering::SeqCst),
        1,
        "the certificate is kept"
    );

    let refund = json!({"id": "WH-EVT-2", "event_type": "PAYMENT.CAPTURE.REFUNDED",
        "resource": {"id": "REF-1", "custom_id": order, "amount": {"value": "5.00", "currency_code": "EUR"}}})
    .to_string()
    .into_bytes();
    let (status, _) = p.deliver(&refund, &refund, &p.host.clone(), 0).await;
    assert_eq!(status, 200);
    let refunded = p.h.wait(&order, |o| o["amount_paid"] == due - 500).await;
    assert_eq!(refunded["payment_status"], "partially_paid");
}

#[tokio::test]
async fn tampered_stale_or_foreign_certificate_events_are_refused_and_nothing_is_stored() {
    let p = start().await;
    p.h.stock("MUG", "19", 5).await;
    let order = p.h.place("k1", &[("MUG", 1, 1299)]).await;
    let honest = capture("WH-EVT-9", &order, "1.00");
    let tampered = capture("WH-EVT-9", &order, "9999.00");
    let host = p.host.clone();
    let foreign = host.replace("127.0.0.1", "127.0.0.2");
    for (what, body, cert_host, age) in [
        ("tampered", &tampered, host.as_str(), 0),
        ("stale", &honest, host.as_str(), 600),
        ("foreign host", &honest, foreign.as_str(), 0),
    ] {
        let (status, answer) = p.deliver(body, &honest, cert_host, age).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED.as_u16(),
            "{what}: {answer}"
        );
        assert_eq!(answer["error"]["code"], "invalid_signature", "{what}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let o = p.h.order(&order).await;
    assert_eq!(
        (o["amount_paid"].as_i64(), o["payment_status"].as_str()),
        (Some(0), Some("unpaid"))
    );
    // The event id was not taken by the refused deliveries: the honest one
    // still counts.
    let (status, ack) = p.deliver(&honest, &honest, &host, 0).await;
    assert_eq!((status, ack["duplicate"].as_bool()), (200, Some(false)));
}
