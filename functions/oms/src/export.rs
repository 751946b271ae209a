//! `oms export`: accounting files from a data dir's journal.

use anyhow::{ensure, Result};
use jiff::civil::Date;
use oms_domain::ports::Store;
use oms_runtime::config::{self, Env};
use std::path::Path;

/// The DATEV batch of `from`..=`to` (YYYY-MM-DD), with the chart and DATEV
/// numbers the environment configures.
pub async fn datev(data_dir: &Path, from: &str, to: &str) -> Result<Vec<u8>> {
    let day = |flag: &str, v: &str| -> Result<Date> {
        v.parse()
            .map_err(|_| anyhow::anyhow!("--{flag} `{v}` is not a date (YYYY-MM-DD)"))
    };
    let (from, to) = (day("from", from)?, day("to", to)?);
    ensure!(from <= to, "--to is before --from");
    oms_domain::datev::check_period(from, to).map_err(anyhow::Error::msg)?;
    let mut env = Env::from_process();
    config::timezone(&mut env);
    let chart = config::chart(&mut env);
    let client = config::datev(&mut env);
    env.done()?;
    ensure!(
        data_dir.join("oms.db").exists(),
        "no oms database in {}",
        data_dir.display()
    );
    let store = oms_embedded::Embedded::open(&data_dir.join("oms.db"), Default::default())?;
    let entries = store.journal(from, to).await?;
    let created = jiff::Timestamp::now()
        .to_zoned(oms_domain::collection::business_timezone())
        .datetime();
    Ok(oms_domain::datev::export(
        &entries, &chart, client, from, to, created,
    ))
}
