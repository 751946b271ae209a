//! The local dispatcher: messages that can never succeed are parked in dead
//! letters at once; the demo runs end to end.

use oms_domain::event::{Envelope, EventType};
use oms_domain::ports::Publisher;
use oms_domain::OrderId;
use oms_tests::*;
use std::time::{Duration, Instant};

async fn wait_dead_letters(h: &Harness, n: usize) -> Vec<oms_embedded::DeadLetter> {
    let started = Instant::now();
    loop {
        let dead = h
            .running
            .store
            .as_ref()
            .unwrap()
            .dead_letters()
            .await
            .unwrap();
        if dead.len() >= n || started.elapsed() > Duration::from_secs(10) {
            return dead;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_message_for_an_unknown_order_is_dead_lettered_at_once() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let event = Envelope::new(
        EventType::OrderCaptured,
        Some(OrderId::from("ord_nobody")),
        "c",
        jiff::Timestamp::now(),
    );
    h.running
        .store
        .as_ref()
        .unwrap()
        .publish(event, Duration::ZERO)
        .await
        .unwrap();
    let dead = wait_dead_letters(&h, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].queue.as_str(), dead[0].attempts),
        ("reserve", 1),
        "not retried"
    );
    assert!(
        dead[0].reason.contains("unknown order ord_nobody"),
        "{}",
        dead[0].reason
    );
}

#[tokio::test]
async fn an_unreadable_message_is_dead_lettered_at_once() {
    let h = Harness::simulated(Duration::from_secs(60)).await;
    let conn = rusqlite::Connection::open(h.dir.path().join("oms.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute("INSERT INTO queue (queue, body, visible_ms, enqueued_ms) VALUES ('fulfill', '{not json', 0, 0)", []).unwrap();
    drop(conn);
    // Wake the worker by putting a real message behind it.
    h.stock("MUG", "19", 1).await;
    let id = h.place("after-garbage", &[("MUG", 1, 100)]).await;
    h.wait_status(&id, "handed_off").await;
    let dead = wait_dead_letters(&h, 1).await;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].reason.contains("unreadable message"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].body, "{not json");
}

#[tokio::test]
async fn the_demo_reaches_every_expected_end_state() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = oms::demo::run(12, dir.path().to_path_buf()).await.unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    // 12 orders, the backorder and the 4 paid by bank statement ship; the
    // cancelled one does not; the exchange's replacement order ships too.
    assert_eq!(outcome.emails, 17, "counted before the exchange");
    assert_eq!(outcome.report["orders_captured"], 19);
    assert_eq!(outcome.report["orders_shipped"], 18);
    assert_eq!(outcome.report["invoices_issued"], 18);
    assert_eq!(outcome.report["orders_cancelled"], 1);
    assert_eq!(
        outcome.report["open_receivables"]["EUR"], 0,
        "the replacement is paid by the credit"
    );
}
