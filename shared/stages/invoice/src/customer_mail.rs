//! The emails that tell a customer where their order stands: confirmation
//! (with bank details, payment reference and a GiroCode for prepayment),
//! backorder, shipment (carrier, tracking number and link), cancellation,
//! short pick, refund, and a prepayment cancelled for want of payment. In the order's language, `multipart/alternative` with
//! plain text and HTML from the templates in `templates/mail/` (MiniJinja;
//! inline CSS, the GiroCode an inline image, nothing fetched from outside).
//!
//! Each is sent when its `CustomerNotice` event is handled, under a stable
//! id (`confirmation-<order>`, …): at least once, and exactly once where
//! the transport keys by that id (the local mail folder does). See
//! docs/decisions.md, "Customer emails".

use jiff::Timestamp;
use minijinja::{context, Environment, Value};
use oms_domain::event::{Notice, Payload};
use oms_domain::order::{Locale, Order, PaymentMethod};
use oms_domain::payment_reference;
use oms_domain::ports::{Mailer, RawEmail, Store};
use oms_domain::{OrderId, StageError};
use std::sync::OnceLock;

use crate::email::Letter;
use crate::InvoiceConfig;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/mail/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "lines.html",
    "confirmation.de.txt",
    "confirmation.de.html",
    "confirmation.en.txt",
    "confirmation.en.html",
    "backorder.de.txt",
    "backorder.de.html",
    "backorder.en.txt",
    "backorder.en.html",
    "shipment.de.txt",
    "shipment.de.html",
    "shipment.en.txt",
    "shipment.en.html",
    "cancellation.de.txt",
    "cancellation.de.html",
    "cancellation.en.txt",
    "cancellation.en.html",
    "short.de.txt",
    "short.de.html",
    "short.en.txt",
    "short.en.html",
    "refund.de.txt",
    "refund.de.html",
    "refund.en.txt",
    "refund.en.html",
    "prepayment_expired.de.txt",
    "prepayment_expired.de.html",
    "prepayment_expired.en.txt",
    "prepayment_expired.en.html",
    "invoice.de.txt",
    "invoice.de.html",
    "invoice.en.txt",
    "invoice.en.html",
    "credit_note.de.txt",
    "credit_note.de.html",
    "credit_note.en.txt",
    "credit_note.en.html",
);

/// A letter from the templates: subject, plain text and HTML.
pub(crate) struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders `<kind>.<locale>.txt` and `.html` with `ctx`; the text's first
/// paragraph is the subject (also the HTML's title).
pub(crate) fn render(kind: &str, locale: Locale, ctx: Value) -> Result<Rendered, StageError> {
    let locale = match locale {
        Locale::De => "de",
        Locale::En => "en",
    };
    let ctx = context! { locale, ..ctx };
    let render = |name: String, ctx: &Value| {
        templates()
            .get_template(&name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| StageError::permanent(format!("rendering {name}: {e}")))
    };
    let text = render(format!("{kind}.{locale}.txt"), &ctx)?;
    let (subject, text) = match text.split_once("\n\n") {
        Some((s, b)) => (s.trim().to_string(), b.to_string()),
        None => (kind.to_string(), text),
    };
    let html = render(
        format!("{kind}.{locale}.html"),
        &context! { subject => &subject, ..ctx },
    )?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("the mail templates compile (a unit test renders each)");
        }
        env
    })
}

/// Where a parcel of a known carrier can be followed.
pub fn tracking_url(carrier: &str, number: &str) -> Option<String> {
    let n: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if n.is_empty() {
        return None;
    }
    let url = match carrier.trim().to_ascii_lowercase().as_str() {
        "dhl" => format!(
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={n}"
        ),
        "dpd" => format!("https://tracking.dpd.de/status/de_DE/parcel/{n}"),
        "ups" => format!("https://www.ups.com/track?tracknum={n}"),
        "gls" => format!("https://gls-group.com/DE/de/paketverfolgung?match={n}"),
        "hermes" => {
            format!("https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation#{n}")
        }
        _ => return None,
    };
    Some(url)
}

/// A PNG of the QR code of `data` (level M), 4 pixels per module with a
/// quiet zone of 4 modules.
fn qr_png(data: &str) -> Option<Vec<u8>> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M).ok()?;
    let (n, scale, quiet) = (code.width(), 4usize, 4usize);
    let side = (n + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..n {
        for x in 0..n {
            if code[(x, y)] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = (y + quiet) * scale + dy;
                    let start = row * side + (x + quiet) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(out)
}

fn payment_label(method: PaymentMethod, locale: Locale) -> &'static str {
    match (method, locale) {
        (PaymentMethod::Card, Locale::De) => "Kreditkarte",
        (PaymentMethod::Card, Locale::En) => "Card",
        (PaymentMethod::Paypal, _) => "PayPal",
        (PaymentMethod::Invoice, Locale::De) => "Rechnung",
        (PaymentMethod::Invoice, Locale::En) => "Invoice",
        (PaymentMethod::BankTransfer, Locale::De) => "Vorkasse (Überweisung)",
        (PaymentMethod::BankTransfer, Locale::En) => "Bank transfer in advance",
        (PaymentMethod::Exchange, Locale::De) => "Umtausch (mit Ihrer Gutschrift verrechnet)",
        (PaymentMethod::Exchange, Locale::En) => "Exchange (settled with your credit)",
    }
}

/// The email of `notice` for `order`, ready for the mail port. Pure.
pub fn notice_email(
    order: &Order,
    notice: Notice,
    payload: &Payload,
    config: &InvoiceConfig,
) -> Result<RawEmail, StageError> {
    let german = order.locale == Locale::De;
    let money = |m: i64| crate::email::money_in(order.locale, m, order.currency);
    let locale = if german { "de" } else { "en" };
    // The parcel a shipment notice is about (the last one for a notice
    // from before parcels were recorded).
    let parcel = match &payload.shipment_id {
        Some(sid) => order.shipments.iter().position(|s| &s.id == sid),
        None => order.shipments.len().checked_sub(1),
    }
    .filter(|_| notice == Notice::Shipment);
    // A shipment notice lists the parcel's goods at its invoice's amounts.
    let priced = parcel.map(|i| order.parcel(i));
    let shown = priced.as_ref().unwrap_or(order);
    let lines: Vec<Value> = shown
        .lines
        .iter()
        .map(|l| {
            context! {
                name => &l.name, sku => l.sku.as_str(), quantity => l.quantity,
                unit_price => money(l.unit_price), total => money(l.gross()),
            }
        })
        .collect();
    let seller = &config.seller;
    let girocode = match (notice, &seller.iban) {
        (Notice::Confirmation, Some(iban))
            if order.payment_method == PaymentMethod::BankTransfer && order.amount_due() > 0 =>
        {
            let reference = payment_reference::for_order(&order.id);
            let png = payment_reference::epc_qr_payload(
                &seller.name,
                iban,
                order.amount_due(),
                order.currency.as_str(),
                &reference,
            )
            .and_then(|payload| qr_png(&payload));
            Some((iban.clone(), reference, png))
        }
        _ => None,
    };
    let bank = girocode.as_ref().map(|(iban, reference, _)| {
        context! {
            holder => &seller.name, iban => iban,
            reference => payment_reference::printed(reference),
            amount => money(order.amount_due()),
            days => config.collection.prepayment_days,
        }
    });
    let fulfillment = order.fulfillment.as_ref();
    let (carrier, number) = match parcel.map(|i| &order.shipments[i]) {
        Some(s) => (Some(s.carrier.clone()), Some(s.tracking_number.clone())),
        None => (
            fulfillment.and_then(|f| f.carrier.clone()),
            fulfillment.and_then(|f| f.tracking_number.clone()),
        ),
    };
    // Whether more parcels follow this one: units ordered beyond those in
    // it and the parcels before it.
    let more_follow = parcel.is_some_and(|i| {
        let sent: i64 = order.shipments[..=i]
            .iter()
            .flat_map(|s| &s.lines)
            .map(|l| l.quantity)
            .sum();
        sent < order.lines.iter().map(|l| l.quantity).sum::<i64>()
    });
    let shipment = fulfillment.map(|_| {
        let carrier = carrier.unwrap_or_default();
        let number = number.unwrap_or_default();
        context! {
            tracking_url => tracking_url(&carrier, &number),
            carrier => carrier, tracking_number => number,
            parcel => parcel.map(|i| i + 1), more_follow,
        }
    });
    let labels = if german {
        context! { item => "Artikel", quantity => "Menge", amount => "Betrag", shipping => "Versand", discount => "Rabatt", total => "Gesamt (inkl. MwSt.)" }
    } else {
        context! { item => "Item", quantity => "Qty", amount => "Amount", shipping => "Shipping", discount => "Discount", total => "Total (VAT included)" }
    };
    let discount = shown.discount.as_ref().map_or(0, |d| d.amount);
    let paid = order.amount_paid();
    // The short pick a notice is about (1-based), else the last.
    let n = payload
        .sequence
        .map_or(order.short_picks.len(), |n| n as usize);
    let short = order.short_picks.get(n.wrapping_sub(1)).map(|s| {
        let cut: Vec<Value> = s
            .lines
            .iter()
            .map(|l| {
                let name = order
                    .lines
                    .iter()
                    .find(|o| o.sku == l.sku)
                    .map_or(l.sku.as_str(), |o| o.name.as_str());
                context! { sku => l.sku.as_str(), name => name, quantity => l.quantity }
            })
            .collect();
        context! { lines => cut, amount => money(s.amount), reason => &s.reason }
    });
    let overpaid = (paid - order.total).max(0);
    let ctx = context! {
        locale, labels, lines, bank, shipment,
        shop => &seller.name,
        shop_email => &seller.email,
        shop_address => format!("{}, {} {}", seller.street, seller.postal_code, seller.city),
        name => &order.customer.name,
        order_id => order.id.as_str(),
        shipping => (shown.shipping_price != 0).then(|| money(shown.shipping_price)),
        discount => (discount != 0).then(|| money(discount)),
        total => money(shown.total),
        payment => payment_label(order.payment_method, order.locale),
        refund => (paid > 0).then(|| money(paid)),
        short,
        overpaid => (overpaid > 0).then(|| money(overpaid)),
        cancelled => order.status == oms_domain::order::OrderStatus::Cancelled,
        // A cancelled replacement gave its exchange credit back to the original.
        exchange_for => order
            .exchange_for
            .as_ref()
            .filter(|_| order.timeline.iter().any(|e| e.event == "credit_returned"))
            .map(|o| o.as_str()),
        refunded => payload.amount.map(money),
        prepayment_days => config.collection.prepayment_days,
    };
    let Rendered {
        subject,
        text: body,
        html,
    } = render(notice.as_str(), order.locale, ctx)?;
    let id = match notice {
        Notice::Shipment => format!(
            "shipment-{}",
            parcel
                .map(|i| order.shipments[i].id.clone())
                .or_else(|| fulfillment.map(|f| f.id.to_string()))
                .unwrap_or_else(|| order.id.to_string())
        ),
        Notice::Refund => format!("refund-{}-{}", order.id, payload.sequence.unwrap_or(1)),
        // The name it had before the notices were templates.
        Notice::PrepaymentExpired => format!("prepayment-expired-{}", order.id),
        Notice::Short => format!(
            "short-{}-{n}",
            fulfillment
                .map(|f| f.id.as_str().to_string())
                .unwrap_or_else(|| order.id.to_string())
        ),
        other => format!("{}-{}", other.as_str(), order.id),
    };
    let mut message = Letter {
        id: id.clone(),
        to_name: &order.customer.name,
        to_email: &order.customer.email,
        subject,
        body,
        date: Timestamp::now().as_second(),
        copy_to_finance: false,
    }
    .message(config)
    .html_body(html);
    if let Some((_, _, Some(png))) = girocode {
        message = message.inline("image/png", "girocode", png);
    }
    Letter::finish(message, id, &order.customer.email, false, config)
}

/// Sends `notice` for order `id`.
pub async fn send_notice<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    id: &OrderId,
    notice: Notice,
    payload: &Payload,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let order = crate::read_order(store, id).await?;
    mailer
        .send(notice_email(&order, notice, payload, config)?)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    #[test]
    fn known_carriers_get_a_tracking_link_others_none() {
        assert_eq!(
            tracking_url("DHL", "00340434 1234").as_deref(),
            Some("https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=003404341234")
        );
        for carrier in ["dpd", "UPS", "GLS", "Hermes"] {
            assert!(
                tracking_url(carrier, "1Z999").unwrap().contains("1Z999"),
                "{carrier}"
            );
        }
        assert_eq!(tracking_url("Spedition Müller", "42"), None);
        assert_eq!(tracking_url("DHL", "<>"), None);
    }

    use crate::test_support::config;

    #[test]
    fn a_cancelled_replacement_says_the_return_credit_is_refunded() {
        let mut order = oms_domain::order::fixtures::sample_order();
        order.status = oms_domain::order::OrderStatus::Cancelled;
        // A replacement whose credit was not given back (none was applied)
        // says nothing of it.
        order.exchange_for = Some(OrderId::from("ord_original"));
        let plain =
            notice_email(&order, Notice::Cancellation, &Payload::default(), &config()).unwrap();
        order.note("credit_returned", Timestamp::UNIX_EPOCH);
        for (locale, says) in [
            (
                Locale::De,
                "Die Gutschrift aus Ihrer Rücksendung zur Bestellung ord_original",
            ),
            (
                Locale::En,
                "The credit for your return of order ord_original",
            ),
        ] {
            order.locale = locale;
            let email =
                notice_email(&order, Notice::Cancellation, &Payload::default(), &config()).unwrap();
            let parsed = mail_parser::MessageParser::default()
                .parse(&email.mime)
                .unwrap();
            assert!(parsed.body_text(0).unwrap().contains(says), "{locale:?}");
            assert!(parsed.body_html(0).unwrap().contains(says), "{locale:?}");
        }
        let plain = mail_parser::MessageParser::default()
            .parse(&plain.mime)
            .unwrap();
        assert!(!plain.body_text(0).unwrap().contains("ord_original"));
    }

    #[test]
    fn every_notice_renders_in_both_languages_as_text_and_escaped_html() {
        let mut order = oms_domain::order::fixtures::sample_order();
        order.customer.name = "Erika <b>Mustermann</b>".into();
        order.status = oms_domain::order::OrderStatus::HandedOff;
        oms_domain::short_pick::cut(
            &mut order,
            &[oms_domain::order::ReturnLine {
                sku: "MUG-BLUE".into(),
                quantity: 1,
            }],
            Some("damaged".into()),
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
        order.fulfillment = Some(oms_domain::order::Fulfillment {
            id: oms_domain::FulfillmentId::for_order(&order.id),
            status: oms_domain::order::FulfillmentStatus::Shipped,
            carrier: Some("DHL".into()),
            tracking_number: Some("00340434".into()),
        });
        for locale in [Locale::De, Locale::En] {
            order.locale = locale;
            for notice in [
                Notice::Confirmation,
                Notice::Backorder,
                Notice::Shipment,
                Notice::Cancellation,
                Notice::Short,
                Notice::Refund,
                Notice::PrepaymentExpired,
            ] {
                let email = notice_email(&order, notice, &refund_payload(), &config()).unwrap();
                let mime = String::from_utf8_lossy(&email.mime).to_string();
                assert!(
                    mime.contains("multipart/alternative"),
                    "{notice:?} {locale:?}"
                );
                assert!(mime.contains("text/plain") && mime.contains("text/html"));
                assert_eq!(
                    email.recipients,
                    [order.customer.email.clone()],
                    "no finance copy"
                );
                let parsed = mail_parser::MessageParser::default()
                    .parse(&email.mime)
                    .unwrap();
                let html = parsed.body_html(0).unwrap();
                assert!(
                    html.contains("Erika &lt;b&gt;Mustermann&lt;"),
                    "escaped: {html}"
                );
                assert!(!html.contains("<b>Mustermann"), "escaped: {html}");
                let text = parsed.body_text(0).unwrap();
                assert!(text.contains("Erika <b>Mustermann</b>"), "{text}");
                assert!(parsed.subject().unwrap().contains(order.id.as_str()));
                if notice == Notice::Shipment {
                    assert!(text.contains("piececode=00340434"), "{text}");
                    assert!(email.id.starts_with("shipment-ful_"));
                } else if notice == Notice::Refund {
                    assert_eq!(email.id, format!("refund-{}-1", order.id));
                    let amount = crate::email::money_in(locale, 500, order.currency);
                    assert!(text.contains(&amount), "{text}");
                } else if notice == Notice::PrepaymentExpired {
                    assert_eq!(email.id, format!("prepayment-expired-{}", order.id));
                    assert!(text.contains(" 7 "), "the prepayment days: {text}");
                } else if notice == Notice::Short {
                    assert!(
                        email.id.starts_with("short-ful_") && email.id.ends_with("-1"),
                        "{}",
                        email.id
                    );
                    assert!(text.contains("1 × "), "{text}");
                } else {
                    assert_eq!(email.id, format!("{}-{}", notice.as_str(), order.id));
                }
            }
        }
        let german = notice_email(
            &order_in(Locale::De),
            Notice::Confirmation,
            &Payload::default(),
            &config(),
        )
        .unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(&german.mime)
            .unwrap();
        assert!(parsed.subject().unwrap().starts_with("Ihre Bestellung"));
    }

    fn refund_payload() -> Payload {
        Payload {
            sequence: Some(1),
            amount: Some(500),
            ..Payload::default()
        }
    }

    fn order_in(locale: Locale) -> Order {
        let mut order = oms_domain::order::fixtures::sample_order();
        order.locale = locale;
        order
    }

    #[test]
    fn a_prepayment_confirmation_carries_the_bank_details_and_the_girocode_inline() {
        let mut order = order_in(Locale::De);
        order.payment_method = PaymentMethod::BankTransfer;
        let email =
            notice_email(&order, Notice::Confirmation, &Payload::default(), &config()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(&email.mime)
            .unwrap();
        let text = parsed.body_text(0).unwrap();
        let reference = payment_reference::printed(&payment_reference::for_order(&order.id));
        assert!(text.contains("DE02120300000000202051"), "{text}");
        assert!(text.contains(&reference), "{text}");
        assert!(text.contains("28,93 EUR"), "{text}");
        let html = parsed.body_html(0).unwrap();
        assert!(html.contains("cid:girocode"));
        let image = parsed
            .attachments()
            .find(|a| a.content_id() == Some("girocode"))
            .expect("the GiroCode travels inline");
        assert_eq!(&image.contents()[..4], b"\x89PNG");
        // Paid by card: no bank details, no image.
        let card = notice_email(
            &order_in(Locale::De),
            Notice::Confirmation,
            &Payload::default(),
            &config(),
        )
        .unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(&card.mime)
            .unwrap();
        assert!(!parsed.body_text(0).unwrap().contains("IBAN"));
        assert_eq!(parsed.attachments().count(), 0);
    }

    #[test]
    fn the_girocode_is_a_png() {
        let png = qr_png("BCD\n002\n1\nSCT\n\nShop\nDE02120300000000202051\nEUR1.00\n\n\nRF18\n")
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
