//! Emails to the customer about an order's payment that are not documents.

use jiff::Timestamp;
use oms_domain::money::format_minor;
use oms_domain::order::Locale;
use oms_domain::ports::{Mailer, Store};
use oms_domain::{OrderId, StageError};

use crate::email::Letter;
use crate::InvoiceConfig;

/// Tells the customer that their prepayment order was cancelled unpaid.
pub async fn send_prepayment_expired<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    id: &OrderId,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let order = crate::read_order(store, id).await?;
    let total = format_minor(order.total, order.currency);
    let days = config.collection.prepayment_days;
    let (subject, body) = match order.locale {
        Locale::De => (
            format!("Ihre Bestellung {id} wurde storniert"),
            format!(
                "Guten Tag {name},\n\nfür Ihre Bestellung {id} über {total} ist innerhalb von {days} Tagen \
                 keine Zahlung eingegangen. Wir haben die Bestellung daher storniert und die Ware wieder freigegeben.\n\
                 Sollten Sie inzwischen überwiesen haben, erstatten wir den Betrag.\n\n\
                 Mit freundlichen Grüßen\n{seller}\n",
                name = order.customer.name,
                seller = config.seller.name,
            ),
        ),
        Locale::En => (
            format!("Your order {id} was cancelled"),
            format!(
                "Dear {name},\n\nwe have not received payment for your order {id} over {total} within {days} days, \
                 so we have cancelled it and released the goods.\n\
                 If you have transferred the money meanwhile, we will refund it.\n\n\
                 Kind regards\n{seller}\n",
                name = order.customer.name,
                seller = config.seller.name,
            ),
        ),
    };
    let mail_id = format!("prepayment-expired-{id}");
    let message = Letter {
        id: mail_id.clone(),
        to_name: &order.customer.name,
        to_email: &order.customer.email,
        subject,
        body,
        date: Timestamp::now().as_second(),
        copy_to_finance: false,
    }
    .message(config);
    mailer
        .send(Letter::finish(
            message,
            mail_id,
            &order.customer.email,
            false,
            config,
        )?)
        .await
}
