//! What an order costs on AWS, from what the AWS backend consumed in a
//! bench run. Prices are AWS list prices for us-east-1 (N. Virginia) as
//! published after the DynamoDB on-demand price cut of 2024-11-01; they are
//! written here, not fetched, so check them before relying on the dollars.

use oms_aws::UsageCounts;

/// USD per million DynamoDB on-demand write request units.
pub const DYNAMODB_PER_MILLION_WRU: f64 = 0.625;
/// USD per million DynamoDB on-demand read request units.
pub const DYNAMODB_PER_MILLION_RRU: f64 = 0.125;
/// USD per million SQS standard-queue requests (beyond the free tier).
pub const SQS_PER_MILLION_REQUESTS: f64 = 0.40;
/// USD per thousand emails sent with SES (each recipient counts as one).
pub const SES_PER_THOUSAND_EMAILS: f64 = 0.10;
/// USD per million Lambda requests.
pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// USD per GB-second of Lambda on arm64.
pub const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// USD per million API Gateway HTTP API requests (first 300 M a month).
pub const HTTP_API_PER_MILLION_REQUESTS: f64 = 1.00;
pub const PRICES_AS_OF: &str = "2024-11-01 (us-east-1 list prices)";

/// HTTP requests per order from outside: capture, the warehouse's shipment
/// report, the payment provider's webhook.
pub const HTTP_REQUESTS_PER_ORDER: f64 = 3.0;
/// Messages per order between stages: captured → reserve, reserved →
/// fulfill, shipped → invoice, payment → reconcile, and the customer's
/// confirmation and shipment notices → invoice.
pub const QUEUE_MESSAGES_PER_ORDER: f64 = 6.0;
/// Writes per order that carry outbox events (capture, reservation,
/// shipment, payment): the notices ride in the reservation's and the
/// shipment's writes.
pub const OUTBOX_WRITES_PER_ORDER: f64 = 4.0;
/// Assumed memory and mean duration of an invocation (256 MB, 50 ms).
pub const LAMBDA_GB: f64 = 0.25;
pub const LAMBDA_SECONDS: f64 = 0.05;

#[derive(Debug, Clone, Copy)]
pub struct PerOrder {
    pub write_units: f64,
    pub read_units: f64,
    pub sqs_requests: f64,
    pub ses_emails: f64,
    /// Lambda invocations if every queue batch held one message (the upper bound).
    pub invocations_worst: f64,
    /// ... and if queue and stream batches held ten (a busy shop).
    pub invocations_batched: f64,
}

impl PerOrder {
    pub fn measured(before: UsageCounts, after: UsageCounts, orders: usize) -> PerOrder {
        let n = orders.max(1) as f64;
        // Each queue message is one consumer invocation; each outbox write
        // one relay invocation (batched on the stream the same way).
        let worst = HTTP_REQUESTS_PER_ORDER + QUEUE_MESSAGES_PER_ORDER + OUTBOX_WRITES_PER_ORDER;
        let batched =
            HTTP_REQUESTS_PER_ORDER + (QUEUE_MESSAGES_PER_ORDER + OUTBOX_WRITES_PER_ORDER) / 10.0;
        PerOrder {
            write_units: (after.write_units - before.write_units) / n,
            read_units: (after.read_units - before.read_units) / n,
            sqs_requests: (after.sqs_requests - before.sqs_requests) as f64 / n,
            ses_emails: (after.ses_emails - before.ses_emails) as f64 / n,
            invocations_worst: worst,
            invocations_batched: batched,
        }
    }

    /// USD per million orders for `invocations` Lambda invocations each.
    pub fn dollars_per_million(&self, invocations: f64) -> [(&'static str, f64); 6] {
        [
            (
                "DynamoDB writes",
                self.write_units * DYNAMODB_PER_MILLION_WRU,
            ),
            ("DynamoDB reads", self.read_units * DYNAMODB_PER_MILLION_RRU),
            ("SQS", self.sqs_requests * SQS_PER_MILLION_REQUESTS),
            ("SES", self.ses_emails * 1000.0 * SES_PER_THOUSAND_EMAILS),
            (
                "Lambda",
                invocations
                    * (LAMBDA_PER_MILLION_REQUESTS
                        + 1e6 * LAMBDA_GB * LAMBDA_SECONDS * LAMBDA_ARM_PER_GB_SECOND),
            ),
            (
                "API Gateway",
                HTTP_REQUESTS_PER_ORDER * HTTP_API_PER_MILLION_REQUESTS,
            ),
        ]
    }
}

pub fn print(p: &PerOrder) {
    println!("  per order            {:.2} WRU, {:.2} RRU (DynamoDB consumed capacity), {:.2} SQS requests, {:.2} SES emails",
        p.write_units, p.read_units, p.sqs_requests, p.ses_emails);
    println!(
        "  Lambda invocations   {:.1} per order unbatched, {:.1} with batches of ten",
        p.invocations_worst, p.invocations_batched
    );
    for (label, inv) in [
        ("unbatched", p.invocations_worst),
        ("batched", p.invocations_batched),
    ] {
        let parts = p.dollars_per_million(inv);
        let total: f64 = parts.iter().map(|(_, d)| d).sum();
        let detail: Vec<String> = parts.iter().map(|(k, d)| format!("{k} {d:.2}")).collect();
        println!(
            "  USD per 1M orders    {total:>8.2} {label} ({}); prices of {PRICES_AS_OF}",
            detail.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_up_from_units_and_list_prices() {
        let before = UsageCounts::default();
        let after = UsageCounts {
            write_units: 20.0,
            read_units: 4.0,
            sqs_requests: 8,
            ses_emails: 2,
        };
        let p = PerOrder::measured(before, after, 2);
        assert_eq!(
            (p.write_units, p.read_units, p.sqs_requests, p.ses_emails),
            (10.0, 2.0, 4.0, 1.0)
        );
        let d = p.dollars_per_million(0.0);
        assert!(
            (d[0].1 - 6.25).abs() < 1e-9,
            "10 WRU × $0.625/M × 1M orders"
        );
        assert!(
            (d[3].1 - 100.0).abs() < 1e-9,
            "one email per order at $0.10 per thousand"
        );
    }
}
