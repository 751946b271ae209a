//! Cancelling an order the warehouse already has, on both backends: the
//! shop asks the warehouse first (`POST <warehouse>/cancellations`, signed
//! like the hand-off). 409 "too late": the cancel is a 409 and the order
//! goes on; unreachable or any other answer: 503 and nothing changed; 200:
//! cancelled and its stock released, once. The simulated warehouse stops
//! anything it has not shipped.

use oms_domain::ports::{CancelRequest, Warehouse};
use oms_tests::*;
use serde_json::json;
use std::time::Duration;

async fn the_warehouse_decides(h: &Harness, wh: &FakeWarehouse) {
    h.stock("MUG", "19", 5).await;
    let id = h.place("cancel-after-handoff", &[("MUG", 2, 1299)]).await;
    wh.wait_for_handoffs(1).await;
    h.wait_status(&id, "handed_off").await;
    let cancel = |h: &Harness| {
        let path = format!("/v1/orders/{id}/cancel");
        let client = h.storefront.clone();
        async move { client.post(&path, &json!({})).await.unwrap() }
    };
    let held = |sku: serde_json::Value| (sku["on_hand"].clone(), sku["reserved"].clone());

    // Too late: the order goes on.
    wh.answer_cancellations(409);
    let late = cancel(h).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(late.body["error"]["code"], "conflict");
    assert_eq!(h.order(&id).await["status"], "handed_off");
    assert_eq!(held(h.sku("MUG").await), (json!(5), json!(2)));

    // No clear answer: 503, nothing changed.
    wh.answer_cancellations(500);
    let unsure = cancel(h).await;
    assert_eq!(unsure.status, 503, "{}", unsure.body);
    assert_eq!(unsure.body["error"]["code"], "unavailable");
    assert_eq!(h.order(&id).await["status"], "handed_off");
    assert_eq!(held(h.sku("MUG").await), (json!(5), json!(2)));

    // Stopped: cancelled, the stock released once.
    wh.answer_cancellations(200);
    let done = cancel(h).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "cancelled");
    assert_eq!(held(h.sku("MUG").await), (json!(5), json!(0)));
    let asked = wh.cancellations();
    assert_eq!(asked.len(), 3, "asked once per attempt");
    let (signature, raw, body) = &asked[2];
    let ful = h.order(&id).await["fulfillments"][0]["id"].clone();
    assert_eq!(body, &json!({"fulfillment_id": ful, "order_id": id}));
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        oms_domain::signature::verify(Some(signature), raw, WAREHOUSE_SECRET.as_bytes(), now),
        Ok(())
    );

    // Again: 409, the warehouse is not asked, nothing is released twice.
    let again = cancel(h).await;
    assert_eq!(again.status, 409);
    assert_eq!(wh.cancellations().len(), 3);
    assert_eq!(held(h.sku("MUG").await), (json!(5), json!(0)));
    // A shipment reported anyway is refused.
    let shipped = h
        .warehouse
        .post(
            &format!("/v1/fulfillments/{}/shipments", ful.as_str().unwrap()),
            &json!({"carrier": "DHL", "tracking_number": "00340434"}),
        )
        .await
        .unwrap();
    assert_eq!(shipped.status, 409, "{}", shipped.body);
}

#[tokio::test]
async fn the_warehouse_decides_embedded() {
    let wh = FakeWarehouse::start(0).await;
    let h = Harness::with_warehouse(&wh).await;
    the_warehouse_decides(&h, &wh).await;
}

#[tokio::test]
async fn the_warehouse_decides_on_aws() {
    let wh = FakeWarehouse::start(0).await;
    let (h, _env) = Harness::aws_with_warehouse(&wh).await;
    the_warehouse_decides(&h, &wh).await;
}

#[tokio::test]
async fn an_unreachable_warehouse_is_no_answer() {
    let wh = oms_warehouse::HttpWarehouse::new("http://127.0.0.1:9/handoff".into(), b"s".to_vec());
    let asked = wh
        .cancel(&CancelRequest {
            fulfillment_id: oms_domain::FulfillmentId::for_order(&"ord_1".into()),
            order_id: "ord_1".into(),
        })
        .await;
    assert!(asked.is_err(), "{asked:?}");
}

#[tokio::test]
async fn the_simulated_warehouse_stops_what_it_has_not_shipped() {
    let h = Harness::simulated(Duration::from_millis(1500)).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("sim-cancel", &[("MUG", 1, 1299)]).await;
    h.wait_status(&id, "handed_off").await;
    let done = h
        .storefront
        .post(&format!("/v1/orders/{id}/cancel"), &json!({}))
        .await
        .unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    // Its timer fires and ships nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let o = h.order(&id).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(h.sku("MUG").await["on_hand"], 5);
    assert!(h.outbox_files("INV-").is_empty(), "no invoice");
}

/// A warehouse that accepts the hand-off while the order is cancelled in
/// the store (as the cancel route does when it still sees `reserved`), and
/// records the cancellations it is asked for.
struct Racing {
    store: oms_embedded::Embedded,
    asked: std::sync::Mutex<Vec<oms_domain::FulfillmentId>>,
}

#[async_trait::async_trait]
impl Warehouse for Racing {
    async fn hand_off(
        &self,
        request: &oms_domain::ports::HandOff,
    ) -> Result<(), oms_domain::StageError> {
        oms_reserve::cancel_order(&self.store, &request.order_id, jiff::Timestamp::now())
            .await
            .unwrap();
        Ok(())
    }

    async fn cancel(
        &self,
        request: &CancelRequest,
    ) -> Result<oms_domain::ports::CancelAnswer, oms_domain::StageError> {
        self.asked
            .lock()
            .unwrap()
            .push(request.fulfillment_id.clone());
        Ok(oms_domain::ports::CancelAnswer::Stopped)
    }
}

#[tokio::test]
async fn a_cancel_that_overtakes_the_hand_off_reaches_the_warehouse() {
    use oms_domain::catalog::SkuUpdate;
    use oms_domain::ports::{ChangeSet, OrderWrite, Store};
    let dir = tempfile::tempdir().unwrap();
    let store =
        oms_embedded::Embedded::open(&dir.path().join("oms.db"), Default::default()).unwrap();
    store
        .put_sku(
            SkuUpdate {
                sku: "MUG-BLUE".into(),
                name: "Tasse".into(),
                tax_rate: oms_domain::TaxRate::parse("19").unwrap(),
                on_hand: 5,
            },
            Vec::new(),
        )
        .await
        .unwrap();
    let order = oms_domain::order::fixtures::sample_order();
    store
        .commit(ChangeSet {
            order: Some(OrderWrite {
                order: order.clone(),
                expected_version: None,
            }),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    oms_reserve::reserve_order(&store, &order.id, now)
        .await
        .unwrap();
    let racing = Racing {
        store: store.clone(),
        asked: Default::default(),
    };
    oms_fulfill::hand_off_order(&store, &racing, &order.id, now)
        .await
        .unwrap();
    let after = store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(after.status, oms_domain::order::OrderStatus::Cancelled);
    assert_eq!(
        *racing.asked.lock().unwrap(),
        [oms_domain::FulfillmentId::for_order(&order.id)],
        "the warehouse was told to stop"
    );
}
