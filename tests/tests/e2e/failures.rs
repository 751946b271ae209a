//! What a retry cannot fix is not retried: a warehouse that refuses a
//! hand-off (4xx other than 408/429) dead-letters it at once, with its
//! answer as the reason; one that is busy (429) is tried again. Stored data
//! that cannot be read answers 500 with a code saying so, not 503.

use axum::http::StatusCode;
use oms_tests::{FakeWarehouse, Harness};
use std::time::{Duration, Instant};

async fn dead_letters(h: &Harness) -> Vec<oms_embedded::DeadLetter> {
    h.running
        .store
        .as_ref()
        .unwrap()
        .dead_letters()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_hand_off_is_dead_lettered_at_once_with_the_warehouse_answer() {
    let wh = FakeWarehouse::answering(StatusCode::UNPROCESSABLE_ENTITY, usize::MAX).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("k1", &[("MUG", 1, 1000)]).await;
    h.wait_status(&id, "reserved").await;
    let started = Instant::now();
    let dead = loop {
        let dead = dead_letters(&h).await;
        if !dead.is_empty() {
            break dead;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].queue.as_str(), dead[0].attempts), ("fulfill", 1));
    assert!(dead[0].reason.contains("422"), "{}", dead[0].reason);
    assert_eq!(
        wh.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "asked once"
    );
    assert_eq!(h.order(&id).await["status"], "reserved");
}

#[tokio::test]
async fn a_busy_warehouse_is_asked_again() {
    let wh = FakeWarehouse::answering(StatusCode::TOO_MANY_REQUESTS, 2).await;
    let h = Harness::with_warehouse(&wh).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("k1", &[("MUG", 1, 1000)]).await;
    h.wait_status(&id, "handed_off").await;
    assert_eq!(wh.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(dead_letters(&h).await.is_empty());
}

#[tokio::test]
async fn unreadable_stored_data_is_a_500_that_says_so() {
    let h = Harness::simulated(Duration::from_secs(3600)).await;
    h.stock("MUG", "19", 5).await;
    let id = h.place("k1", &[("MUG", 1, 1000)]).await;
    h.wait_status(&id, "handed_off").await;
    let db = rusqlite::Connection::open(h.dir.path().join("oms.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute(
        "UPDATE orders SET doc = '{\"not\": \"an order\"}' WHERE id = ?1",
        [&id],
    )
    .unwrap();
    let answer = h.admin.get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "stored_data_unreadable");
    assert!(
        !answer.body.to_string().contains("missing field"),
        "no internals in the answer: {}",
        answer.body
    );
}
