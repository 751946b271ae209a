//! Items and their stock.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, Sku, TaxRate};

/// An item with its stock. `available = on_hand - reserved`, never negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkuItem {
    #[schema(value_type = String, example = "MUG-BLUE")]
    pub sku: Sku,
    pub name: String,
    #[schema(value_type = String, example = "19")]
    pub tax_rate: TaxRate,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

impl SkuItem {
    pub fn new(sku: Sku, name: String, tax_rate: TaxRate, on_hand: i64, reserved: i64) -> Self {
        SkuItem {
            sku,
            name,
            tax_rate,
            on_hand,
            reserved,
            available: (on_hand - reserved).max(0),
        }
    }
}

/// Body of `PUT /v1/skus/{sku}`: the item and its absolute stock.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// VAT in percent, at most two decimals.
    #[schema(example = "19", pattern = "^[0-9]{1,3}(\\.[0-9]{1,2})?$")]
    pub tax_rate: String,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub on_hand: i64,
}

/// A validated catalogue update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuUpdate {
    pub sku: Sku,
    pub name: String,
    pub tax_rate: TaxRate,
    pub on_hand: i64,
}

pub const MAX_ON_HAND: i64 = 1_000_000_000;

impl SkuRequest {
    pub fn validate(self, sku: &str) -> Result<SkuUpdate, FieldError> {
        let sku = Sku::parse(sku).map_err(|m| FieldError::new("sku", m))?;
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(FieldError::new("name", "name must be 1 to 200 characters"));
        }
        let tax_rate =
            TaxRate::parse(&self.tax_rate).map_err(|m| FieldError::new("tax_rate", m))?;
        if !(0..=MAX_ON_HAND).contains(&self.on_hand) {
            return Err(FieldError::new(
                "on_hand",
                format!("on_hand must be between 0 and {MAX_ON_HAND}"),
            ));
        }
        Ok(SkuUpdate {
            sku,
            name,
            tax_rate,
            on_hand: self.on_hand,
        })
    }
}
