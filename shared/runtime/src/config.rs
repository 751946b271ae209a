//! One typed configuration from `OMS_*` environment variables. Every
//! variable is read by exactly one function here, so `oms serve` and every
//! Lambda give it the same meaning and the same validation. What differs is
//! only whether a variable may be left out: a local run has demo defaults, a
//! Lambda demands what it uses ([`Need`]).
//!
//! Problems are collected, not returned one by one: [`Env::done`] names
//! every missing or invalid variable at once.

use oms_domain::collection::CollectionPolicy;
use oms_domain::invoice::Seller;
use oms_domain::journal::{Chart, ChartKind};
use oms_invoice::InvoiceConfig;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A secret value: usable, but `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }
    /// The value itself; call it only where the secret is used.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Whether a variable must be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Missing is an error (a Lambda: no demo defaults in production).
    Required,
    /// Missing means the documented default (a local run).
    Defaulted,
}

/// Everything that was wrong with the configuration.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing or invalid configuration: {}", problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// As its message: a `main` that fails with it prints `Error: <message>`,
/// one line an operator can act on.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The environment, read once, and the problems found in it so far.
#[derive(Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    problems: Vec<String>,
}

impl Env {
    /// The process's `OMS_*` variables.
    pub fn from_process() -> Env {
        Env::from_pairs(std::env::vars().filter(|(k, _)| k.starts_with("OMS_")))
    }

    /// Given variables (tests, or a map from elsewhere).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            problems: Vec::new(),
        }
    }

    /// Sets `name` (a command-line flag that wins over the environment).
    pub fn set(&mut self, name: &str, value: String) {
        self.vars.insert(name.to_string(), value);
    }

    /// A set variable, trimmed; empty counts as unset.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A variable that must be set; a missing one is recorded.
    pub fn required(&mut self, name: &str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.problems.push(format!("set {name}"));
            String::new()
        })
    }

    /// `required` or `optional` by `need`; `default` when left out locally.
    pub fn text(&mut self, name: &str, need: Need, default: &str) -> String {
        match need {
            Need::Required => self.required(name),
            Need::Defaulted => self.optional(name).unwrap_or_else(|| default.to_string()),
        }
    }

    /// A whole number, `default` when unset; anything else is a problem.
    pub fn number(&mut self, name: &str, default: u64) -> u64 {
        match self.optional(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                self.invalid(name, &format!("must be a whole number, not `{v}`"));
                default
            }),
        }
    }

    /// Records that `name` has a value that cannot be used.
    pub fn invalid(&mut self, name: &str, why: &str) {
        self.problems.push(format!("{name} {why}"));
    }

    /// Ok if nothing was missing or invalid, else every problem at once.
    pub fn done(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// The seller printed on documents (`OMS_SELLER_*`, with its contact
/// `OMS_SELLER_CONTACT_NAME`, `_PHONE`, `_EMAIL`; its email is
/// `OMS_MAIL_FROM`). Locally a demo seller fills what is not set.
pub fn seller(env: &mut Env, need: Need) -> Seller {
    let seller = Seller {
        name: env.text("OMS_SELLER_NAME", need, "Example Shop GmbH"),
        street: env.text("OMS_SELLER_STREET", need, "Musterstr. 1"),
        postal_code: env.text("OMS_SELLER_POSTAL_CODE", need, "50667"),
        city: env.text("OMS_SELLER_CITY", need, "Köln"),
        country: env.text("OMS_SELLER_COUNTRY", need, "DE"),
        vat_id: env.text("OMS_SELLER_VAT_ID", need, "DE000000000"),
        email: env.text("OMS_MAIL_FROM", need, "invoices@shop.example"),
        iban: env.optional("OMS_SELLER_IBAN").map(|v| v.replace(' ', "")),
        // XRechnung wants a person, a phone number and an address to ask.
        contact: oms_domain::invoice::SellerContact {
            name: env.text("OMS_SELLER_CONTACT_NAME", need, "Buchhaltung"),
            phone: env.text("OMS_SELLER_CONTACT_PHONE", need, "+49 221 000000"),
            email: env.text("OMS_SELLER_CONTACT_EMAIL", need, "buchhaltung@shop.example"),
        },
    };
    if !seller.country.is_empty() && !oms_domain::codes::is_country(&seller.country) {
        env.invalid(
            "OMS_SELLER_COUNTRY",
            &format!(
                "must be an ISO 3166-1 alpha-2 code in upper case, not `{}`",
                seller.country
            ),
        );
    }
    seller
}

/// Who invoices are from and who gets a copy (`OMS_FINANCE_EMAIL`).
pub fn invoice(env: &mut Env, need: Need) -> InvoiceConfig {
    let seller = seller(env, need);
    InvoiceConfig {
        mail_from: seller.email.clone(),
        seller,
        finance_email: env.optional("OMS_FINANCE_EMAIL"),
        collection: collection(env),
        chart: chart(env),
        datev: datev(env),
    }
}

/// DATEV's consultant and client numbers for the export
/// (`OMS_DATEV_CONSULTANT`, 1001 to 9999999; `OMS_DATEV_CLIENT`, 1 to
/// 99999); unset: placeholders 1001 and 1.
pub fn datev(env: &mut Env) -> oms_domain::datev::DatevClient {
    let defaults = oms_domain::datev::DatevClient::default();
    let number =
        |env: &mut Env, name: &str, range: std::ops::RangeInclusive<u32>, default: u32| match env
            .optional(name)
        {
            None => default,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    env.invalid(
                        name,
                        &format!("must be a number from {} to {}", range.start(), range.end()),
                    );
                    default
                }
            },
        };
    oms_domain::datev::DatevClient {
        consultant: number(
            env,
            "OMS_DATEV_CONSULTANT",
            1001..=9_999_999,
            defaults.consultant,
        ),
        client: number(env, "OMS_DATEV_CLIENT", 1..=99_999, defaults.client),
    }
}

/// The business time zone (`OMS_TIMEZONE`, default Europe/Berlin): the
/// calendar of invoice, delivery, due, dunning and journal dates.
pub fn timezone(env: &mut Env) {
    let name = env
        .optional("OMS_TIMEZONE")
        .unwrap_or_else(|| oms_domain::collection::DEFAULT_TIMEZONE.to_string());
    if let Err(why) = oms_domain::collection::set_business_timezone(&name) {
        env.invalid("OMS_TIMEZONE", &why);
    }
}

/// The chart of accounts (`OMS_CHART`: `skr03`, the default, or `skr04`)
/// and each account's number overridden by `OMS_ACCOUNT_<NAME>` (the names
/// are in the README).
pub fn chart(env: &mut Env) -> Chart {
    let kind = match env.optional("OMS_CHART").as_deref() {
        None | Some("skr03") => ChartKind::Skr03,
        Some("skr04") => ChartKind::Skr04,
        Some(other) => {
            env.invalid(
                "OMS_CHART",
                &format!("must be skr03 or skr04, not `{other}`"),
            );
            ChartKind::Skr03
        }
    };
    let mut overrides = std::collections::BTreeMap::new();
    for (name, _, _) in Chart::defaults() {
        let var = format!("OMS_ACCOUNT_{name}");
        if let Some(number) = env.optional(&var) {
            if number.len() > 9 || !number.chars().all(|c| c.is_ascii_digit()) {
                env.invalid(&var, "must be an account number of up to 9 digits");
            } else {
                overrides.insert(name, number);
            }
        }
    }
    Chart { kind, overrides }
}

/// How money is collected: `OMS_PAYMENT_TERMS_DAYS` (14),
/// `OMS_PREPAYMENT_DAYS` (7), `OMS_DUNNING_DAYS` (`7,21,35`: days after the
/// due date for levels 1, 2, 3) and `OMS_BASE_RATE` (percent, e.g. `1.27`;
/// unset: the dated table in the code).
pub fn collection(env: &mut Env) -> CollectionPolicy {
    // Every date collection works with is a business date.
    timezone(env);
    let defaults = CollectionPolicy::default();
    let days = |env: &mut Env, name: &str, default: u32| {
        let n = env.number(name, u64::from(default));
        u32::try_from(n)
            .ok()
            .filter(|d| *d <= 3650)
            .unwrap_or_else(|| {
                env.invalid(name, "must be a number of days up to 3650");
                default
            })
    };
    let mut policy = CollectionPolicy {
        payment_terms_days: days(env, "OMS_PAYMENT_TERMS_DAYS", defaults.payment_terms_days),
        prepayment_days: days(env, "OMS_PREPAYMENT_DAYS", defaults.prepayment_days),
        ..defaults
    };
    if let Some(v) = env.optional("OMS_DUNNING_DAYS") {
        let parsed: Vec<u32> = v.split(',').filter_map(|d| d.trim().parse().ok()).collect();
        match <[u32; 3]>::try_from(parsed) {
            Ok(d) if d[0] < d[1] && d[1] < d[2] => policy.dunning_days = d,
            _ => env.invalid(
                "OMS_DUNNING_DAYS",
                &format!("must be three rising numbers of days like `7,21,35`, not `{v}`"),
            ),
        }
    }
    if let Some(v) = env.optional("OMS_BASE_RATE") {
        match percent_bp(&v) {
            Some(bp) => policy.base_rate_bp = Some(bp),
            None => env.invalid(
                "OMS_BASE_RATE",
                &format!("must be a percentage like `1.27` or `-0.88`, not `{v}`"),
            ),
        }
    }
    policy
}

/// `"1.27"` → 127 basis points.
fn percent_bp(v: &str) -> Option<i64> {
    let (negative, digits) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let bp: i64 = format!("{whole}{fraction:0<2}").parse().ok()?;
    (bp <= 10_000).then_some(if negative { -bp } else { bp })
}

/// How long an `Idempotency-Key` is remembered (`OMS_IDEMPOTENCY_TTL_HOURS`,
/// default 168 = 7 days); `0` means for ever, on every backend.
pub fn idempotency_ttl(env: &mut Env) -> Option<Duration> {
    match env.number("OMS_IDEMPOTENCY_TTL_HOURS", 168) {
        0 => None,
        hours => Some(Duration::from_secs(hours.saturating_mul(3600))),
    }
}

/// The API keys (`OMS_API_KEYS`, `role:key` comma-separated).
pub fn api_keys(env: &mut Env, need: Need) -> Option<Secret<String>> {
    match need {
        Need::Required => Some(Secret(env.required("OMS_API_KEYS"))),
        Need::Defaulted => env.optional("OMS_API_KEYS").map(Secret),
    }
}

/// Stripe's webhook signing secret (`OMS_STRIPE_WEBHOOK_SECRET`).
pub fn stripe_webhook_secret(env: &mut Env, need: Need) -> Option<Secret<String>> {
    match need {
        Need::Required => Some(Secret(env.required("OMS_STRIPE_WEBHOOK_SECRET"))),
        Need::Defaulted => env.optional("OMS_STRIPE_WEBHOOK_SECRET").map(Secret),
    }
}

/// PayPal webhooks (`OMS_PAYPAL_WEBHOOK_ID`, the id PayPal shows for the
/// webhook; `OMS_PAYPAL_CERT_HOSTS`, comma-separated `host` or `host:port`
/// entries the signing certificate may come from, default PayPal's API
/// hosts). Without a webhook id PayPal events are refused.
pub fn paypal(env: &mut Env) -> Option<oms_reconcile::PaypalConfig> {
    let webhook_id = env.optional("OMS_PAYPAL_WEBHOOK_ID")?;
    let cert_hosts = match env.optional("OMS_PAYPAL_CERT_HOSTS") {
        Some(list) => list
            .split(',')
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect(),
        None => oms_domain::paypal::DEFAULT_CERT_HOSTS
            .iter()
            .map(|h| h.to_string())
            .collect(),
    };
    Some(oms_reconcile::PaypalConfig {
        webhook_id,
        cert_hosts,
    })
}

/// A real warehouse: where hand-offs go and the key they are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseConfig {
    pub url: String,
    pub secret: Secret<String>,
}

/// The warehouse (`OMS_WAREHOUSE_URL`, `OMS_WAREHOUSE_SECRET`). A URL
/// without a secret is refused: hand-offs are always signed. `Required`:
/// the URL must be set (the fulfill Lambda has no simulated warehouse);
/// `Defaulted`: no URL means the built-in simulated warehouse (`None`).
pub fn warehouse(env: &mut Env, need: Need) -> Option<WarehouseConfig> {
    let url = match need {
        Need::Required => env.required("OMS_WAREHOUSE_URL"),
        Need::Defaulted => env.optional("OMS_WAREHOUSE_URL")?,
    };
    let secret = env.optional("OMS_WAREHOUSE_SECRET");
    if secret.is_none() {
        env.invalid(
            "OMS_WAREHOUSE_SECRET",
            "must be set when a warehouse URL is given: hand-offs are signed with it",
        );
    }
    let is_http = url.starts_with("http://") || url.starts_with("https://");
    if !url.is_empty() && !is_http {
        env.invalid(
            "OMS_WAREHOUSE_URL",
            &format!("must be an http:// or https:// URL, not `{url}`"),
        );
    }
    Some(WarehouseConfig {
        url,
        secret: Secret(secret.unwrap_or_default()),
    })
}

/// The local queues' settings: how long a taken message stays invisible
/// (`OMS_VISIBILITY_TIMEOUT_SECS`, 30) and after how many receives it is
/// dead-lettered (`OMS_MAX_ATTEMPTS`, 16; SQS's `maxReceiveCount` in AWS).
pub fn local_queues(env: &mut Env) -> (Duration, u32) {
    let visibility = Duration::from_secs(env.number("OMS_VISIBILITY_TIMEOUT_SECS", 30));
    let attempts = env.number("OMS_MAX_ATTEMPTS", 16);
    let attempts = u32::try_from(attempts).unwrap_or_else(|_| {
        env.invalid("OMS_MAX_ATTEMPTS", "is too large");
        16
    });
    if attempts == 0 {
        env.invalid("OMS_MAX_ATTEMPTS", "must be at least 1");
    }
    (visibility, attempts.max(1))
}

/// How long the simulated warehouse takes to ship (`OMS_SIM_SHIP_DELAY_MS`, 2000).
pub fn simulated_ship_delay(env: &mut Env) -> Duration {
    Duration::from_millis(env.number("OMS_SIM_SHIP_DELAY_MS", 2000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named_at_once() {
        let mut env = Env::from_pairs([
            ("OMS_SELLER_COUNTRY", "de"),
            ("OMS_IDEMPOTENCY_TTL_HOURS", "a week"),
        ]);
        seller(&mut env, Need::Required);
        idempotency_ttl(&mut env);
        let err = env.done().unwrap_err().to_string();
        for part in [
            "set OMS_SELLER_NAME",
            "set OMS_MAIL_FROM",
            "OMS_SELLER_COUNTRY must be an ISO 3166-1",
            "OMS_IDEMPOTENCY_TTL_HOURS must be a whole number",
        ] {
            assert!(err.contains(part), "{part} in {err}");
        }
    }

    #[test]
    fn zero_hours_keeps_keys_for_ever() {
        let mut env = Env::from_pairs([("OMS_IDEMPOTENCY_TTL_HOURS", "0")]);
        assert_eq!(idempotency_ttl(&mut env), None);
        let mut env = Env::from_pairs([("OMS_IDEMPOTENCY_TTL_HOURS", " 24 ")]);
        assert_eq!(idempotency_ttl(&mut env), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn secrets_are_never_printed() {
        let mut env = Env::from_pairs([
            ("OMS_WAREHOUSE_URL", "https://wh.example"),
            ("OMS_WAREHOUSE_SECRET", "s3cr3t"),
        ]);
        let wh = warehouse(&mut env, Need::Defaulted).unwrap();
        assert_eq!(wh.secret.expose(), "s3cr3t");
        assert!(!format!("{wh:?} {}", wh.secret).contains("s3cr3t"));
    }

    #[test]
    fn a_warehouse_url_without_a_secret_is_refused() {
        let mut env = Env::from_pairs([("OMS_WAREHOUSE_URL", "https://wh.example")]);
        warehouse(&mut env, Need::Defaulted);
        assert!(env
            .done()
            .unwrap_err()
            .to_string()
            .contains("OMS_WAREHOUSE_SECRET"));
        let mut env = Env::default();
        assert_eq!(warehouse(&mut env, Need::Defaulted), None);
        assert!(env.done().is_ok());
    }
}
