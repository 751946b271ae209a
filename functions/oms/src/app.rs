//! Wiring of a local run: SQLite backend, mail folder, warehouse, the HTTP
//! router and one dispatcher task per queue, in one process.

use anyhow::{Context, Result};
use oms_domain::event::QueueName;
use oms_domain::ports::{Consumer, Publisher, Store, Warehouse};
use oms_embedded::{Embedded, MailFolder};
use oms_fulfill::SimulatedWarehouse;
use oms_http::{ApiConfig, ApiKeys, AppState};
use oms_runtime::local::{run_queue, Stages};
use oms_warehouse::HttpWarehouse;
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{stored_secret, Backend, Settings};
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

/// The collection run (prepayment expiry, dunning) every few minutes; each
/// run does only what is due. In AWS a schedule runs the same.
async fn collect(store: &dyn Store, policy: &oms_domain::collection::CollectionPolicy) {
    if let Err(e) = oms_runtime::housekeeping::collect(store, policy, jiff::Timestamp::now()).await
    {
        tracing::error!(error = %e, "the collection run failed; will retry");
    }
}

/// A running pipeline. Dropping it without [`Running::stop`] aborts its tasks.
pub struct Running {
    pub addr: SocketAddr,
    /// The embedded backend's database (`None` on the AWS backend).
    pub store: Option<Embedded>,
    /// The AWS backend's queues (`None` on the embedded backend).
    pub sqs: Option<oms_aws::SqsQueues>,
    /// What the AWS clients consumed (zero on the embedded backend).
    pub usage: Arc<oms_aws::Usage>,
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

    /// Messages parked as dead letters, on either backend.
    pub async fn dead_letter_count(&self) -> Result<u64> {
        if let Some(store) = &self.store {
            return Ok(store.dead_letters().await?.len() as u64);
        }
        match &self.sqs {
            Some(sqs) => Ok(sqs.depths().await?.iter().map(|(_, _, dead)| dead).sum()),
            None => Ok(0),
        }
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
    let (api_key, keys) = match &settings.api_keys {
        Some(keys) => {
            let keys = keys.expose();
            let first = keys.split(',').next().unwrap_or_default();
            let first = first.rsplit(':').next().unwrap_or(first).trim().to_string();
            (first, ApiKeys::parse(keys))
        }
        None => {
            let (key, new) = stored_secret(dir, "api-key", "oms_")?;
            notes.push(if new {
                format!(
                    "generated API key (stored in {}): {key}",
                    dir.join("api-key").display()
                )
            } else {
                format!("API key from {}", dir.join("api-key").display())
            });
            let keys = ApiKeys::parse(&key);
            (key, keys)
        }
    };
    let stripe_secret = match &settings.stripe_webhook_secret {
        Some(s) => s.expose().clone(),
        None => {
            let (s, _) = stored_secret(dir, "stripe-webhook-secret", "whsec_")?;
            notes.push(format!(
                "Stripe webhook secret from {}",
                dir.join("stripe-webhook-secret").display()
            ));
            s
        }
    };

    let wired = match &settings.backend {
        Backend::Embedded => embedded(&settings, &mut notes).await?,
        Backend::Aws { prefix } => aws(&settings, prefix, &mut notes).await?,
    };
    let warehouse: Arc<dyn Warehouse> = match &settings.warehouse {
        Some(w) => {
            notes.push(format!(
                "handing fulfillments to the warehouse at {}",
                w.url
            ));
            Arc::new(HttpWarehouse::new(
                w.url.clone(),
                w.secret.expose().as_bytes().to_vec(),
            ))
        }
        None => {
            notes.push(format!(
                "no warehouse URL: the built-in simulated warehouse ships every order after {} ms",
                settings.simulated_ship_delay.as_millis()
            ));
            Arc::new(SimulatedWarehouse::new(
                wired.publisher.clone(),
                settings.simulated_ship_delay,
            ))
        }
    };
    let store_port = wired.store.clone();
    let mailer = wired.mailer.clone();
    let stages = Arc::new(Stages {
        store: store_port.clone(),
        mailer: mailer.clone(),
        warehouse: warehouse.clone(),
        invoice: settings.invoice.clone(),
    });
    let (shutdown, watcher) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for queue in QueueName::ALL {
        let wake = match &wired.embedded {
            Some(store) => store.waker(queue),
            // SQS: receive long-polls, nothing to wake.
            None => Arc::new(tokio::sync::Notify::new()),
        };
        tasks.spawn(run_queue(
            wired.consumer.clone(),
            stages.clone(),
            queue,
            wake,
            watcher.clone(),
        ));
    }
    if let Some(relay) = wired.relay {
        tasks.spawn(relay.run(watcher.clone()));
    }

    let api_config = ApiConfig::new(
        keys,
        stripe_secret.clone().into_bytes(),
        settings.paypal.clone(),
        settings.invoice.clone(),
    );
    if let (Some(ttl), Some(store)) = (settings.idempotency_ttl, wired.embedded.clone()) {
        tasks.spawn(periodically(
            std::time::Duration::from_secs(3600),
            watcher.clone(),
            move || {
                let store = store.clone();
                async move { forget_old_idempotency_keys(&store, ttl).await }
            },
        ));
    }
    if let (Some(mail), Some(folder)) = (&api_config.report_mail, &wired.folder) {
        notes.push(format!(
            "the daily report goes to {} after each UTC midnight",
            mail.to
        ));
        let (store, mailer, mail) = (store_port.clone(), folder.clone(), mail.clone());
        tasks.spawn(periodically(
            std::time::Duration::from_secs(300),
            watcher.clone(),
            move || {
                let (store, mailer, mail) = (store.clone(), mailer.clone(), mail.clone());
                async move { email_yesterdays_report(store.as_ref(), &mailer, &mail).await }
            },
        ));
    }
    {
        let (store, policy) = (store_port.clone(), settings.invoice.collection.clone());
        tasks.spawn(periodically(
            std::time::Duration::from_secs(300),
            watcher.clone(),
            move || {
                let (store, policy) = (store.clone(), policy.clone());
                async move { collect(store.as_ref(), &policy).await }
            },
        ));
    }
    let state = AppState {
        store: store_port,
        mailer,
        warehouse,
        certificates: Arc::new(oms_certificates::HttpCertificates::default()),
        config: Arc::new(api_config),
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let mut stop = watcher.clone();
    let app = oms_http::router(state);
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
        store: wired.embedded,
        sqs: wired.sqs,
        usage: wired.usage,
        outbox: wired.outbox,
        api_key,
        stripe_secret,
        notes,
        shutdown,
        tasks,
        _lock: lock,
    })
}

/// The ports of one backend, as the stages and the API use them.
struct Wired {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    consumer: Arc<dyn Consumer>,
    mailer: Arc<dyn oms_domain::ports::Mailer>,
    embedded: Option<Embedded>,
    folder: Option<MailFolder>,
    sqs: Option<oms_aws::SqsQueues>,
    relay: Option<oms_aws::StreamRelay>,
    usage: Arc<oms_aws::Usage>,
    outbox: PathBuf,
}

async fn embedded(settings: &Settings, notes: &mut Vec<String>) -> Result<Wired> {
    let dir = &settings.data_dir;
    let store = Embedded::open(&dir.join("oms.db"), settings.queue)?;
    let resumed = store.recover_in_flight().await?;
    if resumed > 0 {
        notes.push(format!(
            "resumed {resumed} messages left in flight by the previous run"
        ));
    }
    let outbox = dir.join("outbox");
    let folder = MailFolder::new(outbox.clone())?;
    Ok(Wired {
        store: Arc::new(store.clone()),
        publisher: Arc::new(store.clone()),
        consumer: Arc::new(store.clone()),
        mailer: Arc::new(folder.clone()),
        embedded: Some(store),
        folder: Some(folder),
        sqs: None,
        relay: None,
        usage: Arc::default(),
        outbox,
    })
}

/// DynamoDB, SQS and SES v2 as the SDK's environment configures them;
/// the table and queues must exist (`oms aws init`).
async fn aws(settings: &Settings, prefix: &str, notes: &mut Vec<String>) -> Result<Wired> {
    let sdk = oms_aws::Sdk::from_env().await;
    // Fail at start, naming what is missing, rather than accept orders
    // that never move.
    let urls = oms_aws::check(&sdk, prefix).await?;
    let store = oms_aws::DynamoStore::new(&sdk, prefix, settings.idempotency_ttl);
    let sqs = oms_aws::SqsQueues::new(&sdk, urls, settings.queue.max_attempts);
    let relay = oms_aws::StreamRelay::new(&sdk, prefix, sqs.clone());
    notes.push(format!(
        "AWS backend: table {prefix}, queues {prefix}-<stage>, email through SES v2"
    ));
    Ok(Wired {
        store: Arc::new(store),
        publisher: Arc::new(sqs.clone()),
        consumer: Arc::new(sqs.clone()),
        mailer: Arc::new(oms_aws::SesMailer::new(&sdk)),
        embedded: None,
        folder: None,
        sqs: Some(sqs),
        relay: Some(relay),
        usage: sdk.usage.clone(),
        outbox: settings.data_dir.join("outbox"),
    })
}
