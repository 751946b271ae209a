//! One contract for the ports, run on both backends: the embedded one
//! (SQLite, local queues) and the AWS one (DynamoDB Local, its stream relay,
//! and SQS on moto). A behaviour the stages rely on is asserted here once
//! and must hold on both.

use jiff::Timestamp;
use oms_aws::{DynamoStore, SqsQueues, StreamRelay};
use oms_domain::bank::{BankTransaction, BankTxStatus};
use oms_domain::catalog::SkuUpdate;
use oms_domain::event::{Envelope, EventType, QueueName};
use oms_domain::invoice::{build_invoice, Seller};
use oms_domain::order::fixtures::sample_order;
use oms_domain::order::{Order, OrderStatus, PaymentMethod};
use oms_domain::payment_reference::for_order;
use oms_domain::ports::{
    BankTransactionWrite, ChangeSet, CommitError, Conflict, Consumer, IdempotencyRecord,
    InvoiceWrite, OrderWrite, Publisher, StockChange, Store,
};
use oms_domain::{InvoiceNumber, OrderId, Sku, TaxRate};
use oms_embedded::{Embedded, QueueSettings};
use oms_tests::aws::aws_env;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

struct Backend {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    consumer: Arc<dyn Consumer>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn embedded() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let settings = QueueSettings {
        visibility_timeout: Duration::from_secs(30),
        max_attempts: 3,
    };
    let db = Embedded::open(&dir.path().join("oms.db"), settings).unwrap();
    Backend {
        store: Arc::new(db.clone()),
        publisher: Arc::new(db.clone()),
        consumer: Arc::new(db),
        _keep: Box::new(dir),
    }
}

async fn aws() -> Backend {
    let env = aws_env().await;
    let store = DynamoStore::new(&env.sdk, &env.prefix, Some(Duration::from_secs(3600)));
    let queues = SqsQueues::new(&env.sdk, env.resources.queues.clone(), 3);
    let (stop, watcher) = watch::channel(false);
    let relay = StreamRelay::new(&env.sdk, &env.prefix, queues.clone());
    tokio::spawn(relay.run(watcher));
    Backend {
        store: Arc::new(store),
        publisher: Arc::new(queues.clone()),
        consumer: Arc::new(queues),
        _keep: Box::new((stop, env.prefix)),
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name(super::embedded().await).await
            }
            #[tokio::test]
            async fn aws() {
                super::$name(super::aws().await).await
            }
        }
    )*};
}

on_both_backends!(
    stock_is_set_absolute_and_never_below_what_is_reserved,
    a_reservation_takes_all_lines_or_none_and_names_what_is_short,
    parallel_reservations_never_sell_a_unit_twice,
    an_order_is_written_once_and_then_only_over_the_version_read,
    an_idempotency_key_answers_once,
    invoice_numbers_have_no_gap_and_no_duplicate,
    a_provider_event_is_stored_once_and_booked_once,
    events_of_a_change_set_reach_their_queue,
    queues_retry_then_dead_letter,
    the_daily_facts_count_what_happened,
    transfer_orders_are_found_by_their_payment_reference,
    receivables_and_awaiting_orders_are_listed_as_they_change,
    a_bank_transaction_is_recorded_once_and_assigned_once,
);

fn sku(s: &str) -> Sku {
    Sku(s.to_string())
}

async fn stock(b: &Backend, name: &str, on_hand: i64) {
    b.store
        .put_sku(
            SkuUpdate {
                sku: sku(name),
                name: format!("Item {name}"),
                tax_rate: TaxRate::parse("19").unwrap(),
                on_hand,
            },
            Vec::new(),
        )
        .await
        .unwrap();
}

fn order(id: &str, skus: &[(&str, i64)]) -> Order {
    let mut o = sample_order();
    o.id = OrderId(format!("ord_{id}"));
    o.captured_at = Timestamp::now();
    let template = o.lines[0].clone();
    o.lines = skus
        .iter()
        .map(|(s, q)| {
            let mut l = template.clone();
            l.sku = sku(s);
            l.quantity = *q;
            l
        })
        .collect();
    o
}

fn reserve(o: &Order) -> Vec<StockChange> {
    o.units_per_sku()
        .into_iter()
        .map(|(sku, n)| StockChange {
            sku,
            on_hand: 0,
            reserved: n,
        })
        .collect()
}

fn new_order(o: &Order) -> ChangeSet {
    ChangeSet {
        order: Some(OrderWrite {
            order: o.clone(),
            expected_version: None,
        }),
        ..ChangeSet::default()
    }
}

async fn available(b: &Backend, name: &str) -> (i64, i64, i64) {
    let items = b.store.skus(&[sku(name)]).await.unwrap();
    let i = &items[&sku(name)];
    (i.on_hand, i.reserved, i.available)
}

async fn stock_is_set_absolute_and_never_below_what_is_reserved(b: Backend) {
    stock(&b, "A", 10).await;
    assert_eq!(available(&b, "A").await, (10, 0, 10));
    let o = order("1", &[("A", 4)]);
    b.store
        .commit(ChangeSet {
            stock: reserve(&o),
            ..new_order(&o)
        })
        .await
        .unwrap();
    assert_eq!(available(&b, "A").await, (10, 4, 6));
    let refused = b
        .store
        .put_sku(
            SkuUpdate {
                sku: sku("A"),
                name: "A".into(),
                tax_rate: TaxRate::parse("7").unwrap(),
                on_hand: 3,
            },
            Vec::new(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(CommitError::Conflict(Conflict::BelowReserved(4)))
        ),
        "{refused:?}"
    );
    let (item, created) = b
        .store
        .put_sku(
            SkuUpdate {
                sku: sku("A"),
                name: "Renamed".into(),
                tax_rate: TaxRate::parse("7").unwrap(),
                on_hand: 5,
            },
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!((item.on_hand, item.reserved, item.available), (5, 4, 1));
    assert_eq!(available(&b, "A").await, (5, 4, 1));
    assert!(b.store.skus(&[sku("NOPE")]).await.unwrap().is_empty());
}

async fn a_reservation_takes_all_lines_or_none_and_names_what_is_short(b: Backend) {
    stock(&b, "A", 5).await;
    stock(&b, "B", 1).await;
    stock(&b, "C", 0).await;
    let o = order("2", &[("A", 2), ("B", 2), ("C", 1)]);
    let refused = b
        .store
        .commit(ChangeSet {
            stock: reserve(&o),
            ..new_order(&o)
        })
        .await;
    match refused {
        Err(CommitError::Conflict(Conflict::InsufficientStock(short))) => {
            assert_eq!(short, vec![sku("B"), sku("C")])
        }
        other => panic!("expected short stock, got {other:?}"),
    }
    assert_eq!(available(&b, "A").await, (5, 0, 5), "nothing half-written");
    assert!(
        b.store.order(&o.id).await.unwrap().is_none(),
        "no order either"
    );
    let unknown = order("3", &[("A", 1), ("GHOST", 1)]);
    let refused = b
        .store
        .commit(ChangeSet {
            stock: reserve(&unknown),
            ..new_order(&unknown)
        })
        .await;
    assert!(
        matches!(&refused, Err(CommitError::Conflict(Conflict::UnknownSku(s))) if s == &sku("GHOST")),
        "{refused:?}"
    );
    // Stock comes back: shipping lowers on_hand and reserved together.
    let ok = order("4", &[("A", 2), ("B", 1)]);
    b.store
        .commit(ChangeSet {
            stock: reserve(&ok),
            ..new_order(&ok)
        })
        .await
        .unwrap();
    b.store
        .commit(ChangeSet {
            stock: vec![StockChange {
                sku: sku("A"),
                on_hand: -2,
                reserved: -2,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert_eq!(available(&b, "A").await, (3, 0, 3));
    assert_eq!(available(&b, "B").await, (1, 1, 0));
}

async fn parallel_reservations_never_sell_a_unit_twice(b: Backend) {
    stock(&b, "HOT", 5).await;
    let store = b.store.clone();
    let tries = (0..20).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let o = order(&format!("p{i}"), &[("HOT", 1)]);
            loop {
                match store
                    .commit(ChangeSet {
                        stock: reserve(&o),
                        ..new_order(&o)
                    })
                    .await
                {
                    Ok(()) => return true,
                    Err(CommitError::Conflict(Conflict::InsufficientStock(_))) => return false,
                    // DynamoDB refuses transactions that touch an item in
                    // another transaction's flight: a retry, not a result.
                    Err(CommitError::Store(_)) => {
                        tokio::time::sleep(Duration::from_millis(20)).await
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
    });
    let mut sold = 0;
    for t in tries {
        sold += t.await.unwrap() as i64;
    }
    assert_eq!(sold, 5);
    assert_eq!(available(&b, "HOT").await, (5, 5, 0));
}

async fn an_order_is_written_once_and_then_only_over_the_version_read(b: Backend) {
    let o = order("5", &[("A", 1)]);
    b.store.commit(new_order(&o)).await.unwrap();
    let again = b.store.commit(new_order(&o)).await;
    assert!(matches!(
        again,
        Err(CommitError::Conflict(Conflict::OrderChanged))
    ));
    let mut next = b.store.order(&o.id).await.unwrap().unwrap();
    assert_eq!(next, o);
    next.transition(OrderStatus::Reserved, Timestamp::now())
        .unwrap();
    next.version = 2;
    b.store
        .commit(ChangeSet::order_update(next.clone(), 1))
        .await
        .unwrap();
    let stale = b
        .store
        .commit(ChangeSet::order_update(next.clone(), 1))
        .await;
    assert!(matches!(
        stale,
        Err(CommitError::Conflict(Conflict::OrderChanged))
    ));
    let read = b.store.order(&o.id).await.unwrap().unwrap();
    assert_eq!((read.version, read.status), (2, OrderStatus::Reserved));
}

async fn an_idempotency_key_answers_once(b: Backend) {
    let o = order("6", &[("A", 1)]);
    let record = IdempotencyRecord {
        key: "key-1".into(),
        body_hash: "abc".into(),
        status: 201,
        response: "{\"id\":\"ord_6\"}".into(),
        order_id: o.id.clone(),
        created_at: Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap(),
    };
    b.store
        .commit(ChangeSet {
            idempotency: Some(record.clone()),
            ..new_order(&o)
        })
        .await
        .unwrap();
    assert_eq!(
        b.store.idempotency("key-1").await.unwrap(),
        Some(record.clone())
    );
    let o2 = order("7", &[("A", 1)]);
    let second = b
        .store
        .commit(ChangeSet {
            idempotency: Some(record),
            ..new_order(&o2)
        })
        .await;
    assert!(matches!(
        second,
        Err(CommitError::Conflict(Conflict::IdempotencyKeyTaken))
    ));
    assert!(b.store.order(&o2.id).await.unwrap().is_none());
    assert!(b.store.idempotency("key-2").await.unwrap().is_none());
}

fn invoice_for(o: &Order, seq: u64) -> InvoiceWrite {
    let number = InvoiceNumber(format!("INV-2026-{seq:06}"));
    let seller = Seller {
        name: "Shop".into(),
        street: "Heidestr. 1".into(),
        postal_code: "51147".into(),
        city: "Köln".into(),
        country: "DE".into(),
        vat_id: "DE123456789".into(),
        email: "shop@example.com".into(),
        iban: None,
        contact: Default::default(),
    };
    InvoiceWrite {
        invoice: build_invoice(o, number, Timestamp::now(), seller),
        series: "INV-2026".into(),
        sequence: seq,
    }
}

async fn invoice_numbers_have_no_gap_and_no_duplicate(b: Backend) {
    let o = order("8", &[("A", 1)]);
    assert_eq!(b.store.last_invoice_sequence("INV-2026").await.unwrap(), 0);
    let commit = |w: InvoiceWrite| {
        let store = b.store.clone();
        async move {
            store
                .commit(ChangeSet {
                    invoice: Some(w),
                    ..ChangeSet::default()
                })
                .await
        }
    };
    let skip = commit(invoice_for(&o, 2)).await;
    assert!(
        matches!(
            skip,
            Err(CommitError::Conflict(Conflict::InvoiceSequenceTaken))
        ),
        "{skip:?}"
    );
    commit(invoice_for(&o, 1)).await.unwrap();
    let twice = commit(invoice_for(&o, 1)).await;
    assert!(matches!(
        twice,
        Err(CommitError::Conflict(Conflict::InvoiceSequenceTaken))
    ));
    commit(invoice_for(&o, 2)).await.unwrap();
    assert_eq!(b.store.last_invoice_sequence("INV-2026").await.unwrap(), 2);
    let n1 = InvoiceNumber("INV-2026-000001".into());
    let read = b.store.invoice(&n1).await.unwrap().unwrap();
    assert_eq!((read.number.clone(), read.total), (n1.clone(), o.total));
    assert!(!b.store.invoice_emailed(&n1).await.unwrap());
    b.store
        .mark_invoice_emailed(&n1, Timestamp::now())
        .await
        .unwrap();
    b.store
        .mark_invoice_emailed(&n1, Timestamp::now())
        .await
        .unwrap();
    assert!(b.store.invoice_emailed(&n1).await.unwrap());
    assert!(b
        .store
        .invoice(&InvoiceNumber("INV-2026-000009".into()))
        .await
        .unwrap()
        .is_none());
}

async fn a_provider_event_is_stored_once_and_booked_once(b: Backend) {
    use oms_domain::payment::{PaymentEvent, PaymentEventKind};
    use oms_domain::ports::StoredPaymentEvent;
    let stored = StoredPaymentEvent {
        event: PaymentEvent {
            provider: "stripe".into(),
            event_id: "evt_1".into(),
            order_id: Some("ord_9".into()),
            payment_intent: Some("pi_9".into()),
            kind: PaymentEventKind::Received {
                amount: 100,
                currency: "eur".into(),
            },
        },
        raw: "{\"id\":\"evt_1\"}".into(),
        received_at: Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap(),
    };
    let store = |p: StoredPaymentEvent| ChangeSet {
        payment_event: Some(p),
        ..ChangeSet::default()
    };
    b.store.commit(store(stored.clone())).await.unwrap();
    let dup = b.store.commit(store(stored.clone())).await;
    assert!(matches!(
        dup,
        Err(CommitError::Conflict(Conflict::DuplicatePaymentEvent))
    ));
    assert_eq!(
        b.store.payment_event("stripe", "evt_1").await.unwrap(),
        Some(stored)
    );
    let book = || ChangeSet {
        payment_event_booked: Some(("stripe".into(), "evt_1".into())),
        payment_intent: Some(("pi_9".into(), OrderId("ord_9".into()))),
        ..ChangeSet::default()
    };
    assert_eq!(b.store.order_of_payment_intent("pi_9").await.unwrap(), None);
    b.store.commit(book()).await.unwrap();
    assert_eq!(
        b.store.order_of_payment_intent("pi_9").await.unwrap(),
        Some(OrderId("ord_9".into())),
        "the payment finds its order"
    );
    let again = b.store.commit(book()).await;
    assert!(matches!(
        again,
        Err(CommitError::Conflict(Conflict::DuplicatePaymentEvent))
    ));
}

/// Receives from `queue` until `n` messages came or 20 s passed.
async fn drain(b: &Backend, queue: QueueName, n: usize) -> Vec<Envelope> {
    drain_for(b, queue, n, Duration::from_secs(20)).await
}

async fn drain_for(b: &Backend, queue: QueueName, n: usize, wait: Duration) -> Vec<Envelope> {
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    while got.len() < n && started.elapsed() < wait {
        for d in b.consumer.receive(queue, 10).await.unwrap() {
            got.push(Envelope::from_json(&d.body).unwrap());
            b.consumer.ack(&d).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got
}

async fn events_of_a_change_set_reach_their_queue(b: Backend) {
    let o = order("10", &[("A", 1)]);
    let captured = Envelope::new(
        EventType::OrderCaptured,
        Some(o.id.clone()),
        "corr-1",
        Timestamp::now(),
    );
    b.store
        .commit(ChangeSet {
            events: vec![captured.clone()],
            ..new_order(&o)
        })
        .await
        .unwrap();
    // A refused change set publishes nothing.
    let refused = b
        .store
        .commit(ChangeSet {
            events: vec![Envelope::new(
                EventType::OrderCaptured,
                Some(o.id.clone()),
                "x",
                Timestamp::now(),
            )],
            ..new_order(&o)
        })
        .await;
    assert!(refused.is_err());
    // Events without an order to carry them, and from stock changes.
    let shipped = Envelope::new(
        EventType::OrderShipped,
        Some(o.id.clone()),
        "corr-1",
        Timestamp::now(),
    );
    b.store
        .commit(ChangeSet {
            events: vec![shipped.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let restocked = Envelope::new(
        EventType::StockReplenished,
        None,
        "corr-2",
        Timestamp::now(),
    );
    b.store
        .put_sku(
            SkuUpdate {
                sku: sku("A"),
                name: "A".into(),
                tax_rate: TaxRate::parse("19").unwrap(),
                on_hand: 3,
            },
            vec![restocked.clone()],
        )
        .await
        .unwrap();
    let reserve_queue = drain(&b, QueueName::Reserve, 2).await;
    assert_eq!(reserve_queue, vec![captured, restocked]);
    assert_eq!(drain(&b, QueueName::Invoice, 1).await, vec![shipped]);
    // Nothing more arrives (e.g. from later writes to the same items).
    b.store
        .mark_invoice_emailed(&InvoiceNumber("INV-X".into()), Timestamp::now())
        .await
        .unwrap();
    assert!(drain_for(&b, QueueName::Reserve, 1, Duration::from_secs(3))
        .await
        .is_empty());
}

async fn queues_retry_then_dead_letter(b: Backend) {
    let e = Envelope::new(
        EventType::OrderShipped,
        Some(OrderId("ord_11".into())),
        "c",
        Timestamp::now(),
    );
    b.publisher
        .publish(e.clone(), Duration::ZERO)
        .await
        .unwrap();
    let mut attempts = 0;
    let started = std::time::Instant::now();
    // Max attempts is 3: two retries, then the third failure parks it.
    while started.elapsed() < Duration::from_secs(30) {
        let batch = b.consumer.receive(QueueName::Invoice, 10).await.unwrap();
        for d in batch {
            attempts += 1;
            assert_eq!(d.attempts, attempts);
            assert_eq!(Envelope::from_json(&d.body).unwrap(), e);
            b.consumer
                .retry(&d, Duration::ZERO, "try again")
                .await
                .unwrap();
        }
        if attempts == 3 {
            break;
        }
    }
    assert_eq!(attempts, 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        b.consumer
            .receive(QueueName::Invoice, 10)
            .await
            .unwrap()
            .is_empty(),
        "parked, not retried"
    );
    // A delayed message waits.
    b.publisher
        .publish(e.clone(), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(b
        .consumer
        .receive(QueueName::Invoice, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(drain(&b, QueueName::Invoice, 1).await, vec![e]);
}

async fn the_daily_facts_count_what_happened(b: Backend) {
    let now = Timestamp::now();
    let mut o = order("12", &[("A", 1)]);
    o.captured_at = now;
    b.store.commit(new_order(&o)).await.unwrap();
    let mut shipped = o.clone();
    shipped.note("reserved", now + jiff::SignedDuration::from_millis(250));
    shipped.note("handed_off", now + jiff::SignedDuration::from_millis(1_500));
    shipped.note("shipped", now + jiff::SignedDuration::from_secs(90));
    shipped.version = 2;
    b.store
        .commit(ChangeSet::order_update(shipped.clone(), 1))
        .await
        .unwrap();
    let mut w = invoice_for(&shipped, 1);
    w.invoice.issued_at = now;
    b.store
        .commit(ChangeSet {
            invoice: Some(w),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let day_start = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let end = day_start + jiff::SignedDuration::from_hours(48);
    // Indexes are eventually consistent: wait for them to show the facts.
    let started = std::time::Instant::now();
    loop {
        let f = b.store.daily_facts(day_start, end).await.unwrap();
        if f.orders_captured == 1 && f.invoices_issued == 1 && f.orders_shipped == 1 {
            let lead: Vec<i64> = f
                .lead_times
                .iter()
                .map(|t| t.shipped - t.captured)
                .collect();
            assert_eq!(lead, vec![90_000]);
            let t = f.lead_times[0];
            assert_eq!(t.reserved.map(|r| r - t.captured), Some(250));
            assert_eq!(t.handed_off.map(|h| h - t.captured), Some(1_500));
            assert_eq!(f.revenue.get("EUR"), Some(&o.total));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "facts never showed: {f:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = b
        .store
        .daily_facts(day_start - jiff::SignedDuration::from_hours(24), day_start)
        .await
        .unwrap();
    assert_eq!((before.orders_captured, before.invoices_issued), (0, 0));
}

async fn transfer_orders_are_found_by_their_payment_reference(b: Backend) {
    let mut transfer = order("REFTRANSFER0000000000000001", &[("MUG", 1)]);
    transfer.payment_method = PaymentMethod::BankTransfer;
    let mut invoice = order("REFINVOICE00000000000000001", &[("MUG", 1)]);
    invoice.payment_method = PaymentMethod::Invoice;
    let card = order("REFCARD000000000000000000001", &[("MUG", 1)]);
    for o in [&transfer, &invoice, &card] {
        b.store.commit(new_order(o)).await.unwrap();
    }
    for o in [&transfer, &invoice] {
        let rf = for_order(&o.id);
        assert_eq!(
            b.store.order_of_payment_reference(&rf).await.unwrap(),
            Some(o.id.clone())
        );
    }
    // Card orders are paid at checkout: no index entry is written for them.
    assert_eq!(
        b.store
            .order_of_payment_reference(&for_order(&card.id))
            .await
            .unwrap(),
        None
    );
}

async fn receivables_and_awaiting_orders_are_listed_as_they_change(b: Backend) {
    stock(&b, "MUG", 10).await;
    let mut waiting = order("AWAIT", &[("MUG", 1)]);
    waiting.payment_method = PaymentMethod::BankTransfer;
    b.store.commit(new_order(&waiting)).await.unwrap();
    assert!(b.store.orders_awaiting_payment().await.unwrap().is_empty());
    let mut next = waiting.clone();
    next.version += 1;
    next.transition(OrderStatus::AwaitingPayment, Timestamp::now())
        .unwrap();
    b.store
        .commit(ChangeSet {
            stock: reserve(&next),
            ..ChangeSet::order_update(next.clone(), waiting.version)
        })
        .await
        .unwrap();
    assert_eq!(
        b.store.orders_awaiting_payment().await.unwrap(),
        [waiting.id.clone()]
    );

    // Invoiced and unpaid: a receivable with its due date and level.
    let mut billed = order("BILLED", &[("MUG", 1)]);
    billed.payment_method = PaymentMethod::Invoice;
    b.store.commit(new_order(&billed)).await.unwrap();
    assert!(b.store.receivables().await.unwrap().is_empty());
    let mut invoiced = billed.clone();
    invoiced.version += 1;
    invoiced.invoice_number = Some(InvoiceNumber::new(2026, 77));
    invoiced.due_date = Some("2026-12-10".parse().unwrap());
    invoiced.dunning.level = 1;
    b.store
        .commit(ChangeSet::order_update(invoiced.clone(), billed.version))
        .await
        .unwrap();
    let open = b.store.receivables().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].order_id, billed.id);
    assert_eq!(open[0].amount_due, billed.total);
    assert_eq!(open[0].due_date, invoiced.due_date);
    assert_eq!(open[0].dunning_level, 1);
    assert_eq!(open[0].invoice_number.as_deref(), Some("INV-2026-000077"));

    // Paid in full: no longer open.
    let mut paid = invoiced.clone();
    paid.version += 1;
    paid.ledger.received = paid.total;
    b.store
        .commit(ChangeSet::order_update(paid, invoiced.version))
        .await
        .unwrap();
    assert!(b.store.receivables().await.unwrap().is_empty());
}

async fn a_bank_transaction_is_recorded_once_and_assigned_once(b: Backend) {
    let item = oms_domain::bank::BankItem {
        key: "ACCT-REF-1".into(),
        booked: true,
        credit: true,
        reversal: false,
        return_reason: None,
        amount: 4200,
        currency: "EUR".into(),
        booked_on: Some("2026-12-01".parse().unwrap()),
        debtor_name: Some("K. Unbekannt".into()),
        debtor_iban: None,
        structured_reference: None,
        remittance: "Danke".into(),
    };
    let t = BankTransaction::new("STMT-1", &item, BankTxStatus::Unmatched);
    let record = |t: BankTransaction, expected| ChangeSet {
        bank_transaction: Some(BankTransactionWrite {
            transaction: t,
            expected,
        }),
        ..ChangeSet::default()
    };
    b.store.commit(record(t.clone(), None)).await.unwrap();
    assert!(matches!(
        b.store.commit(record(t.clone(), None)).await,
        Err(CommitError::Conflict(Conflict::BankTransactionTaken))
    ));
    assert_eq!(
        b.store.bank_transaction("ACCT-REF-1").await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(
        b.store.unmatched_bank_transactions().await.unwrap(),
        std::slice::from_ref(&t)
    );

    let mut assigned = t.clone();
    assigned.status = BankTxStatus::Assigned;
    assigned.order_id = Some(OrderId("ord_X".into()));
    b.store
        .commit(record(assigned.clone(), Some(BankTxStatus::Unmatched)))
        .await
        .unwrap();
    assert!(matches!(
        b.store
            .commit(record(assigned.clone(), Some(BankTxStatus::Unmatched)))
            .await,
        Err(CommitError::Conflict(Conflict::BankTransactionTaken))
    ));
    assert!(b
        .store
        .unmatched_bank_transactions()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        b.store.bank_transaction("ACCT-REF-1").await.unwrap(),
        Some(assigned)
    );
}
