//! The one way an order is changed under optimistic concurrency: read it,
//! decide with pure domain code, commit the change unless another writer
//! got there first (the store compares versions), and on a lost race start
//! again from a fresh read, a bounded number of times. Every stage writes
//! orders through [`update_order`].

use crate::order::Order;
use crate::ports::{commit_unless_raced, ChangeSet, CommitError, Store};
use crate::{FulfillmentId, OrderId, StoreError};

/// Rounds before giving up; the caller's error then says "try again
/// later" (the queue retries with backoff, the API answers 503). Each
/// round loses only to a write that succeeded, so this is reached only
/// under extreme contention on one order.
pub const MAX_ROUNDS: usize = 100;

/// How the order is found.
#[derive(Debug, Clone, Copy)]
pub enum OrderKey<'a> {
    Id(&'a OrderId),
    Fulfillment(&'a FulfillmentId),
}

/// What one round came to.
#[derive(Debug)]
pub enum Round<T> {
    /// Finished (written, or nothing to write).
    Done(T),
    /// The order changed between read and write: read again and redo.
    Raced,
}

/// Runs `round` on the order as stored (`None`: there is no such order)
/// until it is done, at most [`MAX_ROUNDS`] times. `round` decides and
/// commits, usually with [`commit_order`], and says whether it raced.
///
/// `round` is a `move` closure over references returning `async move`
/// (not an async closure, whose futures the compiler cannot yet prove
/// `Send` for the tasks that run stages).
pub async fn update_order<S, T, E, F, Fut>(
    store: &S,
    key: OrderKey<'_>,
    mut round: F,
) -> Result<T, E>
where
    S: Store + ?Sized,
    E: From<StoreError>,
    F: FnMut(Option<Order>) -> Fut,
    Fut: std::future::Future<Output = Result<Round<T>, E>>,
{
    for _ in 0..MAX_ROUNDS {
        let order = match key {
            OrderKey::Id(id) => store.order(id).await?,
            OrderKey::Fulfillment(id) => store.order_by_fulfillment(id).await?,
        };
        if let Round::Done(done) = round(order).await? {
            return Ok(done);
        }
    }
    let what = match key {
        OrderKey::Id(id) => format!("order {id}"),
        OrderKey::Fulfillment(id) => format!("the order of fulfillment {id}"),
    };
    Err(StoreError::unavailable(format!("{what} kept changing ({MAX_ROUNDS} rounds)")).into())
}

/// Commits `changes`, which write the order over the version read, and
/// finishes the round with `done`; a lost race is [`Round::Raced`]. Other
/// refusals are errors for the caller to interpret.
pub async fn commit_order<S, T>(
    store: &S,
    changes: ChangeSet,
    done: T,
) -> Result<Round<T>, CommitError>
where
    S: Store + ?Sized,
{
    Ok(if commit_unless_raced(store, changes).await? {
        Round::Done(done)
    } else {
        Round::Raced
    })
}

/// The order as its next version, to be changed and written over `order`.
pub fn next_version(order: &Order) -> Order {
    let mut next = order.clone();
    next.version += 1;
    next
}
