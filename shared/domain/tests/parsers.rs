//! Every parser of outside input, fed random and mutated input: it may
//! refuse, it never panics. (Request bodies, Stripe and PayPal events,
//! signature headers and certificates, queue messages.)

use oms_domain::bank;
use oms_domain::event::Envelope;
use oms_domain::new_order::{parse_json, OrderRequest};
use oms_domain::payment_reference;
use oms_domain::paypal;
use oms_domain::signature::{sign, verify};
use oms_domain::stripe::parse_event;
use oms_domain::OrderId;
use proptest::prelude::*;

const ORDER: &str = r#"{"external_ref": "shop-1", "currency": "EUR",
 "customer": {"email": "erika@example.com", "name": "Erika Mustermann"},
 "billing_address": {"name": "Erika Mustermann", "line1": "Heidestr. 17", "postal_code": "51147", "city": "Köln", "country": "DE"},
 "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unit_price": 1299}, {"sku": "LAMP", "quantity": 1, "unit_price": 4999}],
 "shipping_price": 495, "discount": {"code": "WELCOME10", "amount": 200}, "payment_method": "card"}"#;

const STRIPE: &str = r#"{"id": "evt_1", "type": "payment_intent.succeeded",
 "data": {"object": {"id": "pi_1", "amount_received": 2893, "currency": "eur", "metadata": {"order_id": "ord_1"}}}}"#;

const REFUND_OBJECT: &str = r#"{"id": "evt_3", "type": "refund.updated",
 "data": {"object": {"id": "re_1", "amount": 500, "currency": "eur", "status": "failed", "charge": "ch_1", "payment_intent": "pi_1"}}}"#;

const DISPUTE: &str = r#"{"id": "evt_4", "type": "charge.dispute.funds_withdrawn",
 "data": {"object": {"id": "dp_1", "amount": 2893, "currency": "eur", "payment_intent": "pi_1"}}}"#;

const PAYPAL: &str = r#"{"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
 "resource": {"id": "CAP-1", "custom_id": "ord_1", "amount": {"value": "28.93", "currency_code": "EUR"}}}"#;

const REFUND: &str = r#"{"id": "evt_2", "type": "charge.refunded",
 "data": {"object": {"id": "ch_1", "amount_refunded": 500, "currency": "eur", "metadata": {"order_id": "ord_1"}}}}"#;

const CAMT053: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S1</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">28.93</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>A1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Erika</Nm></Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><AcctSvcrRef>B1</AcctSvcrRef><NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Refs><EndToEndId>E1</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls><RmtInf><Ustrd>INV-2026-000017</Ustrd></RmtInf></TxDtls>
<TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">20.00</Amt></TxAmt></AmtDtls><RmtInf><Ustrd>ord_01JDZ8Q5XK3M4N5P</Ustrd><Ustrd>6Q7R8S9T0V</Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"#;

const CAMT054: &str = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>N1</MsgId></GrpHdr><Ntfctn><Id>N1-1</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
<Ntry><NtryRef>R1</NtryRef><Amt Ccy="EUR">28.93</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<NtryDtls><TxDtls><Amt Ccy="EUR">28.93</Amt><RltdPties><Cdtr><Pty><Nm>Erika</Nm></Pty></Cdtr></RltdPties>
<RmtInf><Ustrd>RF18 5390 0754 7034</Ustrd></RmtInf><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"#;

mod mutate;
use mutate::{mutated, odd_values};

fn order(body: &[u8]) {
    if let Ok(request) = parse_json::<OrderRequest>(body) {
        let _ = request.validate();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn order_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        order(&body);
    }

    #[test]
    fn mutated_orders_never_panic(body in mutated(ORDER)) {
        order(&body);
    }

    #[test]
    fn orders_with_odd_values_never_panic(body in odd_values(ORDER)) {
        order(&body);
    }

    #[test]
    fn stripe_events_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_event(&body);
    }

    #[test]
    fn mutated_stripe_events_never_panic(body in prop_oneof![
        mutated(STRIPE), mutated(REFUND), mutated(REFUND_OBJECT), mutated(DISPUTE),
        odd_values(STRIPE), odd_values(REFUND), odd_values(REFUND_OBJECT), odd_values(DISPUTE)
    ]) {
        let _ = parse_event(&body);
    }

    #[test]
    fn signature_headers_never_panic(header in ".{0,200}", now in any::<i64>(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = verify(Some(&header), &body, b"secret", now);
    }

    #[test]
    fn well_formed_headers_with_any_timestamp_never_panic(t in any::<i64>(), now in any::<i64>(), mac in "[0-9a-f]{0,64}") {
        let _ = verify(Some(&format!("t={t},v1={mac}")), b"{}", b"secret", now);
    }

    #[test]
    fn a_signature_holds_only_for_its_own_body(body in mutated(STRIPE), t in 0i64..4_000_000_000) {
        let header = sign(b"secret", t, STRIPE.as_bytes());
        let verdict = verify(Some(&header), &body, b"secret", t);
        prop_assert_eq!(verdict.is_ok(), body == STRIPE.as_bytes());
    }

    #[test]
    fn paypal_events_never_panic(body in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), mutated(PAYPAL), odd_values(PAYPAL)]) {
        let _ = paypal::parse_event(&body);
    }

    #[test]
    fn paypal_headers_never_panic(url in ".{0,120}", time in ".{0,40}", sig in ".{0,400}", now in any::<i64>()) {
        let allowed = vec!["api.paypal.com".to_string(), "127.0.0.1:8443".to_string()];
        let _ = paypal::check_cert_url(&url, &allowed);
        let _ = paypal::check_time(&time, now);
        let _ = paypal::verify_signature(include_bytes!("../../../tests/fixtures/paypal/cert.pem"), b"m", &sig);
    }

    #[test]
    fn paypal_amounts_never_panic(value in ".{0,30}", currency in "[A-Z]{3}") {
        let _ = paypal::minor_units(&value, &currency);
    }

    #[test]
    fn payment_references_of_any_order_are_valid_and_catch_a_wrong_digit(
        id in "ord_[0-9A-Za-z_]{0,40}", at in any::<prop::sample::Index>(), with in "[0-9]"
    ) {
        let r = payment_reference::for_order(&OrderId(id));
        prop_assert!(payment_reference::is_valid(&r), "{}", r);
        // MOD 97-10 catches every substituted digit (a letter stands for two
        // digits, so letter/digit swaps are caught only almost always).
        let digits: Vec<usize> = (2..r.len()).filter(|&i| r.as_bytes()[i].is_ascii_digit()).collect();
        if !digits.is_empty() {
            let i = digits[at.index(digits.len())];
            let mut wrong = r.clone();
            wrong.replace_range(i..i + 1, &with);
            prop_assert_eq!(payment_reference::is_valid(&wrong), wrong == r);
        }
    }

    #[test]
    fn payment_reference_checks_never_panic(text in ".{0,60}") {
        let _ = payment_reference::is_valid(&text);
    }

    #[test]
    fn bank_statements_never_panic(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(CAMT053),
        mutated(CAMT054),
    ]) {
        // It may refuse; what it accepts is whole: amounts not negative,
        // currencies named, every transaction with a key.
        if let Ok(statement) = bank::parse_statement(&body) {
            for t in &statement.transactions {
                prop_assert!(t.amount >= 0);
                prop_assert!(!t.currency.is_empty());
                prop_assert!(!t.key.is_empty());
            }
        }
    }

    #[test]
    fn statement_values_may_be_anything(value in ".{0,40}", at in 0usize..6) {
        let targets = ["28.93", "CRDT", "BOOK", "A1", "RF18539007547034", "EUR"];
        let xml = CAMT053.replacen(targets[at], &quick_escape(&value), 1);
        let _ = bank::parse_statement(xml.as_bytes());
    }

    #[test]
    fn remittance_text_never_panics(text in ".{0,200}") {
        let _ = bank::candidates(&text);
    }

    #[test]
    fn queue_messages_never_panic(body in ".{0,400}") {
        let _ = Envelope::from_json(&body);
    }
}

fn quick_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

#[test]
fn the_sample_statements_read_as_expected() {
    let s = bank::parse_statement(CAMT053.as_bytes()).unwrap();
    assert_eq!((s.id.as_str(), s.version), ("M1", 2));
    let keys: Vec<&str> = s.transactions.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["A1", "B1/E1", "B1/E2"]);
    let amounts: Vec<i64> = s.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(amounts, [2893, 1000, 2000]);
    assert_eq!(
        s.transactions[0].structured_reference.as_deref(),
        Some("RF18539007547034")
    );
    assert_eq!(s.transactions[0].debtor_name.as_deref(), Some("Erika"));
    assert_eq!(
        s.transactions[2].remittance,
        "ord_01JDZ8Q5XK3M4N5P 6Q7R8S9T0V"
    );
    let n = bank::parse_statement(CAMT054.as_bytes()).unwrap();
    assert_eq!(n.version, 8);
    let r = &n.transactions[0];
    assert!(r.booked && !r.credit && r.is_return());
    assert_eq!(r.return_reason.as_deref(), Some("AC04"));
    assert_eq!(r.debtor_name.as_deref(), Some("Erika"));
    assert_eq!(r.currency, "EUR", "from the amount");
}
