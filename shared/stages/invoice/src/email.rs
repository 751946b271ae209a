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
        DocumentKind::CreditNote { corrects, .. } => format!(
            "Dear {name},\n\nwe have received the goods you sent back from order {order}.\n\
             Attached is credit note {number} over {total}, correcting invoice {corrects} \
             (PDF, and as an EN 16931 e-invoice in XML). What you paid beyond what you owe now is refunded.\n\n\
             Kind regards\n{seller}\n",
            name = inv.buyer_name,
            order = inv.order_id,
            number = inv.number,
            total = money(inv.total),
            seller = inv.seller.name,
        ),
    };
    let domain = config
        .mail_from
        .rsplit('@')
        .next()
        .unwrap_or("oms.local")
        .to_string();
    let mut message = mail_builder::MessageBuilder::new()
        .from((inv.seller.name.clone(), config.mail_from.clone()))
        .to((inv.buyer_name.clone(), inv.buyer_email.clone()))
        .subject(format!(
            "{} {} for your order {}",
            document_title(inv),
            inv.number,
            inv.order_id
        ))
        .message_id(format!("{}@{domain}", inv.number))
        .date(inv.issued_at.as_second())
        .text_body(body)
        .attachment("application/pdf", format!("{}.pdf", inv.number), pdf)
        .attachment(
            "application/xml",
            format!("{}.xml", inv.number),
            xml.into_bytes(),
        );
    let mut recipients = vec![inv.buyer_email.clone()];
    if let Some(finance) = &config.finance_email {
        message = message.cc(finance.clone());
        recipients.push(finance.clone());
    }
    let mime = message
        .write_to_vec()
        .map_err(|e| StageError::permanent(format!("building the email: {e}")))?;
    Ok(RawEmail {
        id: inv.number.to_string(),
        from: config.mail_from.clone(),
        recipients,
        mime,
    })
}
