//! A stage's real Lambda binary against a fake Lambda Runtime API on
//! loopback: it initialises without calling AWS (every AWS endpoint points
//! at a listener that counts connections) and answers an SQS batch through
//! the runtime protocol with a partial batch response.

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --all-targets` first (scripts/test.sh does)",
        path.display()
    );
    path
}

#[derive(Clone, Default)]
struct Runtime {
    /// Invocations handed out so far.
    handed: Arc<AtomicUsize>,
    /// (request id, response body) the function posted.
    responses: Arc<Mutex<Vec<(String, String)>>>,
}

/// The first `next` gets an SQS batch with no records; later ones wait.
async fn next(State(rt): State<Runtime>) -> (HeaderMap, String) {
    if rt.handed.fetch_add(1, Ordering::SeqCst) > 0 {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "req-1".parse().unwrap());
    let deadline = jiff::Timestamp::now().as_millisecond() + 30_000;
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:reserve"
            .parse()
            .unwrap(),
    );
    (headers, r#"{"Records":[]}"#.to_string())
}

async fn response(
    State(rt): State<Runtime>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> &'static str {
    rt.responses.lock().unwrap().push((id, body));
    "{}"
}

#[tokio::test]
async fn a_stage_initialises_without_calling_aws_and_answers_through_the_runtime_api() {
    // Anything that dials AWS lands here and is counted.
    let aws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let aws_addr = aws.local_addr().unwrap();
    let dialed = Arc::new(AtomicUsize::new(0));
    let counter = dialed.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = aws.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    let rt = Runtime::default();
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let endpoint = format!("http://{aws_addr}");
    let mut child = Command::new(binary("reserve"))
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "reserve".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_SESSION_TOKEN", "test".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("OMS_TABLE", "oms".into()),
            (
                "OMS_RESERVE_QUEUE_URL",
                format!("{endpoint}/000000000000/oms-reserve"),
            ),
            (
                "OMS_RESERVE_DLQ_URL",
                format!("{endpoint}/000000000000/oms-reserve-dlq"),
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let started = Instant::now();
    while rt.responses.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(exited, None, "the function stays up between invocations");
    let responses = rt.responses.lock().unwrap().clone();
    assert_eq!(responses.len(), 1, "one answer for one invocation");
    assert_eq!(responses[0].0, "req-1");
    let answer: serde_json::Value = serde_json::from_str(&responses[0].1).unwrap();
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
    assert_eq!(
        dialed.load(Ordering::SeqCst),
        0,
        "no call to AWS at init or for an empty batch"
    );
}
