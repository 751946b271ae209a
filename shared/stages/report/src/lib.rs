//! Report stage: the daily figures, computed from what is stored.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use oms_domain::error::StoreErrorKind;
use oms_domain::money::format_minor;
use oms_domain::ports::{Mailer, RawEmail, Store};
use oms_domain::report::{receivables_report, DailyReport, ReceivablesReport};
use oms_domain::{Currency, StageError, StoreError};
use std::collections::BTreeMap;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    ok.then(|| s.parse::<Date>().ok())
        .flatten()
        .ok_or_else(|| format!("`{s}` is not a date of the form YYYY-MM-DD"))
}

/// The report of one calendar day in UTC.
pub async fn daily_report<S: Store + ?Sized>(
    store: &S,
    date: Date,
) -> Result<DailyReport, StoreError> {
    // Only the last representable day has no tomorrow.
    let out_of_range =
        |e| StoreError::caused(StoreErrorKind::Refused, format!("the day {date}"), e);
    let start = date.to_zoned(TimeZone::UTC).map_err(out_of_range)?;
    let end = start.tomorrow().map_err(out_of_range)?;
    let facts = store
        .daily_facts(start.timestamp(), end.timestamp())
        .await?;
    Ok(facts.into_report(date.to_string()))
}

/// Open receivables in `currency`, aged on `date`.
pub async fn receivables<S: Store + ?Sized>(
    store: &S,
    date: Date,
    currency: &str,
) -> Result<ReceivablesReport, StoreError> {
    let open = store.receivables().await?;
    Ok(receivables_report(&open, date, currency))
}

/// A SKU that backordered orders wait for, and how many units to order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReorderLine {
    pub sku: String,
    pub name: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// Units that backordered orders wait for.
    pub backordered: i64,
    /// `backordered - available`: what must come in to serve them all.
    pub to_order: i64,
}

/// What to reorder now so that every backordered order can be served.
pub async fn reorder_list<S: Store + ?Sized>(store: &S) -> Result<Vec<ReorderLine>, StoreError> {
    let demand = store.backordered_demand().await?;
    let skus: Vec<_> = demand.keys().cloned().collect();
    let items = store.skus(&skus).await?;
    Ok(demand
        .into_iter()
        .filter_map(|(sku, backordered)| {
            let item = items.get(&sku)?;
            let to_order = backordered - item.available;
            (to_order > 0).then(|| ReorderLine {
                sku: sku.to_string(),
                name: item.name.clone(),
                on_hand: item.on_hand,
                reserved: item.reserved,
                backordered,
                to_order,
            })
        })
        .collect())
}

/// Who sends the daily report and who gets it.
#[derive(Debug, Clone)]
pub struct ReportMail {
    pub from: String,
    pub to: String,
}

fn amounts(per_currency: &BTreeMap<String, i64>) -> String {
    if per_currency.is_empty() {
        return "0".into();
    }
    per_currency
        .iter()
        .map(|(c, m)| match Currency::parse(c) {
            Ok(currency) => format_minor(*m, currency),
            Err(_) => format!("{m} {c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as an email to finance: the figures as text, the JSON attached.
pub fn report_email(
    report: &DailyReport,
    reorder: &[ReorderLine],
    receivables: &[ReceivablesReport],
    mail: &ReportMail,
) -> Result<RawEmail, StageError> {
    let step = |l: &Option<oms_domain::report::LeadTime>| match l {
        Some(l) => format!("p50 {} s, p95 {} s, max {} s", l.p50, l.p95, l.max),
        None => "-".into(),
    };
    let lead = match &report.order_lead_time_seconds {
        Some(_) => step(&report.order_lead_time_seconds),
        None => "no order shipped".into(),
    };
    let body = format!(
        "Daily report {date} (UTC)\n\n\
         Orders captured      {captured}\n\
         Orders shipped       {shipped}\n\
         Orders backordered   {backordered}\n\
         Orders cancelled     {cancelled}\n\
         Invoices issued      {invoices}\n\
         Revenue (invoiced)   {revenue}\n\
         Payments received    {payments}\n\
         Open receivables     {open}\n\
         Payment mismatches   {mismatches}\n\
         Order lead time      {lead}\n\
         \x20 capture → reserved   {reserved}\n\
         \x20 reserved → handed off {handed_off}\n\
         \x20 handed off → shipped {to_shipped}\n         \x20 capture → each parcel {parcels}\n",
        date = report.date,
        captured = report.orders_captured,
        shipped = report.orders_shipped,
        backordered = report.orders_backordered,
        cancelled = report.orders_cancelled,
        invoices = report.invoices_issued,
        revenue = amounts(&report.revenue),
        payments = amounts(&report.payments_received),
        open = amounts(&report.open_receivables),
        mismatches = report.payment_mismatches,
        reserved = step(&report.order_lead_time_by_step.reserved),
        handed_off = step(&report.order_lead_time_by_step.handed_off),
        to_shipped = step(&report.order_lead_time_by_step.shipped),
        parcels = step(&report.order_lead_time_by_parcel),
    );
    let mut body = body;
    if !reorder.is_empty() {
        body.push_str("\nTo reorder now (backordered orders wait for these):\n");
        for r in reorder {
            body.push_str(&format!(
                "  {} {}: order {} ({} backordered, {} on hand, {} reserved)\n",
                r.sku, r.name, r.to_order, r.backordered, r.on_hand, r.reserved
            ));
        }
    }
    for r in receivables.iter().filter(|r| !r.orders.is_empty()) {
        body.push_str(&receivables_table(r));
    }
    let json = serde_json::to_vec_pretty(report).map_err(StageError::permanent)?;
    let mime = mail_builder::MessageBuilder::new()
        .from(mail.from.clone())
        .to(mail.to.clone())
        .subject(format!("Daily report {}", report.date))
        .text_body(body)
        .attachment(
            "application/json",
            format!("report-{}.json", report.date),
            json,
        )
        .write_to_vec()
        .map_err(|e| StageError::permanent(format!("building the email: {e}")))?;
    Ok(RawEmail {
        id: format!("report-{}", report.date),
        from: mail.from.clone(),
        recipients: vec![mail.to.clone()],
        mime,
    })
}

/// The receivables report as text: buckets, then each order.
pub fn receivables_table(r: &ReceivablesReport) -> String {
    let money = |m: i64| match Currency::parse(&r.currency) {
        Ok(c) => format_minor(m, c),
        Err(_) => format!("{m} {}", r.currency),
    };
    let b = &r.buckets;
    let mut out = format!(
        "\nOpen receivables {currency} on {date}: {open}\n\
         \x20 not due {nd} | 1-30 days {a} | 31-60 days {b2} | 61-90 days {c} | over 90 days {d}\n\
         \x20 {:<30} {:<16} {:<10} {:>16} {:>5} {:>5}\n",
        "order",
        "invoice",
        "due",
        "amount due",
        "days",
        "level",
        currency = r.currency,
        date = r.date,
        open = money(r.open),
        nd = money(b.not_due),
        a = money(b.d1_30),
        b2 = money(b.d31_60),
        c = money(b.d61_90),
        d = money(b.over_90),
    );
    for o in &r.orders {
        out.push_str(&format!(
            "  {:<30} {:<16} {:<10} {:>16} {:>5} {:>5}\n",
            o.order_id,
            o.invoice_number.as_deref().unwrap_or("-"),
            o.due_date.as_deref().unwrap_or("-"),
            money(o.amount_due),
            o.days_overdue,
            o.dunning_level
        ));
    }
    out
}

/// Computes the report of `date` and emails it to finance.
pub async fn email_daily_report<S, M>(
    store: &S,
    mailer: &M,
    mail: &ReportMail,
    date: Date,
) -> Result<DailyReport, StageError>
where
    S: Store + ?Sized,
    M: Mailer + ?Sized,
{
    let report = daily_report(store, date).await?;
    let reorder = reorder_list(store).await?;
    let open = store.receivables().await?;
    let mut currencies: Vec<&str> = open.iter().map(|r| r.currency.as_str()).collect();
    currencies.sort();
    currencies.dedup();
    let receivables: Vec<ReceivablesReport> = currencies
        .into_iter()
        .map(|c| receivables_report(&open, date, c))
        .collect();
    mailer
        .send(report_email(&report, &reorder, &receivables, mail)?)
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_email_shows_the_figures() {
        let facts = oms_domain::report::DailyFacts {
            orders_captured: 3,
            revenue: [("EUR".to_string(), 12345)].into_iter().collect(),
            lead_times: vec![
                oms_domain::report::StepTimes {
                    captured: 0,
                    reserved: None,
                    handed_off: None,
                    shipped: 60_000,
                },
                oms_domain::report::StepTimes {
                    captured: 0,
                    reserved: None,
                    handed_off: None,
                    shipped: 120_000,
                },
            ],
            ..Default::default()
        };
        let report = facts.into_report("2026-11-26".into());
        let mail = ReportMail {
            from: "oms@shop.example".into(),
            to: "finance@shop.example".into(),
        };
        let reorder = vec![ReorderLine {
            sku: "LAMP".into(),
            name: "Leselampe".into(),
            on_hand: 1,
            reserved: 1,
            backordered: 3,
            to_order: 3,
        }];
        let open = [oms_domain::collection::Receivable {
            order_id: oms_domain::OrderId("ord_LATE".into()),
            currency: "EUR".into(),
            invoice_number: Some("INV-2026-000001".into()),
            due_date: Some("2026-11-01".parse().unwrap()),
            amount_due: 4200,
            invoice_due: 4200,
            dunning_level: 1,
            dunning_blocked: false,
        }];
        let receivables = [receivables_report(
            &open,
            "2026-11-26".parse().unwrap(),
            "EUR",
        )];
        let email = report_email(&report, &reorder, &receivables, &mail).unwrap();
        let text = String::from_utf8(email.mime).unwrap();
        assert_eq!(email.id, "report-2026-11-26");
        assert!(text.contains("Subject: Daily report 2026-11-26"));
        assert!(text.contains("Orders captured      3"));
        assert!(text.contains("Revenue (invoiced)   123.45 EUR"));
        assert!(text.contains("p50 60 s, p95 120 s, max 120 s"));
        assert!(
            text.contains("  LAMP Leselampe: order 3 (3 backordered, 1 on hand"),
            "{text}"
        );
        assert!(text.contains("filename=\"report-2026-11-26.json\""));
        assert!(
            text.contains("Open receivables EUR on 2026-11-26: 42.00 EUR"),
            "{text}"
        );
        let table = receivables_table(&receivables[0]);
        assert!(table.contains("1-30 days 42.00 EUR"), "{table}");
        assert!(
            table.contains("ord_LATE                       INV-2026-000001  2026-11-01        42.00 EUR    25     1"),
            "{table}"
        );
    }

    #[test]
    fn dates_must_be_iso() {
        assert_eq!(parse_date("2026-11-26").unwrap().to_string(), "2026-11-26");
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "26-11-2026",
            "2026-1-1",
            "today",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}

/// The day a report invocation is for: `{"date": "YYYY-MM-DD"}` on demand,
/// else (a schedule's event) the UTC day before `now`.
pub fn report_date(event: &serde_json::Value, now: jiff::Timestamp) -> Result<Date, StageError> {
    match event.get("date") {
        Some(serde_json::Value::String(d)) => d.parse().map_err(|e| {
            StageError::permanent(format!("`date` must be YYYY-MM-DD, not `{d}`: {e}"))
        }),
        Some(other) => Err(StageError::permanent(format!(
            "`date` must be a string YYYY-MM-DD, not {other}"
        ))),
        None => now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .yesterday()
            .map_err(StageError::permanent),
    }
}

#[cfg(test)]
mod report_date_tests {
    use super::*;

    #[test]
    fn a_schedule_reports_yesterday_and_a_date_reports_that_day() {
        let now: jiff::Timestamp = "2026-11-27T00:05:00Z".parse().unwrap();
        let scheduled =
            serde_json::json!({"source": "aws.scheduler", "detail-type": "Scheduled Event"});
        assert_eq!(
            report_date(&scheduled, now).unwrap().to_string(),
            "2026-11-26"
        );
        let asked = serde_json::json!({"date": "2026-01-31"});
        assert_eq!(report_date(&asked, now).unwrap().to_string(), "2026-01-31");
        assert!(report_date(&serde_json::json!({"date": "31.01.2026"}), now).is_err());
        assert!(report_date(&serde_json::json!({"date": 5}), now).is_err());
    }
}
