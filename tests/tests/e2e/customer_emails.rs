//! The customer hears of each step, once, in their language, on both
//! backends: confirmation (with the bank details and an inline GiroCode for
//! prepayment), backorder, shipment and cancellation, each as
//! multipart/alternative with text and HTML. A notice delivered again (as
//! after a crash between sending and acknowledging) adds no second email
//! where the transport keys by the email's id (the mail folder).

use oms_domain::event::{Envelope, Notice};
use oms_domain::order::Order;
use oms_domain::ports::Store;
use oms_tests::*;
use serde_json::json;
use std::time::{Duration, Instant};

struct Placed {
    card_de: String,
    prepay_en: String,
    backordered: String,
}

async fn place(h: &Harness) -> Placed {
    h.stock("MUG", "19", 5).await;
    h.stock("LAMP", "19", 1).await;
    let card_de = h.place("mail-1", &[("MUG", 2, 1299)]).await;
    let mut body = order_body(2, &[("MUG", 1, 1299)]);
    body["payment_method"] = json!("bank_transfer");
    body["locale"] = json!("en");
    let a = h.storefront.create_order("mail-2", &body).await.unwrap();
    let prepay_en = a.body["id"].as_str().unwrap().to_string();
    let backordered = h.place("mail-3", &[("LAMP", 3, 4900)]).await;
    h.wait_status(&card_de, "shipped").await;
    // Paid, then 5.00 refunded (Stripe's figure is cumulative).
    let total = h.order(&card_de).await["total"].as_i64().unwrap();
    h.admin
        .pay("evt_mail_pay", &card_de, total, "eur")
        .await
        .unwrap();
    let refund = serde_json::to_vec(&json!({
        "id": "evt_mail_refund", "object": "event", "type": "charge.refunded",
        "data": {"object": {"id": "ch_mail", "amount_refunded": 500, "currency": "eur",
                            "metadata": {"order_id": card_de}}}
    }))
    .unwrap();
    assert_eq!(h.admin.stripe_event(&refund).await.unwrap().status, 200);
    h.wait_status(&prepay_en, "awaiting_payment").await;
    h.wait_status(&backordered, "backordered").await;
    let cancel = h
        .storefront
        .post(&format!("/v1/orders/{backordered}/cancel"), &json!({}))
        .await
        .unwrap();
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    Placed {
        card_de,
        prepay_en,
        backordered,
    }
}

/// Waits until `mails()` holds `n` emails about `order`, then a little
/// longer to see that no more come.
async fn about(mails: &impl Fn() -> Vec<String>, order: &str, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let found: Vec<String> = mails().into_iter().filter(|m| m.contains(order)).collect();
        if found.len() >= n || started.elapsed() > Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return mails().into_iter().filter(|m| m.contains(order)).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn parsed(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an email")
}

fn subjects(mails: &[String]) -> Vec<String> {
    let mut s: Vec<String> = mails
        .iter()
        .map(|m| parsed(m).subject().unwrap_or_default().to_string())
        .collect();
    s.sort();
    s
}

async fn each_step_is_told_once(h: &Harness, mails: impl Fn() -> Vec<String>) -> Placed {
    let p = place(h).await;
    let o = h.order(&p.card_de).await;
    let ful = o["fulfillments"][0]["id"].as_str().unwrap().to_string();

    // Card, German: confirmation, shipment notice and the refund, and the
    // invoice's own letter, German too.
    let card = about(&mails, &p.card_de, 4).await;
    let (invoices, notices): (Vec<String>, Vec<String>) = card.iter().cloned().partition(|m| {
        parsed(m)
            .subject()
            .unwrap_or_default()
            .starts_with("Rechnung INV-")
    });
    assert_eq!(invoices.len(), 1, "{:?}", subjects(&card));
    assert!(parsed(&invoices[0])
        .body_text(0)
        .unwrap()
        .contains("vielen Dank für Ihre Bestellung"));
    assert_eq!(
        subjects(&notices),
        [
            format!("Erstattung zu Ihrer Bestellung {}", p.card_de),
            format!("Ihre Bestellung {} ist eingegangen", p.card_de),
            format!("Ihre Bestellung {} ist unterwegs", p.card_de),
        ],
        "each once"
    );
    let refund = notices
        .iter()
        .find(|m| {
            parsed(m)
                .subject()
                .unwrap_or_default()
                .starts_with("Erstattung")
        })
        .unwrap();
    assert!(parsed(refund)
        .body_text(0)
        .unwrap()
        .contains("5,00 EUR erstattet"));
    for m in &notices {
        let mail = parsed(m);
        assert!(m.contains("multipart/alternative"));
        assert!(mail.body_html(0).unwrap().contains("<table"));
        assert!(!m.contains("finance@shop.example"), "customer only");
    }
    let shipment = notices
        .iter()
        .find(|m| {
            parsed(m)
                .subject()
                .unwrap_or_default()
                .ends_with("unterwegs")
        })
        .unwrap();
    let text = parsed(shipment).body_text(0).unwrap().to_string();
    assert!(text.contains("Versanddienst: SIM"), "{text}");
    assert!(text.contains(&format!("SIM-{}", &ful[4..])), "{text}");
    assert!(
        !text.contains("http"),
        "no link for an unknown carrier: {text}"
    );

    // Prepayment, English: the bank details and the GiroCode inline.
    let prepay = about(&mails, &p.prepay_en, 1).await;
    assert_eq!(
        prepay.len(),
        1,
        "confirmation only: {:?}",
        subjects(&prepay)
    );
    let mail = parsed(&prepay[0]);
    assert_eq!(
        mail.subject(),
        Some(format!("We have received your order {}", p.prepay_en).as_str())
    );
    let text = mail.body_text(0).unwrap();
    assert!(text.contains("IBAN: DE02120300000000202051"), "{text}");
    let reference = h.order(&p.prepay_en).await["payment_reference"]
        .as_str()
        .unwrap()
        .to_string();
    let printed = oms_domain::payment_reference::printed(&reference);
    assert!(text.contains(&printed), "{text}");
    assert!(mail.body_html(0).unwrap().contains("cid:girocode"));
    assert_eq!(mail.attachments().count(), 1, "the GiroCode image");

    // Backordered, then cancelled: confirmation, backorder, cancellation.
    let back = about(&mails, &p.backordered, 3).await;
    assert_eq!(
        subjects(&back),
        [
            format!("Ihre Bestellung {} ist eingegangen", p.backordered),
            format!("Ihre Bestellung {} wurde storniert", p.backordered),
            format!("Ihre Bestellung {}: Ware wird nachgeliefert", p.backordered),
        ]
    );
    p
}

fn outbox(h: &Harness) -> impl Fn() -> Vec<String> {
    let dir = h.running.outbox.clone();
    move || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn with_iban(s: &mut oms::config::Settings) {
    s.invoice.seller.iban = Some("DE02120300000000202051".into());
}

#[tokio::test]
async fn each_step_is_told_once_embedded() {
    let h = Harness::start(|s| {
        s.simulated_ship_delay = Duration::from_millis(20);
        with_iban(s);
    })
    .await;
    let p = each_step_is_told_once(&h, outbox(&h)).await;
    if let Ok(keep) = std::env::var("OMS_KEEP_MAIL") {
        // For looking at them: OMS_KEEP_MAIL=/some/dir.
        for entry in std::fs::read_dir(&h.running.outbox).unwrap().flatten() {
            std::fs::copy(
                entry.path(),
                std::path::Path::new(&keep).join(entry.file_name()),
            )
            .unwrap();
        }
    }
    let files = h.outbox_files("confirmation-");
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(h.outbox_files("shipment-shp_").len(), 1);
    assert_eq!(
        h.outbox_files(&format!("cancellation-{}", p.backordered))
            .len(),
        1
    );

    // The confirmation delivered again, as after a crash between the mail
    // transport's accept and the queue's acknowledgement: the mail folder
    // replaces the file; the customer has one email.
    let store = h.running.store.as_ref().unwrap();
    let order: Order = store
        .order(&oms_domain::OrderId::from(p.card_de.as_str()))
        .await
        .unwrap()
        .unwrap();
    let again = Envelope::notice(Notice::Confirmation, &order, jiff::Timestamp::now());
    let mailer = oms_embedded::MailFolder::new(h.running.outbox.clone()).unwrap();
    let mut config = oms::config::Settings::local(h.dir.path().to_path_buf(), "x".into()).invoice;
    with_iban_config(&mut config);
    for _ in 0..2 {
        oms_invoice::handle(store, &mailer, &config, &again)
            .await
            .unwrap();
    }
    assert_eq!(
        h.outbox_files(&format!("confirmation-{}", p.card_de)).len(),
        1,
        "one email per notice"
    );
}

fn with_iban_config(c: &mut oms_invoice::InvoiceConfig) {
    c.seller.iban = Some("DE02120300000000202051".into());
}

#[tokio::test]
async fn each_step_is_told_once_on_aws() {
    let (h, env) = Harness::aws_with(Duration::from_millis(20), with_iban).await;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let probe = {
        let sent = sent.clone();
        move || sent.lock().unwrap().clone()
    };
    let moto = env.moto.clone();
    let poller = tokio::spawn(async move {
        loop {
            let all = aws::sent_emails(&moto).await;
            *sent.lock().unwrap() = all;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    each_step_is_told_once(&h, probe).await;
    poller.abort();
}
