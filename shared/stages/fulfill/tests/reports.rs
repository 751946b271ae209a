//! The warehouse's reports (parcels, short picks, returns with exchanges)
//! fed random and mutated bodies: parsing and checking may refuse, never
//! panic; what passes is applied to an order, which either takes it whole
//! or stays exactly as it was.

#[path = "../../../domain/tests/mutate/mod.rs"]
mod mutate;

use mutate::{mutated, odd_values};
use oms_domain::catalog::SkuItem;
use oms_domain::exchange;
use oms_domain::new_order::parse_json;
use oms_domain::order::fixtures::sample_order;
use oms_domain::order::{Fulfillment, FulfillmentStatus, Order, OrderStatus};
use oms_domain::shipment::Parcel;
use oms_domain::short_pick::cut;
use oms_domain::{FulfillmentId, Sku, TaxRate};
use oms_fulfill::{ReturnRequest, ShipmentRequest, ShortRequest};
use proptest::prelude::*;

const PARCEL: &str = r#"{"carrier": "DHL", "tracking_number": "00340434", "lines": [{"sku": "MUG-BLUE", "quantity": 1}]}"#;
const SHORT: &str = r#"{"lines": [{"sku": "MUG-BLUE", "quantity": 1}], "reason": "damaged"}"#;
const EXCHANGE: &str = r#"{"return_id": "RMA-1", "lines": [{"sku": "MUG-BLUE", "quantity": 1}], "restock": true, "exchange": [{"sku": "MUG-RED", "quantity": 2, "unit_price": 1500}, {"sku": "MUG-BLUE", "quantity": 1}]}"#;

fn held() -> Order {
    let mut o = sample_order();
    o.status = OrderStatus::HandedOff;
    o.fulfillment = Some(Fulfillment {
        id: FulfillmentId::from("ful_TEST"),
        status: FulfillmentStatus::HandedOff,
        carrier: None,
        tracking_number: None,
    });
    o
}

fn parcel(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(request) = parse_json::<ShipmentRequest>(body) else {
        return Ok(());
    };
    if request.validate().is_err() {
        return Ok(());
    }
    let mut order = held();
    let before = order.clone();
    let parcel = Parcel {
        carrier: request.carrier,
        tracking_number: request.tracking_number,
        lines: request.lines,
    };
    match order.ship(parcel, jiff::Timestamp::UNIX_EPOCH) {
        Err(_) => prop_assert_eq!(order, before),
        Ok(_) => {
            let shipped = order.shipped_units();
            for (sku, n) in order.units_per_sku() {
                prop_assert!(shipped.get(&sku).copied().unwrap_or(0) <= n);
            }
        }
    }
    Ok(())
}

fn short(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(request) = parse_json::<ShortRequest>(body) else {
        return Ok(());
    };
    if request.validate().is_err() {
        return Ok(());
    }
    let mut order = held();
    let before = order.clone();
    match cut(
        &mut order,
        &request.lines,
        request.reason,
        jiff::Timestamp::UNIX_EPOCH,
    ) {
        Err(_) => prop_assert_eq!(order, before),
        Ok(_) => prop_assert!(order.total <= before.total && order.total >= 0),
    }
    Ok(())
}

fn exchange_body(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(request) = parse_json::<ReturnRequest>(body) else {
        return Ok(());
    };
    if request.validate().is_err() {
        return Ok(());
    }
    let catalogue = ["MUG-BLUE", "MUG-RED"]
        .into_iter()
        .map(|s| {
            let item = SkuItem {
                sku: Sku::from(s),
                name: s.into(),
                tax_rate: TaxRate::parse("19").unwrap(),
                on_hand: 5,
                reserved: 0,
                available: 5,
            };
            (Sku::from(s), item)
        })
        .collect();
    if let Some(asked) = &request.exchange {
        if let Ok(lines) = exchange::price(asked, &catalogue, 2499, false) {
            let units: i64 = lines.iter().map(|l| l.quantity).sum();
            prop_assert_eq!(units, asked.iter().map(|l| l.quantity).sum::<i64>());
            prop_assert!(lines.iter().all(|l| l.unit_price >= 0));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parcels_never_panic(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256), mutated(PARCEL), odd_values(PARCEL)
    ]) {
        parcel(&body)?;
    }

    #[test]
    fn short_picks_never_panic(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256), mutated(SHORT), odd_values(SHORT)
    ]) {
        short(&body)?;
    }

    #[test]
    fn returns_with_exchanges_never_panic(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256), mutated(EXCHANGE), odd_values(EXCHANGE)
    ]) {
        exchange_body(&body)?;
    }
}
