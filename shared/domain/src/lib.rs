//! The order-management domain. Everything here is pure: no clocks, no
//! storage, no network. Time comes in as arguments; storage and messaging are
//! reached through the traits in [`ports`].

pub mod bank;
pub mod catalog;
pub mod codes;
pub mod collection;
pub mod datev;
pub mod error;
pub mod event;
pub mod exchange;
pub mod ids;
pub mod invoice;
pub mod journal;
pub mod money;
pub mod new_order;
pub mod order;
pub mod order_write;
pub mod payment;
pub mod payment_reference;
pub mod paypal;
pub mod ports;
pub mod report;
pub mod shipment;
pub mod short_pick;
pub mod signature;
pub mod stripe;
pub mod tax;

pub use error::{FieldError, StageError, StoreError};
pub use ids::{FulfillmentId, InvoiceNumber, OrderId, Sku};
pub use money::{Currency, Money};
pub use tax::TaxRate;
