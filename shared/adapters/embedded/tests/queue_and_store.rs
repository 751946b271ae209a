//! The embedded adapters' contract: queue semantics like SQS with a redrive
//! policy, and all-or-nothing change sets.

use jiff::Timestamp;
use oms_domain::catalog::SkuUpdate;
use oms_domain::event::{Envelope, EventType, QueueName};
use oms_domain::ports::{
    ChangeSet, CommitError, Conflict, Consumer, Publisher, StockChange, Store,
};
use oms_domain::{OrderId, Sku, TaxRate};
use oms_embedded::{Embedded, QueueSettings};
use std::time::Duration;

fn open(dir: &tempfile::TempDir, visibility_ms: u64, max_attempts: u32) -> Embedded {
    let settings = QueueSettings {
        visibility_timeout: Duration::from_millis(visibility_ms),
        max_attempts,
    };
    Embedded::open(&dir.path().join("oms.db"), settings).unwrap()
}

fn shipped_event(n: usize) -> Envelope {
    Envelope::new(
        EventType::OrderShipped,
        Some(OrderId(format!("ord_{n}"))),
        "c",
        Timestamp::now(),
    )
}

#[tokio::test]
async fn a_received_message_is_invisible_until_its_timeout_then_delivered_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 200, 5);
    db.publish(shipped_event(1), Duration::ZERO).await.unwrap();
    let first = db.receive(QueueName::Invoice, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(
        db.receive(QueueName::Invoice, 10).await.unwrap().is_empty(),
        "in flight"
    );
    assert!(
        db.receive(QueueName::Reserve, 10).await.unwrap().is_empty(),
        "other queues are separate"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = db.receive(QueueName::Invoice, 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    // The first, stale receipt no longer deletes it; the current one does.
    db.ack(&first[0]).await.unwrap();
    assert_eq!(
        db.queue_depths().await.unwrap(),
        vec![("invoice".to_string(), 1)]
    );
    db.ack(&again[0]).await.unwrap();
    assert!(db.queue_depths().await.unwrap().is_empty());
}

#[tokio::test]
async fn transient_failures_retry_with_delay_then_dead_letter_and_redrive() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 30_000, 3);
    db.publish(shipped_event(2), Duration::ZERO).await.unwrap();
    for attempt in 1..=3 {
        let d = loop {
            if let Some(d) = db.receive(QueueName::Invoice, 1).await.unwrap().pop() {
                break d;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(d.attempts, attempt);
        db.retry(&d, Duration::from_millis(20), "warehouse down")
            .await
            .unwrap();
        assert!(
            db.receive(QueueName::Invoice, 1).await.unwrap().is_empty(),
            "delayed, not at once"
        );
    }
    let dead = db.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .contains("gave up after 3 attempts: warehouse down"),
        "{}",
        dead[0].reason
    );
    assert!(db.queue_depths().await.unwrap().is_empty());
    assert_eq!(db.redrive(None).await.unwrap(), 1);
    let back = db.receive(QueueName::Invoice, 1).await.unwrap();
    assert_eq!(
        (back.len(), back[0].attempts),
        (1, 1),
        "a fresh start after redrive"
    );
    assert!(db.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn permanent_failures_dead_letter_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 30_000, 8);
    db.publish(shipped_event(3), Duration::ZERO).await.unwrap();
    let d = db
        .receive(QueueName::Invoice, 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    db.dead_letter(&d, "unknown order").await.unwrap();
    let dead = db.dead_letters().await.unwrap();
    assert_eq!(
        (dead.len(), dead[0].attempts, dead[0].reason.as_str()),
        (1, 1, "unknown order")
    );
    assert!(dead[0].body.contains("ord_3"));
}

#[tokio::test]
async fn delayed_messages_wait_and_restarts_keep_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(&dir, 60_000, 8);
        db.publish(shipped_event(4), Duration::from_millis(150))
            .await
            .unwrap();
        db.publish(shipped_event(5), Duration::ZERO).await.unwrap();
        let taken = db.receive(QueueName::Invoice, 10).await.unwrap();
        assert_eq!(taken.len(), 1, "the delayed one is not due yet");
    }
    // A new process on the same file: the in-flight message is resumed at once.
    let db = open(&dir, 60_000, 8);
    assert_eq!(db.recover_in_flight().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut bodies: Vec<String> = db
        .receive(QueueName::Invoice, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.body)
        .collect();
    bodies.sort();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies.iter().any(|b| b.contains("ord_4")) && bodies.iter().any(|b| b.contains("ord_5"))
    );
}

#[tokio::test]
async fn a_refused_change_set_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 30_000, 8);
    for (sku, on_hand) in [("A", 5), ("B", 1)] {
        let update = SkuUpdate {
            sku: Sku::from(sku),
            name: sku.into(),
            tax_rate: TaxRate::parse("19").unwrap(),
            on_hand,
        };
        db.put_sku(update, vec![]).await.unwrap();
    }
    let changes = ChangeSet {
        stock: vec![
            StockChange {
                sku: Sku::from("A"),
                on_hand: 0,
                reserved: 3,
            },
            StockChange {
                sku: Sku::from("B"),
                on_hand: 0,
                reserved: 2,
            },
        ],
        events: vec![shipped_event(6)],
        ..ChangeSet::default()
    };
    match db.commit(changes).await {
        Err(CommitError::Conflict(Conflict::InsufficientStock(short))) => {
            assert_eq!(short, vec![Sku::from("B")])
        }
        other => panic!("expected a stock conflict, got {other:?}"),
    }
    let skus = db.skus(&[Sku::from("A"), Sku::from("B")]).await.unwrap();
    assert_eq!(
        skus[&Sku::from("A")].reserved,
        0,
        "A's part was rolled back"
    );
    assert!(
        db.queue_depths().await.unwrap().is_empty(),
        "no event escaped"
    );
    let unknown = ChangeSet {
        stock: vec![StockChange {
            sku: Sku::from("Z"),
            on_hand: 0,
            reserved: 1,
        }],
        ..ChangeSet::default()
    };
    assert!(matches!(
        db.commit(unknown).await,
        Err(CommitError::Conflict(Conflict::UnknownSku(_)))
    ));
}

#[tokio::test]
async fn old_idempotency_keys_are_forgotten_and_recent_ones_kept() {
    use oms_domain::ports::IdempotencyRecord;
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, 30_000, 8);
    let now = Timestamp::now();
    for (key, age_hours) in [("old", 200), ("recent", 1)] {
        let record = IdempotencyRecord {
            key: key.into(),
            body_hash: "h".into(),
            status: 201,
            response: "{}".into(),
            order_id: OrderId::from("ord_1"),
            created_at: now - jiff::SignedDuration::from_hours(age_hours),
        };
        db.commit(ChangeSet {
            idempotency: Some(record),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    }
    let forgotten = db
        .forget_idempotency_keys(now - jiff::SignedDuration::from_hours(168))
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    assert!(db.idempotency("old").await.unwrap().is_none());
    assert!(db.idempotency("recent").await.unwrap().is_some());
}
