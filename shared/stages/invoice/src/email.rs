//! The invoice email: a short text with the PDF and the EN 16931 e-invoice
//! (UBL XML) attached, to the customer with a copy to finance.

use oms_domain::invoice::{DocumentKind, Invoice};
use oms_domain::money::format_minor;
use oms_domain::ports::RawEmail;
use oms_domain::StageError;

use crate::{document_title, render_pdf, render_ubl, InvoiceConfig};

pub fn invoice_email(inv: &Invoice, config: &InvoiceConfig) -> Result<RawEmail, StageError> {
    let pdf = render_pdf(inv);
    let xml = render_ubl(inv);
    let money = |m: i64| format_minor(m, inv.currency);
    let body = match &inv.kind {
        DocumentKind::Invoice => format!(
            "Dear {name},\n\nthank you for your order {order}. Your goods are on their way.\n\
             Attached is invoice {number} over {total} (PDF, and as an EN 16931 e-invoice in XML).\n\
             Already paid: {paid}\nAmount due: {due}\n\nKind regards\n{seller}\n",
            name = inv.buyer_name,
            order = inv.order_id,
            number = inv.number,
            total = money(inv.total),
            paid = money(inv.amount_paid),
            due = money(inv.amount_due),
            seller = inv.seller.name,
        ),
        DocumentKind::CreditNote {
            corrects, exchange, ..
        } => format!(
            "Dear {name},\n\nwe have received the goods you sent back from order {order}.\n\
             Attached is credit note {number} over {total}, correcting invoice {corrects} \
             (PDF, and as an EN 16931 e-invoice in XML).{applied} What you paid beyond what you owe now is refunded.\n\n\
             Kind regards\n{seller}\n",
            name = inv.buyer_name,
            order = inv.order_id,
            number = inv.number,
            total = money(inv.total),
            applied = exchange.as_ref().map_or(String::new(), |e| format!(
                " Of it, {} pays for your exchange, order {}.",
                money(e.amount),
                e.replacement_order_id
            )),
            seller = inv.seller.name,
        ),
    };
    let mut message = Letter {
        id: inv.number.to_string(),
        to_name: &inv.buyer_name,
        to_email: &inv.buyer_email,
        subject: format!(
            "{} {} for your order {}",
            document_title(inv),
            inv.number,
            inv.order_id
        ),
        body,
        date: inv.issued_at.as_second(),
        copy_to_finance: true,
    }
    .message(config);
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
