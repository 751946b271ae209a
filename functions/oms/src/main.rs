//! `oms`: run the pipeline locally, demo it, benchmark it, operate its queues.

use anyhow::Result;
use clap::{Parser, Subcommand};
use oms::config::Settings;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "oms",
    version,
    about = "Order-management pipeline: local runner and admin tool"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and run every stage on the embedded backend until Ctrl-C.
    Serve {
        #[arg(long, default_value = "./oms-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Hand fulfillments to this URL (else: the built-in simulated warehouse).
        #[arg(long)]
        warehouse_url: Option<String>,
        /// Where state, queues and mail live: `embedded` (SQLite in the data
        /// dir) or `aws` (DynamoDB, SQS, SES v2 as the AWS SDK environment
        /// configures them; create the resources first with `oms aws init`).
        #[arg(long, env = "OMS_BACKEND", default_value = "embedded")]
        backend: BackendKind,
        /// Name of the table and prefix of the queues on the AWS backend.
        #[arg(long, env = "OMS_AWS_PREFIX", default_value = "oms")]
        aws_prefix: String,
    },
    /// Resources of the AWS backend.
    Aws {
        #[command(subcommand)]
        action: AwsAction,
    },
    /// A self-contained run in a fresh data dir; exit 0 only if every order ends as expected.
    Demo {
        #[arg(long, default_value_t = 50)]
        orders: usize,
    },
    /// Throughput and latency figures of the whole pipeline.
    Bench {
        #[arg(long, default_value_t = 2000)]
        orders: usize,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        /// Parent folder of the bench's fresh data dir (default: the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// `aws`: run on DynamoDB/SQS/SES (fresh resources `oms-bench-<time>`)
        /// and print what each order consumed and costs.
        #[arg(long, default_value = "embedded")]
        backend: BackendKind,
    },
    /// Figures of the money side: importing a bank statement of `--entries`
    /// entries (time, peak memory, request units on AWS) and a dunning run
    /// over `--open` open invoices.
    BenchCollection {
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        #[arg(long, default_value_t = 100_000)]
        open: u64,
        /// Parent folder of the bench's fresh data dir (default: the system temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "embedded")]
        backend: BackendKind,
    },
    /// Bank statements (camt.053/054) for a data dir.
    Bank {
        #[command(subcommand)]
        action: BankAction,
    },
    /// Accounting exports of a data dir.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Operate the queues of a data dir (while or after serving it).
    Admin {
        #[arg(long, default_value = "./oms-data")]
        data_dir: PathBuf,
        #[command(subcommand)]
        action: Admin,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BackendKind {
    Embedded,
    Aws,
}

#[derive(Subcommand)]
enum AwsAction {
    /// Create the table (with indexes, stream and TTL) and the queues (each
    /// with its dead-letter queue) unless they exist; safe to run again.
    Init {
        #[arg(long, env = "OMS_AWS_PREFIX", default_value = "oms")]
        prefix: String,
        /// Ask SES to verify this sender address (AWS emails it a link).
        #[arg(long, env = "OMS_MAIL_FROM")]
        sender: Option<String>,
    },
    /// Messages waiting and dead letters per queue.
    Queues {
        #[arg(long, env = "OMS_AWS_PREFIX", default_value = "oms")]
        prefix: String,
    },
    /// Move a queue's dead letters back to it.
    Redrive {
        #[arg(long, env = "OMS_AWS_PREFIX", default_value = "oms")]
        prefix: String,
        /// reserve, fulfill, invoice or reconcile
        queue: String,
    },
}

#[derive(Subcommand)]
enum BankAction {
    /// Import a statement as `POST /v1/bank-statements` does: match, book,
    /// list the rest as unmatched; prints the summary as JSON.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "./oms-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExportFormat {
    /// The journal of a period as a DATEV EXTF "Buchungsstapel" (as
    /// `GET /v1/exports/datev`); chart and numbers from `OMS_CHART`,
    /// `OMS_ACCOUNT_*`, `OMS_DATEV_CONSULTANT`, `OMS_DATEV_CLIENT`.
    Datev {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day (inclusive, same year), YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "./oms-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Messages waiting or in flight per queue.
    Queues,
    /// List dead letters as JSON lines.
    DeadLetters,
    /// Move dead letters back to their queues (all, or one by id).
    Redrive {
        #[arg(long)]
        id: Option<i64>,
    },
}

fn fresh_dir(kind: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "oms-{kind}-{}",
        jiff::Timestamp::now().as_millisecond()
    ))
}

/// A benchmark's fresh data dir (under `parent`, else the temp dir) and its
/// backend (on AWS: fresh resources `oms-bench-<time>`).
fn bench_place(
    kind: &str,
    parent: Option<PathBuf>,
    backend: BackendKind,
) -> (PathBuf, oms::config::Backend) {
    let name = fresh_dir(kind)
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_default();
    let dir = parent.unwrap_or_else(std::env::temp_dir).join(name);
    let backend = match backend {
        BackendKind::Embedded => oms::config::Backend::Embedded,
        BackendKind::Aws => oms::config::Backend::Aws {
            prefix: format!("oms-bench-{}", jiff::Timestamp::now().as_second()),
        },
    };
    (dir, backend)
}

/// Errors end the command with one line on stderr and exit code 1.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oms: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .with(oms_runtime::log_filter(tracing::Level::WARN))
            .init();
    }
    match Cli::parse().command {
        Command::Serve {
            data_dir,
            listen,
            warehouse_url,
            backend,
            aws_prefix,
        } => {
            let mut settings = Settings::from_env(data_dir, listen, warehouse_url)?;
            if let BackendKind::Aws = backend {
                settings.backend = oms::config::Backend::Aws { prefix: aws_prefix };
            }
            let running = oms::app::start(settings).await?;
            for note in &running.notes {
                println!("{note}");
            }
            println!("oms serving http://{} (Ctrl-C to stop)", running.addr);
            tokio::signal::ctrl_c().await?;
            println!("stopping: finishing work in hand …");
            running.stop().await;
        }
        Command::Demo { orders } => {
            let outcome = oms::demo::run(orders, fresh_dir("demo")).await?;
            println!("{}", serde_json::to_string_pretty(&outcome.report)?);
            println!(
                "{} invoice emails (.eml with the PDF and the e-invoice XML attached) in {}",
                outcome.emails,
                outcome.data_dir.join("outbox").display()
            );
            if !outcome.failures.is_empty() {
                for f in &outcome.failures {
                    eprintln!("not as expected: {f}");
                }
                std::process::exit(1);
            }
            println!("demo passed: every order reached its expected end state");
        }
        Command::Bench {
            orders,
            concurrency,
            dir,
            backend,
        } => {
            anyhow::ensure!(
                orders > 0 && concurrency > 0,
                "--orders and --concurrency must be at least 1"
            );
            let (dir, backend) = bench_place("bench", dir, backend);
            let result = oms::bench::run(orders, concurrency, dir.clone(), backend).await;
            let _ = std::fs::remove_dir_all(&dir);
            result?;
        }
        Command::BenchCollection {
            entries,
            open,
            dir,
            backend,
        } => {
            anyhow::ensure!(entries > 0, "--entries must be at least 1");
            let (dir, backend) = bench_place("bench-collection", dir, backend);
            let result = oms::bench_collection::run(entries, open, &dir, backend).await;
            let _ = std::fs::remove_dir_all(&dir);
            result?;
        }
        Command::Aws { action } => aws(action).await?,
        Command::Bank {
            action: BankAction::Import { file, data_dir },
        } => {
            let xml = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            anyhow::ensure!(
                xml.len() <= oms_domain::bank::MAX_STATEMENT_BYTES,
                "{} is larger than 10 MiB",
                file.display()
            );
            std::fs::create_dir_all(&data_dir)?;
            let store = oms_embedded::Embedded::open(&data_dir.join("oms.db"), Default::default())?;
            let summary =
                oms_reconcile::bank::import_statement(&store, &xml, jiff::Timestamp::now())
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Command::Export {
            format:
                ExportFormat::Datev {
                    from,
                    to,
                    out,
                    data_dir,
                },
        } => {
            let file = oms::export::datev(&data_dir, &from, &to).await?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &file)
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
                    eprintln!("wrote {} ({} bytes)", path.display(), file.len());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&file)?;
                }
            }
        }
        Command::Admin { data_dir, action } => {
            anyhow::ensure!(
                data_dir.join("oms.db").exists(),
                "no oms database in {}",
                data_dir.display()
            );
            let store = oms_embedded::Embedded::open(&data_dir.join("oms.db"), Default::default())?;
            match action {
                Admin::Queues => {
                    for (queue, n) in store.queue_depths().await? {
                        println!("{queue}\t{n}");
                    }
                    println!("dead-letters\t{}", store.dead_letters().await?.len());
                }
                Admin::DeadLetters => {
                    for d in store.dead_letters().await? {
                        println!("{}", serde_json::to_string(&d)?);
                    }
                }
                Admin::Redrive { id } => {
                    let n = store.redrive(id).await?;
                    anyhow::ensure!(
                        n > 0 || id.is_none(),
                        "no dead letter with id {}",
                        id.unwrap_or_default()
                    );
                    println!("moved {n} dead letters back to their queues");
                }
            }
        }
    }
    Ok(())
}

async fn aws(action: AwsAction) -> Result<()> {
    let sdk = oms_aws::Sdk::from_env().await;
    match action {
        AwsAction::Init { prefix, sender } => {
            let report = oms_aws::init(&sdk, &prefix, sender.as_deref()).await?;
            for c in &report.created {
                println!("created\t{c}");
            }
            for e in &report.existing {
                println!("exists\t{e}");
            }
        }
        AwsAction::Queues { prefix } => {
            let urls = oms_aws::find_queues(&sdk, &prefix).await?;
            let sqs = oms_aws::SqsQueues::new(&sdk, urls, 1);
            println!("queue\twaiting\tdead letters");
            for (queue, waiting, dead) in sqs.depths().await? {
                println!("{}\t{waiting}\t{dead}", queue.as_str());
            }
        }
        AwsAction::Redrive { prefix, queue } => {
            let q = oms_domain::event::QueueName::parse(&queue)
                .ok_or_else(|| anyhow::anyhow!("no queue named `{queue}`"))?;
            let urls = oms_aws::find_queues(&sdk, &prefix).await?;
            let sqs = oms_aws::SqsQueues::new(&sdk, urls, 1);
            println!(
                "moved {} dead letters back to {queue}",
                sqs.redrive(q).await?
            );
        }
    }
    Ok(())
}
