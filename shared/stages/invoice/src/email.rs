//! The invoice email: a short letter in the order's language (text and
//! HTML from the templates, like the customer notices) with the PDF and the
//! EN 16931 e-invoice (UBL XML) attached, to the customer with a copy to
//! finance.

use minijinja::context;
use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::money::format_minor;
use oms_domain::order::Locale;
use oms_domain::ports::RawEmail;
use oms_domain::StageError;

use crate::customer_mail::{render, Rendered};
use crate::{render_pdf, render_ubl, InvoiceConfig};

pub fn invoice_email(inv: &Invoice, config: &InvoiceConfig) -> Result<RawEmail, StageError> {
    let pdf = render_pdf(inv);
    let xml = render_ubl(inv);
    let money = |m: i64| money_in(inv.locale, m, inv.currency);
    let (kind, corrects, exchange) = match &inv.kind {
        DocumentKind::Invoice => ("invoice", None, None),
        DocumentKind::CreditNote {
            corrects, exchange, ..
        } => ("credit_note", Some(corrects.as_str()), exchange.as_ref()),
    };
    let seller = &config.seller;
    // Bank details where something is left to pay by transfer.
    let transfer = match (&seller.iban, &inv.payment_reference) {
        (Some(iban), Some(reference)) if inv.amount_due > 0 && corrects.is_none() => {
            Some(context! {
                iban => iban,
                reference => oms_domain::payment_reference::printed(reference),
            })
        }
        _ => None,
    };
    let due_date = inv.due_date.map(|d| match inv.locale {
        Locale::De => d.strftime("%d.%m.%Y").to_string(),
        Locale::En => d.to_string(),
    });
    let ctx = context! {
        shop => &seller.name,
        shop_email => &seller.email,
        shop_address => format!("{}, {} {}", seller.street, seller.postal_code, seller.city),
        name => &inv.buyer_name,
        order_id => inv.order_id.as_str(),
        number => inv.number.as_str(),
        total => money(inv.total),
        paid => money(inv.amount_paid),
        due => money(inv.amount_due),
        due_date,
        transfer,
        corrects,
        parcel => inv.shipment_id.as_deref().and_then(|s| s.rsplit_once('-')).map(|(_, n)| n),
        exchange => exchange.map(|e| context! {
            amount => money(e.amount),
            order_id => e.replacement_order_id.as_str(),
        }),
    };
    let Rendered {
        subject,
        text,
        html,
    } = render(kind, inv.locale, ctx)?;
    let mut message = Letter {
        id: inv.number.to_string(),
        to_name: &inv.buyer_name,
        to_email: &inv.buyer_email,
        subject,
        body: text,
        date: inv.issued_at.as_second(),
        copy_to_finance: true,
    }
    .message(config)
    .html_body(html);
    message = message
        .attachment("application/pdf", format!("{}.pdf", inv.number), pdf)
        .attachment(
            "application/xml",
            format!("{}.xml", inv.number),
            xml.into_bytes(),
        );
    Letter::finish(
        message,
        inv.number.to_string(),
        &inv.buyer_email,
        true,
        config,
    )
}

/// An amount as a letter in `locale` writes it: German `1234,56 EUR`,
/// English `1234.56 EUR`.
pub(crate) fn money_in(
    locale: oms_domain::order::Locale,
    minor: i64,
    currency: oms_domain::Currency,
) -> String {
    let text = format_minor(minor, currency);
    match locale {
        oms_domain::order::Locale::De => text.replace('.', ","),
        oms_domain::order::Locale::En => text,
    }
}

/// A text email from the shop to a customer, copied to finance if asked.
pub(crate) struct Letter<'a> {
    /// Stable per content: the Message-ID and the transport's dedupe key.
    pub id: String,
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub subject: String,
    pub body: String,
    /// Seconds since the epoch.
    pub date: i64,
    pub copy_to_finance: bool,
}

impl Letter<'_> {
    pub fn message(self, config: &InvoiceConfig) -> mail_builder::MessageBuilder<'static> {
        let domain = config
            .mail_from
            .rsplit('@')
            .next()
            .unwrap_or("oms.local")
            .to_string();
        let mut message = mail_builder::MessageBuilder::new()
            .from((config.seller.name.clone(), config.mail_from.clone()))
            .to((self.to_name.to_string(), self.to_email.to_string()))
            .subject(self.subject)
            .message_id(format!("{}@{domain}", self.id))
            .date(self.date)
            .text_body(self.body);
        if let (true, Some(finance)) = (self.copy_to_finance, &config.finance_email) {
            message = message.cc(finance.clone());
        }
        message
    }

    /// The MIME bytes and the envelope recipients.
    pub fn finish(
        message: mail_builder::MessageBuilder<'_>,
        id: String,
        to_email: &str,
        copy_to_finance: bool,
        config: &InvoiceConfig,
    ) -> Result<RawEmail, StageError> {
        let mut recipients = vec![to_email.to_string()];
        if let (true, Some(finance)) = (copy_to_finance, &config.finance_email) {
            recipients.push(finance.clone());
        }
        let mime = message
            .write_to_vec()
            .map_err(|e| StageError::permanent(format!("building the email: {e}")))?;
        Ok(RawEmail {
            id,
            from: config.mail_from.clone(),
            recipients,
            mime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::config;
    use oms_domain::invoice::{build_credit_note, build_invoice, fixtures::seller};
    use oms_domain::order::fixtures::sample_order;
    use oms_domain::order::{PaymentMethod, Return, ReturnLine};
    use oms_domain::InvoiceNumber;

    fn parsed(email: &RawEmail) -> (String, String, String) {
        let m = mail_parser::MessageParser::default()
            .parse(&email.mime)
            .expect("a message");
        (
            m.subject().unwrap_or_default().to_string(),
            m.body_text(0).unwrap_or_default().to_string(),
            m.body_html(0).unwrap_or_default().to_string(),
        )
    }

    #[test]
    fn invoices_and_credit_notes_are_written_in_the_customers_language() {
        let mut o = sample_order();
        o.payment_method = PaymentMethod::Invoice;
        o.due_date = Some("2026-12-10".parse().unwrap());
        let at = o.captured_at;
        let invoice = build_invoice(&o, InvoiceNumber::new(2026, 7), at, seller());
        let (subject, text, html) = parsed(&invoice_email(&invoice, &config()).unwrap());
        assert_eq!(
            subject,
            "Rechnung INV-2026-000007 zu Ihrer Bestellung ord_TEST"
        );
        assert!(text.contains("über 28,93 EUR"), "{text}");
        assert!(text.contains("bis zum 10.12.2026"), "{text}");
        assert!(text.contains("IBAN DE02120300000000202051"), "{text}");
        assert!(html.contains("<strong>28,93 EUR</strong>"), "{html}");

        o.locale = oms_domain::order::Locale::En;
        o.ledger.received = o.total;
        let paid = build_invoice(&o, InvoiceNumber::new(2026, 8), at, seller());
        let (subject, text, _) = parsed(&invoice_email(&paid, &config()).unwrap());
        assert_eq!(subject, "Invoice INV-2026-000008 for your order ord_TEST");
        assert!(text.contains("Amount due: 0.00 EUR"), "{text}");
        assert!(
            !text.contains("Please transfer"),
            "nothing to transfer: {text}"
        );

        let ret = Return {
            id: "R1".into(),
            lines: vec![ReturnLine {
                sku: o.lines[0].sku.clone(),
                quantity: 1,
            }],
            restocked: true,
            at,
            credit_note: None,
            credit: None,
            exchange: None,
        };
        o.returns.push(ret.clone());
        let note = build_credit_note(
            &o,
            &ret,
            InvoiceNumber::new(2026, 8),
            InvoiceNumber::credit_note(2026, 1),
            at,
            seller(),
        );
        let (subject, text, _) = parsed(&invoice_email(&note, &config()).unwrap());
        assert_eq!(
            subject,
            "Credit note CN-2026-000001 for your order ord_TEST"
        );
        assert!(
            text.contains("correcting invoice INV-2026-000008"),
            "{text}"
        );
    }
}
