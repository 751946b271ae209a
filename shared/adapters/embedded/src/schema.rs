//! The SQLite schema. `user_version` records which migrations ran.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE skus (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tax_rate_bp INTEGER NOT NULL,
    on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_ms INTEGER NOT NULL,
    CHECK (on_hand >= reserved)
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    fulfillment_id TEXT UNIQUE,
    captured_ms INTEGER NOT NULL,
    shipped_ms INTEGER,
    backordered_ms INTEGER,
    cancelled_ms INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX orders_captured ON orders (captured_ms);
CREATE INDEX orders_shipped ON orders (shipped_ms);
CREATE TABLE order_skus (
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    PRIMARY KEY (sku, order_id)
) WITHOUT ROWID;
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    order_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE invoice_series (
    series TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
CREATE TABLE invoices (
    number TEXT PRIMARY KEY,
    -- 'invoice' or 'credit_note'; one invoice per order is kept by the order's version check
    kind TEXT NOT NULL,
    order_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    issued_ms INTEGER NOT NULL,
    emailed_ms INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX invoices_issued ON invoices (issued_ms);
CREATE INDEX invoices_order ON invoices (order_id);
CREATE TABLE payment_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    booked_ms INTEGER,
    parsed TEXT NOT NULL,
    raw TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX ledger_order ON ledger (order_id);
CREATE INDEX ledger_at ON ledger (at_ms);
CREATE TABLE mismatches (
    id INTEGER PRIMARY KEY,
    order_id TEXT,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX mismatches_at ON mismatches (at_ms);
CREATE TABLE queue (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_ms INTEGER NOT NULL,
    enqueued_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX queue_visible ON queue (queue, visible_ms);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    failed_ms INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE payment_intents (
    payment_intent TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- Invoiced orders with money open: the receivables report and the dunning
-- run read these summaries, not the order documents. A column written in
-- the order's own statement, and partial indexes, so that the orders that
-- are neither open nor waiting cost nothing extra.
ALTER TABLE orders ADD COLUMN receivable TEXT;
CREATE INDEX orders_receivable ON orders (id) WHERE receivable IS NOT NULL;
CREATE INDEX orders_awaiting_payment ON orders (captured_ms) WHERE status = 'awaiting_payment';
CREATE TABLE payment_references (
    reference TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE bank_transactions (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX bank_transactions_status ON bank_transactions (status, recorded_ms);
"#,
    r#"
CREATE TABLE journal (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX journal_day ON journal (day, id);
"#,
    r#"
-- When each order reached the middle steps, for the lead time by step.
ALTER TABLE orders ADD COLUMN reserved_ms INTEGER;
ALTER TABLE orders ADD COLUMN handed_off_ms INTEGER;
"#,
    r#"
-- Parcels that left units of their order open, for the lead time per parcel.
CREATE TABLE parcels (
    id TEXT PRIMARY KEY,
    shipped_ms INTEGER NOT NULL,
    lead_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX parcels_shipped ON parcels (shipped_ms);
"#,
];

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a crash of the process loses nothing; only a power
    // cut can lose the last commits. The price of FULL is an fsync per commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The one connection keeps the working set in memory: 64 MiB of page
    // cache and reads through mmap instead of a pread per page.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "mmap_size", 268_435_456)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let done: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!(
            "BEGIN; {m}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}
