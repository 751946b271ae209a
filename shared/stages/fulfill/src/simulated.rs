//! The built-in simulated warehouse for local runs and demos: it accepts
//! every hand-off and ships it after a delay. The delay is a delayed queue
//! message, so a restart does not forget a pending shipment.

use async_trait::async_trait;
use jiff::Timestamp;
use oms_domain::event::{Envelope, EventType};
use oms_domain::ports::{CancelAnswer, CancelRequest, HandOff, Publisher, Store, Warehouse};
use oms_domain::StageError;
use std::sync::Arc;
use std::time::Duration;

use crate::{record_shipment, FulfillmentError, ShipmentRequest};

pub struct SimulatedWarehouse {
    publisher: Arc<dyn Publisher>,
    delay: Duration,
}

impl SimulatedWarehouse {
    pub fn new(publisher: Arc<dyn Publisher>, delay: Duration) -> Self {
        SimulatedWarehouse { publisher, delay }
    }
}

#[async_trait]
impl Warehouse for SimulatedWarehouse {
    async fn hand_off(&self, request: &HandOff) -> Result<(), StageError> {
        let event = Envelope::new(
            EventType::ShipmentDue,
            Some(request.order_id.clone()),
            "simulated-warehouse",
            Timestamp::now(),
        );
        self.publisher
            .publish(event, self.delay)
            .await
            .map_err(StageError::from)
    }

    /// The simulated warehouse stops anything it has not shipped: when its
    /// timer fires for a cancelled order, it ships nothing.
    async fn cancel(&self, _request: &CancelRequest) -> Result<CancelAnswer, StageError> {
        Ok(CancelAnswer::Stopped)
    }
}

/// Consumer of the simulated warehouse's queue: reports the shipment the way
/// a real warehouse does through the API.
pub async fn ship_simulated<S: Store + ?Sized>(
    store: &S,
    event: &Envelope,
) -> Result<(), StageError> {
    let order_id = event.require_order()?;
    let fulfillment = oms_domain::FulfillmentId::for_order(order_id);
    let tail = &fulfillment.as_str()[4..];
    let shipment = ShipmentRequest {
        carrier: "SIM".into(),
        tracking_number: format!("SIM-{tail}"),
        lines: None,
    };
    match record_shipment(store, &fulfillment, &shipment, Timestamp::now()).await {
        Ok(_) => Ok(()),
        // Cancelled after hand-off: a real warehouse would be told to stop too.
        Err(FulfillmentError::Conflict(_)) => Ok(()),
        Err(FulfillmentError::NotFound(id)) => {
            Err(StageError::permanent(format!("no fulfillment {id}")))
        }
        Err(FulfillmentError::Unprocessable(f)) => Err(StageError::permanent(f.message)),
        Err(e @ FulfillmentError::IdempotencyConflict(_)) => {
            Err(StageError::permanent(e.to_string()))
        }
        Err(FulfillmentError::Store(e)) => Err(e.into()),
    }
}
