//! A small client of the v1 API, used by `oms demo`, `oms bench` and the
//! end-to-end tests. It speaks HTTP exactly as a storefront, a warehouse or
//! Stripe would.

use anyhow::{Context, Result};
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    stripe_secret: Vec<u8>,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Client {
    pub fn new(base: String, key: String, stripe_secret: String) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client builds");
        Client {
            http,
            base,
            key,
            stripe_secret: stripe_secret.into_bytes(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request.send().await.context("calling the API")?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok(Answer { status, body })
    }

    pub async fn get(&self, path: &str) -> Result<Answer> {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.key),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer> {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .json(body),
        )
        .await
    }

    /// POSTs an XML document (a bank statement).
    pub async fn post_xml(&self, path: &str, xml: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.key)
                .header("content-type", "application/xml")
                .body(xml.to_string()),
        )
        .await
    }

    pub async fn put_sku(
        &self,
        sku: &str,
        name: &str,
        tax_rate: &str,
        on_hand: i64,
    ) -> Result<Answer> {
        let body = json!({"name": name, "tax_rate": tax_rate, "on_hand": on_hand});
        self.send(
            self.http
                .put(format!("{}/v1/skus/{sku}", self.base))
                .bearer_auth(&self.key)
                .json(&body),
        )
        .await
    }

    pub async fn create_order(&self, idempotency_key: &str, order: &Value) -> Result<Answer> {
        self.post_idempotent("/v1/orders", idempotency_key, order)
            .await
    }

    /// POSTs JSON under an `Idempotency-Key`: sent again, it has no
    /// further effect.
    pub async fn post_idempotent(&self, path: &str, key: &str, body: &Value) -> Result<Answer> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("idempotency-key", key)
            .json(body);
        self.send(request).await
    }

    /// Sends a `payment_intent.succeeded` event signed as Stripe signs it.
    pub async fn pay(
        &self,
        event_id: &str,
        order_id: &str,
        amount: i64,
        currency: &str,
    ) -> Result<Answer> {
        let event = json!({
            "id": event_id, "object": "event", "type": "payment_intent.succeeded",
            "data": {"object": {"id": format!("pi_{event_id}"), "object": "payment_intent", "amount_received": amount,
                                "currency": currency.to_lowercase(), "metadata": {"order_id": order_id}}}
        });
        self.stripe_event(&serde_json::to_vec(&event)?).await
    }

    pub async fn stripe_event(&self, body: &[u8]) -> Result<Answer> {
        let signature = oms_domain::signature::sign(
            &self.stripe_secret,
            jiff::Timestamp::now().as_second(),
            body,
        );
        let request = self
            .http
            .post(format!("{}/v1/payments/stripe/events", self.base))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_vec());
        self.send(request).await
    }
}

/// A plausible order for `lines` of (sku, quantity, unit price).
pub fn order_body(n: usize, lines: &[(&str, i64, i64)]) -> Value {
    json!({
        "external_ref": format!("shop-{n}"),
        "currency": "EUR",
        "customer": {"email": format!("customer{n}@example.com"), "name": format!("Kundin {n}")},
        "billing_address": {"name": format!("Kundin {n}"), "line1": "Heidestr. 17", "postal_code": "51147", "city": "Köln", "country": "DE"},
        "shipping_address": null,
        "lines": lines.iter().map(|(sku, q, p)| json!({"sku": sku, "quantity": q, "unit_price": p})).collect::<Vec<_>>(),
        "shipping_price": 495,
        "discount": {"code": "WELCOME10", "amount": 100},
        "payment_method": "card"
    })
}
