//! Report stage: the daily figures, computed from what is stored.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use oms_domain::ports::Store;
use oms_domain::report::DailyReport;
use oms_domain::StoreError;

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
    let start = date
        .to_zoned(TimeZone::UTC)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let end = start
        .tomorrow()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let facts = store
        .daily_facts(start.timestamp(), end.timestamp())
        .await?;
    Ok(facts.into_report(date.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
