//! `oms serve` and the Lambdas read every variable with the same functions:
//! the same value means the same thing, and a bad value is refused by both.

use oms::config::Settings;
use oms_domain::event::QueueName;
use oms_runtime::Env;
use std::time::Duration;

/// What a deployed function gets from the template, complete.
fn deployed() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("OMS_TABLE", "oms"),
        ("OMS_API_KEYS", "storefront:sk_1,admin:ak_1"),
        ("OMS_STRIPE_WEBHOOK_SECRET", "whsec_1"),
        ("OMS_IDEMPOTENCY_TTL_HOURS", "168"),
        ("OMS_MAIL_FROM", "invoices@shop.example"),
        ("OMS_FINANCE_EMAIL", "finance@shop.example"),
        ("OMS_SELLER_NAME", "Shop GmbH"),
        ("OMS_SELLER_STREET", "Hauptstr. 2"),
        ("OMS_SELLER_POSTAL_CODE", "10115"),
        ("OMS_SELLER_CITY", "Berlin"),
        ("OMS_SELLER_COUNTRY", "DE"),
        ("OMS_SELLER_VAT_ID", "DE123456789"),
        ("OMS_SELLER_CONTACT_NAME", "Petra Buch"),
        ("OMS_SELLER_CONTACT_PHONE", "+49 30 1234567"),
        ("OMS_SELLER_CONTACT_EMAIL", "buchhaltung@shop.example"),
        ("OMS_WAREHOUSE_URL", "https://wh.example/handoffs"),
        ("OMS_WAREHOUSE_SECRET", "wh_1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for q in oms_aws::QUEUES {
        let (url, dlq) = oms_aws::queue_vars(q);
        vars.push((url, format!("https://sqs.example/{}", q.as_str())));
        vars.push((dlq, format!("https://sqs.example/{}-dlq", q.as_str())));
    }
    vars
}

fn with(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = deployed();
    for (k, v) in changes {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    vars
}

fn local(vars: &[(String, String)]) -> Result<Settings, String> {
    Settings::from_vars(
        "d".into(),
        "127.0.0.1:0".into(),
        None,
        Env::from_pairs(vars.to_vec()),
    )
    .map_err(|e| e.to_string())
}

fn lambda_api(vars: &[(String, String)]) -> Result<oms_lambda::config::Api, String> {
    oms_lambda::config::api(Env::from_pairs(vars.to_vec())).map_err(|e| e.to_string())
}

#[test]
fn both_entry_points_read_every_shared_variable_alike() {
    for ttl in ["0", "1", "24", "168"] {
        let vars = with(&[("OMS_IDEMPOTENCY_TTL_HOURS", ttl)]);
        let (local, lambda) = (local(&vars).unwrap(), lambda_api(&vars).unwrap());
        assert_eq!(local.idempotency_ttl, lambda.idempotency_ttl, "TTL {ttl}");
    }
    assert_eq!(
        lambda_api(&with(&[("OMS_IDEMPOTENCY_TTL_HOURS", "0")]))
            .unwrap()
            .idempotency_ttl,
        None,
        "0 hours keeps keys for ever"
    );
    assert_eq!(
        local(&with(&[("OMS_IDEMPOTENCY_TTL_HOURS", "24")]))
            .unwrap()
            .idempotency_ttl,
        Some(Duration::from_secs(86_400))
    );

    let vars = with(&[("OMS_SELLER_IBAN", "DE89 3704 0044 0532 0130 00")]);
    let (l, api) = (local(&vars).unwrap(), lambda_api(&vars).unwrap());
    let (_, invoice) = oms_lambda::config::invoice(Env::from_pairs(vars.clone())).unwrap();
    assert_eq!(l.invoice, api.invoice);
    assert_eq!(l.invoice, invoice);
    assert_eq!(
        l.invoice.seller.iban.as_deref(),
        Some("DE89370400440532013000")
    );
    assert_eq!(
        l.api_keys.as_ref().map(|k| k.expose()),
        Some(api.api_keys.expose())
    );
    assert_eq!(
        l.stripe_webhook_secret.as_ref().map(|k| k.expose()),
        Some(api.stripe_webhook_secret.expose())
    );
    let (_, warehouse) = oms_lambda::config::fulfill(Env::from_pairs(vars.clone())).unwrap();
    assert_eq!(l.warehouse, Some(warehouse));
    let report = oms_lambda::config::report(Env::from_pairs(vars.clone())).unwrap();
    assert_eq!(
        l.invoice.finance_email.as_deref(),
        Some(report.finance_email.as_str())
    );
    assert_eq!(l.invoice.mail_from, report.mail_from);

    // Collection: terms, prepayment days, dunning days and base rate.
    let vars = with(&[
        ("OMS_PAYMENT_TERMS_DAYS", "30"),
        ("OMS_PREPAYMENT_DAYS", "10"),
        ("OMS_DUNNING_DAYS", "5, 15,30"),
        ("OMS_BASE_RATE", "-0.88"),
    ]);
    let (l, api) = (local(&vars).unwrap(), lambda_api(&vars).unwrap());
    let report = oms_lambda::config::report(Env::from_pairs(vars.clone())).unwrap();
    let expected = oms_domain::collection::CollectionPolicy {
        payment_terms_days: 30,
        prepayment_days: 10,
        dunning_days: [5, 15, 30],
        base_rate_bp: Some(-88),
    };
    assert_eq!(l.invoice.collection, expected);
    assert_eq!(api.invoice.collection, expected);
    assert_eq!(report.collection, expected);
    assert_eq!(
        local(&deployed()).unwrap().invoice.collection,
        oms_domain::collection::CollectionPolicy::default()
    );

    // The chart of accounts and its overrides.
    let vars = with(&[
        ("OMS_CHART", "skr04"),
        ("OMS_ACCOUNT_CLEARING_STRIPE", "1461"),
    ]);
    let (l, api) = (local(&vars).unwrap(), lambda_api(&vars).unwrap());
    assert_eq!(l.invoice.chart, api.invoice.chart);
    let stripe = oms_domain::journal::Account::Clearing("stripe".into());
    assert_eq!(l.invoice.chart.number(&stripe), "1461");
    assert_eq!(
        l.invoice.chart.number(&oms_domain::journal::Account::Bank),
        "1800"
    );
}

#[test]
fn both_entry_points_refuse_the_same_bad_values() {
    for (name, value) in [
        ("OMS_SELLER_COUNTRY", "de"),
        ("OMS_SELLER_COUNTRY", "XX"),
        ("OMS_IDEMPOTENCY_TTL_HOURS", "a week"),
        ("OMS_IDEMPOTENCY_TTL_HOURS", "-1"),
        ("OMS_WAREHOUSE_URL", "ftp://wh.example"),
        ("OMS_WAREHOUSE_SECRET", ""),
        ("OMS_PAYMENT_TERMS_DAYS", "two weeks"),
        ("OMS_PREPAYMENT_DAYS", "99999"),
        ("OMS_DUNNING_DAYS", "7,21"),
        ("OMS_DUNNING_DAYS", "21,7,35"),
        ("OMS_BASE_RATE", "1,27"),
        ("OMS_BASE_RATE", "1.275"),
        ("OMS_CHART", "skr99"),
        ("OMS_ACCOUNT_BANK", "12-00"),
        ("OMS_TIMEZONE", "Mars/Olympus_Mons"),
        ("OMS_DATEV_CONSULTANT", "12"),
        ("OMS_DATEV_CLIENT", "100000"),
    ] {
        let vars = with(&[(name, value)]);
        let local = local(&vars).err();
        let lambda = if name.starts_with("OMS_WAREHOUSE") {
            oms_lambda::config::fulfill(Env::from_pairs(vars.clone()))
                .err()
                .map(|e| e.to_string())
        } else {
            lambda_api(&vars).err()
        };
        let (Some(local), Some(lambda)) = (local, lambda) else {
            panic!("{name}={value:?} must be refused by both");
        };
        let named = if value.is_empty() {
            "OMS_WAREHOUSE_SECRET"
        } else {
            name
        };
        assert!(local.contains(named), "{local}");
        assert!(lambda.contains(named), "{lambda}");
    }
}

#[test]
fn a_lambda_names_everything_it_misses_at_once() {
    let err = oms_lambda::config::stage(Env::default(), QueueName::Reserve)
        .unwrap_err()
        .to_string();
    for v in ["OMS_TABLE", "OMS_RESERVE_QUEUE_URL", "OMS_RESERVE_DLQ_URL"] {
        assert!(err.contains(v), "{v} in {err}");
    }
}

#[test]
fn secrets_never_reach_debug_output() {
    let settings = local(&deployed()).unwrap();
    let api = lambda_api(&deployed()).unwrap();
    let printed = format!("{settings:?} {api:?}");
    for secret in ["sk_1", "ak_1", "whsec_1", "wh_1"] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
}
