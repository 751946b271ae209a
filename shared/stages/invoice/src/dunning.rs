//! Dunning: the daily run moves each overdue invoice one level up when its
//! day has come, and the notice goes out through the invoice queue (written
//! in the same change as the level, so it is sent at least once and the
//! level is reached once, however often or concurrently the run goes).

use futures_util::stream::{self, StreamExt, TryStreamExt};
use jiff::civil::Date;
use jiff::Timestamp;
use oms_domain::collection::{next_step, CollectionPolicy, Receivable};
use oms_domain::event::{Envelope, EventType, Payload};
use oms_domain::journal;
use oms_domain::order::{DunningNotice, Locale, Order};
use oms_domain::order_write::{commit_order, next_version, update_order, OrderKey, Round};
use oms_domain::ports::{ChangeSet, Mailer, Store};
use oms_domain::{payment_reference, OrderId, StageError};
use serde::Serialize;

/// How many orders a run dunns at once.
const IN_FLIGHT: usize = 16;
/// How many orders' futures exist at a time.
const CHUNK: usize = 512;

use crate::email::Letter;
use crate::{render_pdf, InvoiceConfig};

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DunningRun {
    pub date: Date,
    /// Open receivables looked at.
    pub checked: u64,
    /// Orders moved up, with the level each reached.
    pub notices: Vec<DunningStepTaken>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DunningStepTaken {
    pub order_id: String,
    pub level: u8,
}

/// Runs dunning for `today` over every open receivable.
pub async fn run<S: Store + ?Sized>(
    store: &S,
    policy: &CollectionPolicy,
    today: Date,
    now: Timestamp,
) -> Result<DunningRun, StageError> {
    let open = store.receivables().await?;
    let mut report = DunningRun {
        date: today,
        checked: open.len() as u64,
        notices: Vec::new(),
    };
    // Orders are independent (each moves by an optimistic write of its
    // own), so several are dunned at once; the futures are made a chunk at
    // a time, as 100,000 of them at once would take a gigabyte.
    let due: Vec<&Receivable> = open
        .iter()
        .filter(|r| r.may_be_dunned(today, policy))
        .collect();
    for chunk in due.chunks(CHUNK) {
        let work: Vec<_> = chunk
            .iter()
            .map(|r| dun_order(store, &r.order_id, policy, today, now))
            .collect();
        // `buffered` keeps the order, so the results line up with `chunk`.
        let reached: Vec<Option<u8>> = stream::iter(work).buffered(IN_FLIGHT).try_collect().await?;
        for (r, level) in chunk.iter().zip(reached) {
            if let Some(level) = level {
                report.notices.push(DunningStepTaken {
                    order_id: r.order_id.to_string(),
                    level,
                });
            }
        }
    }
    tracing::info!(date = %today, checked = report.checked, notices = report.notices.len(), "dunning run");
    Ok(report)
}

/// Moves one order up a level if its day has come; the level reached.
pub async fn dun_order<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    policy: &CollectionPolicy,
    today: Date,
    now: Timestamp,
) -> Result<Option<u8>, StageError> {
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let Some(order) = order else {
                return Ok(Round::Done(None));
            };
            let Some(step) = next_step(&order, today, policy) else {
                return Ok(Round::Done(None));
            };
            let mut next = next_version(&order);
            next.dunning.level = step.level;
            next.dunning.fees += step.fee;
            next.dunning.interest += step.interest;
            next.dunning.notices.push(DunningNotice {
                level: step.level,
                sent_on: today,
                fee: step.fee,
                interest: step.interest,
            });
            next.note(&format!("dunning_level_{}", step.level), now);
            let notice = Envelope::for_order(EventType::DunningNoticeDue, &next, now).with_payload(
                Payload {
                    dunning_level: Some(step.level),
                    ..Payload::default()
                },
            );
            let charges = journal::for_dunning(&next, step.level, step.fee, step.interest, today);
            let changes = ChangeSet {
                events: vec![notice],
                journal: charges.into_iter().collect(),
                ..ChangeSet::order_update(next, order.version)
            };
            Ok(commit_order(store, changes, Some(step.level)).await?)
        },
    )
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("no order {0}")]
    NotFound(OrderId),
    #[error(transparent)]
    Store(#[from] oms_domain::StoreError),
}

/// Stops (or resumes) dunning of one order.
pub async fn set_blocked<S: Store + ?Sized>(
    store: &S,
    id: &OrderId,
    blocked: bool,
    now: Timestamp,
) -> Result<Order, BlockError> {
    update_order(
        store,
        OrderKey::Id(id),
        move |order: Option<Order>| async move {
            let order = order.ok_or_else(|| BlockError::NotFound(id.clone()))?;
            if order.dunning.blocked == blocked {
                return Ok(Round::Done(order));
            }
            let mut next = next_version(&order);
            next.dunning.blocked = blocked;
            next.note(
                if blocked {
                    "dunning_blocked"
                } else {
                    "dunning_unblocked"
                },
                now,
            );
            let changes = ChangeSet::order_update(next.clone(), order.version);
            commit_order(store, changes, next)
                .await
                .map_err(|e| match e {
                    oms_domain::ports::CommitError::Store(s) => BlockError::Store(s),
                    oms_domain::ports::CommitError::Conflict(c) => {
                        BlockError::Store(oms_domain::StoreError::unavailable(c.to_string()))
                    }
                })
        },
    )
    .await
}

/// Sends the notice of `level` for the order: what is owed, fees and
/// interest apart, the payment reference, the bank details, and the invoice
/// PDF again; finance gets a copy. The mail id is the same on every retry.
pub async fn send_notice<S, M>(
    store: &S,
    mailer: &M,
    config: &InvoiceConfig,
    id: &OrderId,
    level: u8,
) -> Result<(), StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let order = crate::read_order(store, id).await?;
    let notice = order
        .dunning
        .notices
        .iter()
        .find(|n| n.level == level)
        .ok_or_else(|| StageError::permanent(format!("order {id} has no level {level} notice")))?
        .clone();
    let numbers = order.invoice_numbers();
    if numbers.is_empty() {
        return Err(StageError::permanent(format!("order {id} has no invoice")));
    }
    let body = notice_text(&order, &notice, config);
    let mail_id = format!("dunning-{id}-{level}");
    let mut message = Letter {
        id: mail_id.clone(),
        to_name: &order.customer.name,
        to_email: &order.customer.email,
        subject: notice_subject(&order, level),
        body,
        date: Timestamp::now().as_second(),
        copy_to_finance: true,
    }
    .message(config);
    // Every invoice of the order (one per parcel) again.
    for number in &numbers {
        let invoice = store.invoice(number).await?.ok_or_else(|| {
            StageError::transient(format!("invoice {number} is not readable yet"))
        })?;
        message = message.attachment(
            "application/pdf",
            format!("{number}.pdf"),
            render_pdf(&invoice),
        );
    }
    let email = Letter::finish(message, mail_id, &order.customer.email, true, config)?;
    mailer.send(email).await
}

/// "INV-1" or "INV-1, INV-2": the invoices a letter is about, and whether
/// they are several.
fn listed(order: &Order) -> (String, bool) {
    let numbers = order.invoice_numbers();
    let text = numbers
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    (text, numbers.len() > 1)
}

fn notice_subject(order: &Order, level: u8) -> String {
    let (invoice, several) = listed(order);
    let title = match (order.locale, level) {
        (Locale::De, 1) => "Zahlungserinnerung",
        (Locale::De, 2) => "1. Mahnung",
        (Locale::De, _) => "Letzte Mahnung",
        (Locale::En, 1) => "Payment reminder",
        (Locale::En, 2) => "Dunning notice",
        (Locale::En, _) => "Final notice",
    };
    match (order.locale, several) {
        (Locale::De, false) => format!("{title} zur Rechnung {invoice}"),
        (Locale::De, true) => format!("{title} zu den Rechnungen {invoice}"),
        (Locale::En, false) => format!("{title} for invoice {invoice}"),
        (Locale::En, true) => format!("{title} for invoices {invoice}"),
    }
}

/// The notice's text: the open invoice amount, fees and interest shown
/// separately, the total, and how to pay.
pub fn notice_text(order: &Order, notice: &DunningNotice, config: &InvoiceConfig) -> String {
    // German letters write 1234,56 EUR and 11.12.2026.
    let german = order.locale == Locale::De;
    let money = |m: i64| crate::email::money_in(order.locale, m, order.currency);
    let date = |d: Date| {
        if german {
            d.strftime("%d.%m.%Y").to_string()
        } else {
            d.to_string()
        }
    };
    let reference = payment_reference::printed(&payment_reference::for_order(&order.id));
    let (invoice, several) = listed(order);
    let (de_invoice, en_invoice) = if several {
        (
            format!("unseren Rechnungen {invoice}"),
            format!("our invoices {invoice}"),
        )
    } else {
        (
            format!("unserer Rechnung {invoice}"),
            format!("our invoice {invoice}"),
        )
    };
    let due = order.due_date.map(date).unwrap_or_default();
    let open = order.invoice_due();
    let (fees, interest) = (order.dunning.fees, order.dunning.interest);
    let total = open + fees + interest;
    let seller = &config.seller;
    let iban = seller.iban.as_deref().unwrap_or("-");
    match order.locale {
        Locale::De => format!(
            "Sehr geehrte/r {name},\n\n\
             zu {de_invoice} (fällig am {due}) ist noch ein Betrag offen\n\
             (Mahnstufe {level}, {sent_on}).\n\n\
             Offener Rechnungsbetrag: {open}\n\
             Mahngebühren (Pauschale § 288 Abs. 5 BGB): {fees}\n\
             Verzugszinsen (§ 288 BGB): {interest}\n\
             Zu zahlen: {total}\n\n\
             Bitte überweisen Sie den Betrag an {seller_name}, IBAN {iban},\n\
             Verwendungszweck: {reference}\n\n\
             Die Rechnung liegt noch einmal bei. Hat sich Ihre Zahlung mit diesem Schreiben\n\
             gekreuzt, betrachten Sie es bitte als gegenstandslos.\n\n\
             Mit freundlichen Grüßen\n{seller_name}\n",
            name = order.customer.name,
            level = notice.level,
            sent_on = date(notice.sent_on),
            open = money(open),
            fees = money(fees),
            interest = money(interest),
            total = money(total),
            seller_name = seller.name,
        ),
        Locale::En => format!(
            "Dear {name},\n\n\
             an amount of {en_invoice} (due on {due}) is still open\n\
             (dunning level {level}, {sent_on}).\n\n\
             Open invoice amount: {open}\n\
             Dunning fees (flat fee, § 288 (5) BGB): {fees}\n\
             Default interest (§ 288 BGB): {interest}\n\
             To pay: {total}\n\n\
             Please transfer the amount to {seller_name}, IBAN {iban},\n\
             quoting: {reference}\n\n\
             The invoice is attached again. If your payment has crossed this letter,\n\
             please disregard it.\n\n\
             Kind regards\n{seller_name}\n",
            name = order.customer.name,
            level = notice.level,
            sent_on = date(notice.sent_on),
            open = money(open),
            fees = money(fees),
            interest = money(interest),
            total = money(total),
            seller_name = seller.name,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oms_domain::order::fixtures::sample_order;

    use crate::test_support::config;

    #[test]
    fn the_notice_shows_owed_fees_and_interest_apart_in_the_customers_language() {
        let mut o = sample_order();
        o.invoice_number = Some(oms_domain::InvoiceNumber::new(2026, 17));
        o.due_date = Some("2026-12-01".parse().unwrap());
        o.dunning.fees = 4000;
        o.dunning.interest = 78;
        let notice = DunningNotice {
            level: 2,
            sent_on: "2026-12-22".parse().unwrap(),
            fee: 4000,
            interest: 78,
        };
        let de = notice_text(&o, &notice, &config());
        for line in [
            "zu unserer Rechnung INV-2026-000017 (fällig am 01.12.2026)",
            "(Mahnstufe 2, 22.12.2026)",
            "Offener Rechnungsbetrag: 28,93 EUR",
            "Mahngebühren (Pauschale § 288 Abs. 5 BGB): 40,00 EUR",
            "Verzugszinsen (§ 288 BGB): 0,78 EUR",
            "Zu zahlen: 69,71 EUR",
            "IBAN DE02120300000000202051",
        ] {
            assert!(de.contains(line), "{line} in\n{de}");
        }
        let reference = payment_reference::printed(&payment_reference::for_order(&o.id));
        assert!(de.contains(&format!("Verwendungszweck: {reference}")));
        o.locale = Locale::En;
        let en = notice_text(&o, &notice, &config());
        assert!(en.contains("To pay: 69.71 EUR"), "{en}");
        assert!(en.contains("(due on 2026-12-01)"), "{en}");
        assert_eq!(
            notice_subject(&o, 3),
            "Final notice for invoice INV-2026-000017"
        );
        // Shipped in two parcels: both invoices are named.
        let parcel = |n: u64| oms_domain::shipment::Shipment {
            id: format!("shp_TEST-{n}"),
            fulfillment_id: oms_domain::FulfillmentId::from("ful_TEST"),
            carrier: "DHL".into(),
            tracking_number: format!("T{n}"),
            lines: Vec::new(),
            shipped_at: jiff::Timestamp::UNIX_EPOCH,
            invoice_number: Some(oms_domain::InvoiceNumber::new(2026, 16 + n)),
            shipping: 0,
            discount: 0,
        };
        o.shipments = vec![parcel(1), parcel(2)];
        assert_eq!(
            notice_subject(&o, 1),
            "Payment reminder for invoices INV-2026-000017, INV-2026-000018"
        );
        o.locale = Locale::De;
        assert!(notice_text(&o, &notice, &config())
            .contains("zu unseren Rechnungen INV-2026-000017, INV-2026-000018 (fällig"));
    }
}
