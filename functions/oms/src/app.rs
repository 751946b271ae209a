//! Wiring of a local run: SQLite backend, mail folder, warehouse, the HTTP
//! router and one dispatcher task per queue, in one process.

use anyhow::{Context, Result};
use oms_api::{ApiConfig, ApiKeys, AppState};
use oms_domain::event::QueueName;
use oms_domain::ports::{Consumer, Publisher, Store, Warehouse};
use oms_embedded::{Embedded, MailFolder};
use oms_fulfill::{HttpWarehouse, SimulatedWarehouse};
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{stored_secret, Settings};
use crate::runner::{run_queue, Stages};
use oms_report::ReportMail;

/// Runs `work` now and then every `period` until shutdown.
async fn periodically<F, Fut>(
    period: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    while !*shutdown.borrow() {
        work().await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Forgets idempotency keys older than `ttl`.
async fn forget_old_idempotency_keys(store: &Embedded, ttl: std::time::Duration) {
    let age = jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::MAX);
    let Ok(cutoff) = jiff::Timestamp::now().checked_sub(age) else {
        return; // a TTL longer than recorded time: nothing is old enough
    };
    match store.forget_idempotency_keys(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(forgotten = n, "idempotency keys expired"),
        Err(e) => tracing::warn!(error = %e, "expiring idempotency keys failed; will retry"),
    }
}

/// Emails the previous UTC day's report to finance unless that was done:
/// the mail folder is the record of what was sent (`report-<date>.eml`).
/// Checked at start and every five minutes; in AWS a schedule does this.
async fn email_yesterdays_report(store: &dyn Store, mailer: &MailFolder, mail: &ReportMail) {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let Ok(yesterday) = today.yesterday() else {
        return;
    };
    if mailer.contains(&format!("report-{yesterday}")) {
        return;
    }
    if let Err(e) = oms_report::email_daily_report(store, mailer, mail, yesterday).await {
        tracing::error!(error = %e, date = %yesterday, "emailing the daily report failed; will retry");
    }
}

/// A running pipeline. Dropping it without [`Running::stop`] aborts its tasks.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Embedded,
    pub outbox: PathBuf,
    /// The API key callers use (the configured first one, or the generated one).
    pub api_key: String,
    pub stripe_secret: String,
    /// What to tell a person at start.
    pub notes: Vec<String>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    _lock: File,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops taking requests and messages, and waits for work in hand.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts everything on the embedded backend in `settings.data_dir`.
pub async fn start(settings: Settings) -> Result<Running> {
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))?;
    // One server per data dir: it alone may resume what a crashed run left in flight.
    let lock = File::create(dir.join("oms.lock"))?;
    lock.try_lock()
        .map_err(|_| anyhow::anyhow!("another oms is already serving {}", dir.display()))?;

    let mut notes = Vec::new();
    let api_key = if settings.api_keys.is_empty() {
        let (key, new) = stored_secret(dir, "api-key", "oms_")?;
        notes.push(if new {
            format!(
                "generated API key (stored in {}): {key}",
                dir.join("api-key").display()
            )
        } else {
            format!("API key from {}", dir.join("api-key").display())
        });
        key
    } else {
        let first = settings.api_keys.split(',').next().unwrap_or_default();
        first.rsplit(':').next().unwrap_or(first).trim().to_string()
    };
    let keys = ApiKeys::parse(if settings.api_keys.is_empty() {
        &api_key
    } else {
        &settings.api_keys
    });
    let stripe_secret = match &settings.stripe_webhook_secret {
        Some(s) => s.clone(),
        None => {
            let (s, _) = stored_secret(dir, "stripe-webhook-secret", "whsec_")?;
            notes.push(format!(
                "Stripe webhook secret from {}",
                dir.join("stripe-webhook-secret").display()
            ));
            s
        }
    };

    let store = Embedded::open(&dir.join("oms.db"), settings.queue)?;
    let resumed = store.recover_in_flight().await?;
    if resumed > 0 {
        notes.push(format!(
            "resumed {resumed} messages left in flight by the previous run"
        ));
    }
    let outbox = dir.join("outbox");
    let mailer = Arc::new(MailFolder::new(outbox.clone())?);
    let warehouse: Arc<dyn Warehouse> = match &settings.warehouse_url {
        Some(url) => {
            notes.push(format!("handing fulfillments to the warehouse at {url}"));
            let secret = settings.warehouse_secret.clone().unwrap_or_default();
            Arc::new(HttpWarehouse::new(url.clone(), secret.into_bytes()))
        }
        None => {
            notes.push(format!(
                "no warehouse URL: the built-in simulated warehouse ships every order after {} ms",
                settings.simulated_ship_delay.as_millis()
            ));
            Arc::new(SimulatedWarehouse::new(
                Arc::new(store.clone()) as Arc<dyn Publisher>,
                settings.simulated_ship_delay,
            ))
        }
    };

    let store_port: Arc<dyn Store> = Arc::new(store.clone());
    let stages = Arc::new(Stages {
        store: store_port.clone(),
        mailer: mailer.clone(),
        warehouse,
        invoice: settings.invoice.clone(),
    });
    let (shutdown, watcher) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let consumer: Arc<dyn Consumer> = Arc::new(store.clone());
    for queue in QueueName::ALL {
        tasks.spawn(run_queue(
            consumer.clone(),
            stages.clone(),
            queue,
            store.waker(queue),
            watcher.clone(),
        ));
    }

    let report_mail = settings.invoice.finance_email.clone().map(|to| ReportMail {
        from: settings.invoice.mail_from.clone(),
        to,
    });
    if let Some(ttl) = settings.idempotency_ttl {
        let store = store.clone();
        tasks.spawn(periodically(
            std::time::Duration::from_secs(3600),
            watcher.clone(),
            move || {
                let store = store.clone();
                async move { forget_old_idempotency_keys(&store, ttl).await }
            },
        ));
    }
    if let Some(mail) = &report_mail {
        notes.push(format!(
            "the daily report goes to {} after each UTC midnight",
            mail.to
        ));
        let (store, mailer, mail) = (store_port.clone(), mailer.as_ref().clone(), mail.clone());
        tasks.spawn(periodically(
            std::time::Duration::from_secs(300),
            watcher.clone(),
            move || {
                let (store, mailer, mail) = (store.clone(), mailer.clone(), mail.clone());
                async move { email_yesterdays_report(store.as_ref(), &mailer, &mail).await }
            },
        ));
    }
    let state = AppState {
        store: store_port,
        mailer,
        config: Arc::new(ApiConfig {
            keys,
            report_mail,
            stripe_webhook_secret: stripe_secret.clone().into_bytes(),
            invoice: settings.invoice.clone(),
        }),
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let mut stop = watcher.clone();
    let app = oms_api::router(state);
    tasks.spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    Ok(Running {
        addr,
        store,
        outbox,
        api_key,
        stripe_secret,
        notes,
        shutdown,
        tasks,
        _lock: lock,
    })
}
