//! Every route of the v1 API and every error code of API.md, over HTTP.

use oms_tests::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn raw(
    h: &Harness,
    method: &str,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut r = h.http.request(method.parse().unwrap(), h.url(path));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    for (n, v) in headers {
        r = r.header(*n, *v);
    }
    if let Some(b) = body {
        r = r.header("content-type", "application/json").body(b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn skus_are_created_updated_and_read() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let a = h
        .admin
        .put_sku("MUG-BLUE", "Tasse Blau", "19", 25)
        .await
        .unwrap();
    assert_eq!(a.status, 201);
    assert_eq!(
        a.body,
        json!({"sku": "MUG-BLUE", "name": "Tasse Blau", "tax_rate": "19", "on_hand": 25, "reserved": 0, "available": 25})
    );
    let a = h
        .admin
        .put_sku("MUG-BLUE", "Tasse Blau", "7", 30)
        .await
        .unwrap();
    assert_eq!(
        (
            a.status,
            a.body["on_hand"].as_i64(),
            a.body["tax_rate"].as_str()
        ),
        (200, Some(30), Some("7"))
    );
    let sku = h.storefront.get("/v1/skus/MUG-BLUE").await.unwrap();
    assert_eq!(
        (sku.status, sku.body["available"].as_i64()),
        (200, Some(30))
    );
    assert_error(
        &raw(&h, "GET", "/v1/skus/NOPE", Some(ADMIN_KEY), &[], None).await,
        404,
        "not_found",
    );
    let bad = raw(
        &h,
        "PUT",
        "/v1/skus/MUG-BLUE",
        Some(ADMIN_KEY),
        &[],
        Some(br#"{"name":"x","tax_rate":"19%","on_hand":1}"#.to_vec()),
    )
    .await;
    assert_error(&bad, 400, "validation_failed");
    assert_eq!(bad.1["error"]["field"], "tax_rate");
    let neg = raw(
        &h,
        "PUT",
        "/v1/skus/MUG-BLUE",
        Some(ADMIN_KEY),
        &[],
        Some(br#"{"name":"x","tax_rate":"19","on_hand":-1}"#.to_vec()),
    )
    .await;
    assert_eq!(neg.1["error"]["field"], "on_hand");
    let bad_sku = raw(
        &h,
        "PUT",
        "/v1/skus/has%20space",
        Some(ADMIN_KEY),
        &[],
        Some(br#"{"name":"x","tax_rate":"19","on_hand":1}"#.to_vec()),
    )
    .await;
    assert_eq!(
        (bad_sku.0, bad_sku.1["error"]["field"].as_str()),
        (400, Some("sku"))
    );
    assert_eq!(
        h.sku("MUG-BLUE").await["on_hand"],
        30,
        "refused updates changed nothing"
    );
}

#[tokio::test]
async fn stock_cannot_be_set_below_what_is_reserved() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("k1", &[("MUG", 3, 1000)]).await;
    h.wait_status(&id, "handed_off").await;
    let below = raw(
        &h,
        "PUT",
        "/v1/skus/MUG",
        Some(ADMIN_KEY),
        &[],
        Some(br#"{"name":"M","tax_rate":"19","on_hand":2}"#.to_vec()),
    )
    .await;
    assert_error(&below, 409, "conflict");
    assert_eq!(below.1["error"]["field"], "on_hand");
    assert_eq!(h.sku("MUG").await["reserved"], 3);
}

#[tokio::test]
async fn authentication_and_roles() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    assert_error(
        &raw(&h, "GET", "/v1/skus/X", None, &[], None).await,
        401,
        "unauthorized",
    );
    assert_error(
        &raw(&h, "GET", "/v1/skus/X", Some("wrong"), &[], None).await,
        401,
        "unauthorized",
    );
    let body = Some(br#"{"name":"x","tax_rate":"19","on_hand":1}"#.to_vec());
    assert_error(
        &raw(
            &h,
            "PUT",
            "/v1/skus/X",
            Some(STOREFRONT_KEY),
            &[],
            body.clone(),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &raw(&h, "PUT", "/v1/skus/X", Some(WAREHOUSE_KEY), &[], body).await,
        403,
        "forbidden",
    );
    assert_error(
        &raw(
            &h,
            "GET",
            "/v1/reports/daily",
            Some(STOREFRONT_KEY),
            &[],
            None,
        )
        .await,
        403,
        "forbidden",
    );
    let ship = Some(br#"{"carrier":"DHL","tracking_number":"1"}"#.to_vec());
    assert_error(
        &raw(
            &h,
            "POST",
            "/v1/fulfillments/ful_x/shipments",
            Some(STOREFRONT_KEY),
            &[],
            ship,
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &raw(
            &h,
            "POST",
            "/v1/orders",
            Some(WAREHOUSE_KEY),
            &[("idempotency-key", "k")],
            Some(b"{}".to_vec()),
        )
        .await,
        403,
        "forbidden",
    );
    assert_eq!(
        h.sku("X").await["error"]["code"],
        "not_found",
        "nothing was created by refused calls"
    );
}

#[tokio::test]
async fn order_capture_validates_every_field_and_writes_nothing_on_error() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    h.stock("MUG-BLUE", "19", 10).await;
    let good = order_body(1, &[("MUG-BLUE", 2, 1299)]);
    let post = |key: &'static str, body: Vec<u8>| {
        let h = &h;
        async move {
            raw(
                h,
                "POST",
                "/v1/orders",
                Some(STOREFRONT_KEY),
                &[("idempotency-key", key)],
                Some(body),
            )
            .await
        }
    };

    let malformed = post("k-malformed", b"{\"currency\": ".to_vec()).await;
    assert_error(&malformed, 400, "validation_failed");
    assert!(malformed.1["error"].get("field").is_none());

    let mut zero = good.clone();
    zero["lines"][0]["quantity"] = json!(0);
    let a = post("k-zero", serde_json::to_vec(&zero).unwrap()).await;
    assert_error(&a, 400, "validation_failed");
    assert_eq!(a.1["error"]["field"], "lines[0].quantity");

    let mut typo = good.clone();
    typo["shiping_price"] = json!(1);
    let a = post("k-typo", serde_json::to_vec(&typo).unwrap()).await;
    assert_eq!(
        (a.0, a.1["error"]["field"].as_str()),
        (400, Some("shiping_price"))
    );

    let mut email = good.clone();
    email["customer"]["email"] = json!("not-an-email");
    assert_eq!(
        post("k-email", serde_json::to_vec(&email).unwrap()).await.1["error"]["field"],
        "customer.email"
    );

    let mut unknown = good.clone();
    unknown["lines"] = json!([{"sku": "MUG-BLUE", "quantity": 1, "unit_price": 1000}, {"sku": "GHOST", "quantity": 1, "unit_price": 1000}]);
    let a = post("k-unknown", serde_json::to_vec(&unknown).unwrap()).await;
    assert_error(&a, 422, "validation_failed");
    assert_eq!(a.1["error"]["field"], "lines[1].sku");

    let missing_key = raw(
        &h,
        "POST",
        "/v1/orders",
        Some(STOREFRONT_KEY),
        &[],
        Some(serde_json::to_vec(&good).unwrap()),
    )
    .await;
    assert_error(&missing_key, 400, "validation_failed");
    assert_eq!(missing_key.1["error"]["field"], "Idempotency-Key");

    let mut huge = serde_json::to_vec(&good).unwrap();
    huge.extend(std::iter::repeat_n(b' ', 1024 * 1024));
    assert_error(&post("k-huge", huge).await, 413, "payload_too_large");

    // None of the refused requests reserved or stored anything.
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["orders_captured"], 0);
    assert_eq!(h.sku("MUG-BLUE").await["reserved"], 0);
    // A refused key can be used for a good request afterwards.
    assert_eq!(
        post("k-zero", serde_json::to_vec(&good).unwrap()).await.0,
        201
    );
}

#[tokio::test]
async fn idempotent_replay_and_conflict() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    h.stock("MUG-BLUE", "19", 10).await;
    let body = order_body(1, &[("MUG-BLUE", 2, 1299)]);
    let first = h.storefront.create_order("same-key", &body).await.unwrap();
    assert_eq!(first.status, 201);
    assert_eq!(first.body["total"], 2 * 1299 + 495 - 100);
    assert_eq!(first.body["status"], "captured");
    // The same body, even re-serialised with other key order and spacing.
    let reordered: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&body).unwrap()).unwrap();
    let again = h
        .storefront
        .create_order("same-key", &reordered)
        .await
        .unwrap();
    assert_eq!(
        (again.status, &again.body),
        (201, &first.body),
        "the first answer again"
    );
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(3);
    let conflict = h.storefront.create_order("same-key", &other).await.unwrap();
    assert_eq!(
        (conflict.status, conflict.body["error"]["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["orders_captured"], 1);
    h.wait_status(first.body["id"].as_str().unwrap(), "handed_off")
        .await;
    assert_eq!(h.sku("MUG-BLUE").await["reserved"], 2, "reserved once");
}

#[tokio::test]
async fn parallel_requests_with_one_key_create_one_order() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    h.stock("MUG", "19", 100).await;
    let body = order_body(1, &[("MUG", 1, 1000)]);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (c, b) = (h.storefront.clone(), body.clone());
        set.spawn(async move { c.create_order("race-key", &b).await.unwrap() });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(a) = set.join_next().await {
        let a = a.unwrap();
        assert_eq!(a.status, 201);
        ids.insert(a.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(
        h.admin.get("/v1/reports/daily").await.unwrap().body["orders_captured"],
        1
    );
}

#[tokio::test]
async fn an_order_goes_from_capture_to_paid_invoice() {
    let h = Harness::simulated(Duration::from_millis(50)).await;
    h.stock("MUG-BLUE", "19", 25).await;
    h.stock("TEA", "7", 25).await;
    let id = h
        .place("life-1", &[("MUG-BLUE", 2, 1299), ("TEA", 1, 650)])
        .await;
    let shipped = h.wait(&id, |o| !o["invoice_number"].is_null()).await;
    assert_eq!(shipped["status"], "shipped");
    let f = &shipped["fulfillments"][0];
    assert_eq!(
        (f["status"].as_str(), f["carrier"].as_str()),
        (Some("shipped"), Some("SIM"))
    );
    let events: Vec<&str> = shipped["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["captured", "reserved", "handed_off", "shipped", "invoiced"]
    );
    let sku = h.sku("MUG-BLUE").await;
    assert_eq!(
        (sku["on_hand"].as_i64(), sku["reserved"].as_i64()),
        (Some(23), Some(0)),
        "shipped units left stock"
    );

    let number = shipped["invoice_number"].as_str().unwrap();
    assert!(
        number.starts_with(&format!("INV-{}-", jiff::Timestamp::now().strftime("%Y")))
            && number.len() == 15,
        "{number}"
    );
    let inv = h
        .storefront
        .get(&format!("/v1/invoices/{number}"))
        .await
        .unwrap()
        .body;
    let total = 2 * 1299 + 650 + 495 - 100;
    assert_eq!(inv["total"], total);
    assert_eq!(inv["amount_due"], total);
    assert_eq!(inv["tax_totals"].as_array().unwrap().len(), 2);
    let tax_sum: i64 = inv["tax_totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["gross"].as_i64().unwrap())
        .sum();
    assert_eq!(tax_sum, total);
    assert!(
        inv["lines"][0]["net"].as_i64().unwrap() + inv["lines"][0]["tax"].as_i64().unwrap()
            == inv["lines"][0]["gross"].as_i64().unwrap()
    );

    let pdf = h
        .http
        .get(h.url(&format!("/v1/invoices/{number}/pdf")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        bytes.windows(number.len()).any(|w| w == number.as_bytes()),
        "the PDF shows the invoice number"
    );

    let xml = h
        .http
        .get(h.url(&format!("/v1/invoices/{number}/xml")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(xml.headers()["content-type"], "application/xml");
    let xml = xml.text().await.unwrap();
    assert!(xml.contains(
        "<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</cbc:CustomizationID>"
    ));
    assert!(xml.contains(&format!("<cbc:ID>{number}</cbc:ID>")));
    let delivered = oms_domain::collection::business_date(jiff::Timestamp::now());
    assert!(
        xml.contains(&format!(
            "<cbc:ActualDeliveryDate>{delivered}</cbc:ActualDeliveryDate>"
        )),
        "the delivery date (the shipment's day)"
    );
    let cii = h
        .http
        .get(h.url(&format!("/v1/invoices/{number}/cii")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(cii.headers()["content-type"], "application/xml");
    let cii = cii.text().await.unwrap();
    assert!(cii.contains("<rsm:CrossIndustryInvoice"));
    assert!(
        cii.contains(&format!(
            "<ram:DuePayableAmount>{}.{:02}</ram:DuePayableAmount>",
            total / 100,
            total % 100
        )) || cii.contains("<ram:DuePayableAmount>0.00</ram:DuePayableAmount>")
    );
    assert!(xml.contains(&format!(
        "<cbc:PayableAmount currencyID=\"EUR\">{}.{:02}</cbc:PayableAmount>",
        total / 100,
        total % 100
    )));

    // The email went to the customer with a copy to finance, PDF and XML attached.
    let started = std::time::Instant::now();
    while h.emails().is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mail = &h.emails()[0];
    assert!(
        mail.contains("To: \"Kundin 1\" <customer1@example.com>"),
        "{mail}"
    );
    assert!(mail.contains("Cc: <finance@shop.example>"), "{mail}");
    assert!(mail.contains(&format!("filename=\"{number}.pdf\"")));
    assert!(mail.contains(&format!("filename=\"{number}.xml\"")));

    // Paying the total settles it.
    let paid = h.admin.pay("evt_life_1", &id, total, "EUR").await.unwrap();
    assert_eq!(
        (paid.status, paid.body["duplicate"].as_bool()),
        (200, Some(false))
    );
    let order = h.wait(&id, |o| o["payment_status"] == "paid").await;
    assert_eq!(
        (order["amount_paid"].as_i64(), order["amount_due"].as_i64()),
        (Some(total), Some(0))
    );
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["orders_shipped"], 1);
    assert_eq!(report["invoices_issued"], 1);
    assert_eq!(report["revenue"]["EUR"], total);
    assert_eq!(report["payments_received"]["EUR"], total);
    assert_eq!(report["open_receivables"]["EUR"], 0);
    // Seconds to the millisecond: this order shipped within a second or two.
    let max = report["order_lead_time_seconds"]["max"].as_f64().unwrap();
    assert!(max > 0.0 && max < 60.0, "{max}");
    let steps = &report["order_lead_time_by_step"];
    let step = |name: &str| steps[name]["max"].as_f64().unwrap();
    assert!(step("reserved") + step("handed_off") + step("shipped") <= max + 0.001);
}

#[tokio::test]
async fn shipments_are_idempotent_and_conflicts_are_refused() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("ship-1", &[("MUG", 2, 1000)]).await;
    let order = h.wait_status(&id, "handed_off").await;
    let ful = order["fulfillments"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/fulfillments/{ful}/shipments");
    let shipment = json!({"carrier": "DHL", "tracking_number": "00340434161094042557"});
    let first = h.warehouse.post(&path, &shipment).await.unwrap();
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (200, Some("shipped"))
    );
    let again = h.warehouse.post(&path, &shipment).await.unwrap();
    assert_eq!(again.status, 200);
    let sku = h.sku("MUG").await;
    assert_eq!(
        (sku["on_hand"].as_i64(), sku["reserved"].as_i64()),
        (Some(3), Some(0)),
        "stock moved out once"
    );
    let other = h
        .warehouse
        .post(&path, &json!({"carrier": "DHL", "tracking_number": "999"}))
        .await
        .unwrap();
    assert_eq!(
        (other.status, other.body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let missing = h
        .warehouse
        .post("/v1/fulfillments/ful_nope/shipments", &shipment)
        .await
        .unwrap();
    assert_eq!(
        (missing.status, missing.body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let bad = h
        .warehouse
        .post(&path, &json!({"carrier": "DHL"}))
        .await
        .unwrap();
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (400, Some("tracking_number"))
    );
    // Cancelling a shipped order is a conflict.
    let cancel = h
        .storefront
        .post(&format!("/v1/orders/{id}/cancel"), &Value::Null)
        .await
        .unwrap();
    assert_eq!(
        (cancel.status, cancel.body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    h.wait(&id, |o| !o["invoice_number"].is_null()).await;
}

#[tokio::test]
async fn hand_off_is_signed_and_retried_until_accepted() {
    let wh = FakeWarehouse::start(2).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("handoff-1", &[("MUG", 2, 1000)]).await;
    let handoffs = wh.wait_for_handoffs(1).await;
    assert!(
        wh.calls.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "two 503s, then accepted"
    );
    let (signature, raw, body) = &handoffs[0];
    assert_eq!(body["order_id"], id.as_str());
    assert_eq!(body["lines"], json!([{"sku": "MUG", "quantity": 2}]));
    assert_eq!(body["shipping_address"]["city"], "Köln");
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        oms_domain::signature::verify(Some(signature), raw, WAREHOUSE_SECRET.as_bytes(), now),
        Ok(())
    );
    assert!(oms_domain::signature::verify(Some(signature), raw, b"another secret", now).is_err());
    h.wait_status(&id, "handed_off").await;
}

#[tokio::test]
async fn cancel_releases_stock_once() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h
        .place("cancel-1", &[("MUG", 2, 1000), ("MUG", 1, 1000)])
        .await;
    h.wait_status(&id, "handed_off").await;
    assert_eq!(h.sku("MUG").await["reserved"], 3);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (c, id) = (h.storefront.clone(), id.clone());
        set.spawn(async move {
            c.post(&format!("/v1/orders/{id}/cancel"), &Value::Null)
                .await
                .unwrap()
                .status
        });
    }
    let mut statuses = Vec::new();
    while let Some(s) = set.join_next().await {
        statuses.push(s.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    let sku = h.sku("MUG").await;
    assert_eq!(
        (
            sku["on_hand"].as_i64(),
            sku["reserved"].as_i64(),
            sku["available"].as_i64()
        ),
        (Some(5), Some(0), Some(5))
    );
    assert_eq!(h.order(&id).await["fulfillments"][0]["status"], "cancelled");
    assert_error(
        &raw(
            &h,
            "POST",
            "/v1/orders/ord_nope/cancel",
            Some(STOREFRONT_KEY),
            &[],
            None,
        )
        .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn backorders_wait_for_stock_and_are_reserved_when_it_comes() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("LAMP", "19", 1).await;
    let first = h.place("bo-1", &[("LAMP", 1, 3999)]).await;
    h.wait_status(&first, "handed_off").await;
    let second = h.place("bo-2", &[("LAMP", 2, 3999)]).await;
    h.wait_status(&second, "backordered").await;
    assert_eq!(
        h.sku("LAMP").await["reserved"],
        1,
        "a backorder holds nothing"
    );
    let reorder = h.admin.get("/v1/reports/reorder").await.unwrap().body;
    assert_eq!(
        reorder,
        json!([{"sku": "LAMP", "name": "Item LAMP", "on_hand": 1, "reserved": 1, "backordered": 2, "to_order": 2}])
    );
    h.stock("LAMP", "19", 3).await;
    h.wait_status(&second, "handed_off").await;
    let reorder = h.admin.get("/v1/reports/reorder").await.unwrap().body;
    assert_eq!(reorder, json!([]), "nothing left to reorder");
    assert_eq!(h.sku("LAMP").await["available"], 0);
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(report["orders_backordered"], 1);
}

#[tokio::test]
async fn routes_errors_and_openapi() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    for path in [
        "/v1/nothing",
        "/v1/orders/ord_missing",
        "/v1/invoices/INV-2026-999999",
        "/v1/invoices/INV-2026-999999/pdf",
        "/v1/skus/NOPE",
    ] {
        assert_error(
            &raw(&h, "GET", path, Some(ADMIN_KEY), &[], None).await,
            404,
            "not_found",
        );
    }
    assert_error(
        &raw(&h, "DELETE", "/v1/orders/x", Some(ADMIN_KEY), &[], None).await,
        405,
        "method_not_allowed",
    );
    let bad_date = raw(
        &h,
        "GET",
        "/v1/reports/daily?date=2026-02-30",
        Some(ADMIN_KEY),
        &[],
        None,
    )
    .await;
    assert_error(&bad_date, 400, "validation_failed");
    assert_eq!(bad_date.1["error"]["field"], "date");
    let empty = raw(
        &h,
        "GET",
        "/v1/reports/daily?date=2020-01-01",
        Some(ADMIN_KEY),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (
            empty.0,
            empty.1["orders_captured"].as_u64(),
            empty.1["date"].as_str()
        ),
        (200, Some(0), Some("2020-01-01"))
    );

    let (status, doc) = raw(&h, "GET", "/openapi.json", None, &[], None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/skus/{sku}", "put"),
        ("/v1/skus/{sku}", "get"),
        ("/v1/orders", "post"),
        ("/v1/orders/{id}", "get"),
        ("/v1/orders/{id}/cancel", "post"),
        ("/v1/fulfillments/{id}/shipments", "post"),
        ("/v1/payments/stripe/events", "post"),
        ("/v1/invoices/{number}", "get"),
        ("/v1/invoices/{number}/pdf", "get"),
        ("/v1/reports/daily", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    assert!(paths
        .get("/v1/reports/daily/email")
        .and_then(|p| p.get("post"))
        .is_some());
    assert!(paths
        .get("/v1/invoices/{number}/xml")
        .and_then(|p| p.get("get"))
        .is_some());
    assert!(paths
        .get("/v1/fulfillments/{id}/returns")
        .and_then(|p| p.get("post"))
        .is_some());
    assert!(paths
        .get("/v1/reports/reorder")
        .and_then(|p| p.get("get"))
        .is_some());
    for (path, method) in [
        ("/v1/bank-statements", "post"),
        ("/v1/bank-transactions", "get"),
        ("/v1/bank-transactions/{id}/assign", "post"),
        ("/v1/dunning/run", "post"),
        ("/v1/orders/{id}/dunning-block", "post"),
        ("/v1/reports/receivables", "get"),
        ("/v1/invoices/{number}/cii", "get"),
        ("/v1/journal", "get"),
        ("/v1/exports/datev", "get"),
        ("/v1/fulfillments/{id}/short", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    assert_eq!(paths.len(), 24);
    assert!(doc["components"]["schemas"]["OrderRequest"].is_object());
}

#[tokio::test]
async fn the_daily_report_is_emailed_to_finance() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    // At start, yesterday's report is sent once.
    let yesterday = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .unwrap();
    let started = std::time::Instant::now();
    while h.outbox_files(&format!("report-{yesterday}")).is_empty()
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let scheduled = h.outbox_files(&format!("report-{yesterday}"));
    assert_eq!(scheduled.len(), 1);
    assert!(
        scheduled[0].contains("To: <finance@shop.example>"),
        "{}",
        scheduled[0]
    );

    h.stock("MUG", "19", 5).await;
    h.place("rep-1", &[("MUG", 1, 1000)]).await;
    let forbidden = raw(
        &h,
        "POST",
        "/v1/reports/daily/email",
        Some(STOREFRONT_KEY),
        &[],
        None,
    )
    .await;
    assert_error(&forbidden, 403, "forbidden");
    let sent = raw(
        &h,
        "POST",
        "/v1/reports/daily/email",
        Some(ADMIN_KEY),
        &[],
        None,
    )
    .await;
    assert_eq!((sent.0, sent.1["orders_captured"].as_u64()), (202, Some(1)));
    let today = sent.1["date"].as_str().unwrap().to_string();
    let mail = &h.outbox_files(&format!("report-{today}"))[0];
    assert!(mail.contains(&format!("Subject: Daily report {today}")));
    assert!(mail.contains("Orders captured      1"), "{mail}");
    let bad = raw(
        &h,
        "POST",
        "/v1/reports/daily/email?date=yesterday",
        Some(ADMIN_KEY),
        &[],
        None,
    )
    .await;
    assert_error(&bad, 400, "validation_failed");
}

#[tokio::test]
async fn without_a_finance_address_the_report_cannot_be_emailed() {
    let h = Harness::start(|s| s.invoice.finance_email = None).await;
    assert_error(
        &raw(
            &h,
            "POST",
            "/v1/reports/daily/email",
            Some(ADMIN_KEY),
            &[],
            None,
        )
        .await,
        409,
        "conflict",
    );
}

#[tokio::test]
async fn returns_put_units_back_into_stock_at_once_and_once() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    h.stock("TEA", "7", 5).await;
    let id = h.place("ret-1", &[("MUG", 2, 1000), ("TEA", 1, 500)]).await;
    let order = h.wait_status(&id, "handed_off").await;
    let ful = order["fulfillments"][0]["id"].as_str().unwrap().to_string();
    let returns = format!("/v1/fulfillments/{ful}/returns");
    let early = h
        .warehouse
        .post(
            &returns,
            &json!({"return_id": "RMA-0", "lines": [{"sku": "MUG", "quantity": 1}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        (early.status, early.body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "nothing shipped yet"
    );
    let shipped = h
        .warehouse
        .post(
            &format!("/v1/fulfillments/{ful}/shipments"),
            &json!({"carrier": "DHL", "tracking_number": "T1"}),
        )
        .await
        .unwrap();
    assert_eq!(shipped.status, 200);
    assert_eq!(h.sku("MUG").await["on_hand"], 3);

    let rma = json!({"return_id": "RMA-1", "lines": [{"sku": "MUG", "quantity": 1}]});
    let first = h.warehouse.post(&returns, &rma).await.unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["returns"][0]["id"], "RMA-1");
    assert_eq!(h.sku("MUG").await["available"], 4, "restocked at once");
    let again = h.warehouse.post(&returns, &rma).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(
        h.sku("MUG").await["on_hand"],
        4,
        "a repeated report restocks nothing"
    );

    let reused = h
        .warehouse
        .post(
            &returns,
            &json!({"return_id": "RMA-1", "lines": [{"sku": "TEA", "quantity": 1}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        (reused.status, reused.body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let too_many = h
        .warehouse
        .post(
            &returns,
            &json!({"return_id": "RMA-2", "lines": [{"sku": "MUG", "quantity": 2}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        (too_many.status, too_many.body["error"]["field"].as_str()),
        (422, Some("lines[0].quantity"))
    );
    let foreign = h
        .warehouse
        .post(
            &returns,
            &json!({"return_id": "RMA-3", "lines": [{"sku": "LAMP", "quantity": 1}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        (foreign.status, foreign.body["error"]["field"].as_str()),
        (422, Some("lines[0].sku"))
    );
    let bad = h
        .warehouse
        .post(&returns, &json!({"return_id": "", "lines": []}))
        .await
        .unwrap();
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (400, Some("return_id"))
    );
    let written_off = h
        .warehouse
        .post(&returns, &json!({"return_id": "RMA-4", "lines": [{"sku": "TEA", "quantity": 1}], "restock": false}))
        .await
        .unwrap();
    assert_eq!(written_off.status, 200);
    assert_eq!(
        h.sku("TEA").await["on_hand"],
        4,
        "written off, not restocked"
    );
    let missing = h
        .warehouse
        .post("/v1/fulfillments/ful_nope/returns", &rma)
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    let order = h.order(&id).await;
    assert_eq!(order["status"], "shipped");
    assert_eq!(order["returns"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_return_gets_a_credit_note_and_the_refund_settles_the_order() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    // 2 × 10.00 + 4.95 shipping − 1.00 discount = 23.95, paid in full.
    let id = h.place("cn-1", &[("MUG", 2, 1000)]).await;
    assert_eq!(
        h.admin
            .pay("evt_cn_pay", &id, 2395, "eur")
            .await
            .unwrap()
            .status,
        200
    );
    let order = h
        .wait(&id, |o| {
            o["status"] == "handed_off" && o["payment_status"] == "paid"
        })
        .await;
    let ful = order["fulfillments"][0]["id"].as_str().unwrap().to_string();
    let shipment = json!({"carrier": "DHL", "tracking_number": "T1"});
    h.warehouse
        .post(&format!("/v1/fulfillments/{ful}/shipments"), &shipment)
        .await
        .unwrap();
    let returned = json!({"return_id": "RMA-9", "lines": [{"sku": "MUG", "quantity": 1}]});
    assert_eq!(
        h.warehouse
            .post(&format!("/v1/fulfillments/{ful}/returns"), &returned)
            .await
            .unwrap()
            .status,
        200
    );

    // One mug less its half of the discount: 10.00 − 0.50.
    let order = h
        .wait(&id, |o| !o["returns"][0]["credit_note"].is_null())
        .await;
    let number = order["returns"][0]["credit_note"]
        .as_str()
        .unwrap()
        .to_string();
    let year = jiff::Timestamp::now().strftime("%Y").to_string();
    assert_eq!(number, format!("CN-{year}-000001"));
    assert_eq!(order["amount_credited"], 950);
    assert_eq!(
        (
            order["payment_status"].as_str(),
            order["amount_due"].as_i64()
        ),
        (Some("overpaid"), Some(0))
    );
    let note = h
        .storefront
        .get(&format!("/v1/invoices/{number}"))
        .await
        .unwrap()
        .body;
    assert_eq!(note["kind"]["type"], "credit_note");
    assert_eq!(note["kind"]["corrects"], order["invoice_number"]);
    assert_eq!(
        (
            note["total"].as_i64(),
            note["shipping"].as_i64(),
            note["discount"].as_i64()
        ),
        (Some(950), Some(0), Some(50))
    );
    let xml = h
        .http
        .get(h.url(&format!("/v1/invoices/{number}/xml")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert!(xml
        .text()
        .await
        .unwrap()
        .contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"));
    let started = std::time::Instant::now();
    while h.outbox_files("CN-").is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mail = &h.outbox_files("CN-")[0];
    // In the order's language (German unless it says `en`).
    assert!(
        mail.contains(&format!(
            "Subject: Gutschrift {number} zu Ihrer Bestellung {id}"
        )),
        "{mail}"
    );
    assert!(mail.contains("multipart/alternative"), "text and HTML");
    assert!(mail.contains("Cc: <finance@shop.example>"));

    // The shop refunds through Stripe: the order is settled.
    let refund = json!({"id": "evt_cn_refund", "type": "charge.refunded",
        "data": {"object": {"id": "ch_1", "amount_refunded": 950, "currency": "eur", "metadata": {"order_id": id}}}});
    assert_eq!(
        h.admin
            .stripe_event(&serde_json::to_vec(&refund).unwrap())
            .await
            .unwrap()
            .status,
        200
    );
    let order = h.wait(&id, |o| o["payment_status"] == "paid").await;
    assert_eq!(
        (order["amount_paid"].as_i64(), order["amount_due"].as_i64()),
        (Some(1445), Some(0))
    );
    let report = h.admin.get("/v1/reports/daily").await.unwrap().body;
    assert_eq!(
        report["revenue"]["EUR"],
        2395 - 950,
        "revenue net of the credit note"
    );
    assert_eq!(
        report["invoices_issued"], 1,
        "credit notes are not invoices"
    );
    assert_eq!(report["open_receivables"]["EUR"], 0);
    assert_eq!(report["payments_received"]["EUR"], 1445);
}
