//! Bank account statements (ISO 20022 camt.053 and camt.054, versions
//! .001.02 and later): reading them, and finding what in their remittance
//! text names an order. Pure; the reconcile stage books what is found.
//!
//! Read with `roxmltree` by local element names, so one reader serves every
//! schema version: the versions differ in where a few elements sit (`Sts`
//! holds a code or a `Cd` element, the other party's name sits in `Nm` or
//! in `Pty/Nm`, a transaction's amount in `AmtDtls/TxAmt/Amt` or in `Amt`),
//! and the reader looks in each place.

use jiff::civil::Date;
use roxmltree::{Document, Node};
use serde::{Deserialize, Serialize};

use crate::paypal::minor_units;
use crate::{payment_reference, FieldError, OrderId};

/// Statements larger than this are refused (413) before they are read.
pub const MAX_STATEMENT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementKind {
    /// camt.053 `BkToCstmrStmt`: the account statement.
    Camt053,
    /// camt.054 `BkToCstmrDbtCdtNtfctn`: debit/credit notification.
    Camt054,
}

/// A statement as read, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The message id (`GrpHdr/MsgId`).
    pub id: String,
    pub kind: StatementKind,
    /// The schema version, e.g. 2 for camt.053.001.02.
    pub version: u8,
    /// One per transaction: a batch entry's details one by one.
    pub transactions: Vec<BankItem>,
}

/// One transaction of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankItem {
    /// What identifies it across files: the bank's reference (`AcctSvcrRef`)
    /// of the transaction or entry, else the entry reference, else the
    /// statement id and position. The same key twice is booked once.
    pub key: String,
    /// Booked (`Sts` BOOK); pending and informational entries are not.
    pub booked: bool,
    pub credit: bool,
    /// `RvslInd` true: the bank reverses an earlier entry.
    pub reversal: bool,
    /// `RtrInf/Rsn/Cd`: a returned transfer, with the reason code.
    pub return_reason: Option<String>,
    /// Minor units, positive.
    pub amount: i64,
    pub currency: String,
    pub booked_on: Option<Date>,
    pub debtor_name: Option<String>,
    pub debtor_iban: Option<String>,
    /// `RmtInf/Strd/CdtrRefInf/Ref`.
    pub structured_reference: Option<String>,
    /// `RmtInf/Ustrd`, all lines joined by a space.
    pub remittance: String,
}

impl BankItem {
    /// Money back from an earlier credit: a debit that is a return or a reversal.
    pub fn is_return(&self) -> bool {
        !self.credit && (self.return_reason.is_some() || self.reversal)
    }
}

fn bad(message: impl Into<String>) -> FieldError {
    FieldError::general(message)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The node at `path` (local names) below `node`.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

fn text(node: Node<'_, '_>, path: &[&str]) -> Option<String> {
    at(node, path)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Reads a camt.053 or camt.054 document. Anything else, or a document that
/// lacks what booking needs (amounts, currencies, credit/debit), is refused
/// with a message naming the problem.
pub fn parse_statement(xml: &[u8]) -> Result<Statement, FieldError> {
    let xml = std::str::from_utf8(xml).map_err(|_| bad("the statement is not UTF-8 text"))?;
    let doc = Document::parse(xml)
        .map_err(|e| bad(format!("the statement is not well-formed XML: {e}")))?;
    let root = doc.root_element();
    let namespace = root.tag_name().namespace().unwrap_or_default();
    let (kind, version) = schema_of(namespace).ok_or_else(|| {
        bad(format!(
            "not a camt.053 or camt.054 statement (namespace `{namespace}`); expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 or later"
        ))
    })?;
    let (body_name, part_name) = match kind {
        StatementKind::Camt053 => ("BkToCstmrStmt", "Stmt"),
        StatementKind::Camt054 => ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    };
    let body =
        child(root, body_name).ok_or_else(|| bad(format!("the document has no {body_name}")))?;
    let id = text(body, &["GrpHdr", "MsgId"]).ok_or_else(|| bad("GrpHdr/MsgId is missing"))?;
    let mut transactions = Vec::new();
    for (p, part) in children(body, part_name).enumerate() {
        let part_id = text(part, &["Id"]).unwrap_or_else(|| p.to_string());
        let account_currency = text(part, &["Acct", "Ccy"]);
        for (e, entry) in children(part, "Ntry").enumerate() {
            let fallback = format!("{id}/{part_id}/{e}");
            read_entry(
                entry,
                &fallback,
                account_currency.as_deref(),
                &mut transactions,
            )
            .map_err(|m| bad(format!("{part_name}[{p}]/Ntry[{e}]: {m}")))?;
        }
    }
    Ok(Statement {
        id,
        kind,
        version,
        transactions,
    })
}

/// `urn:iso:std:iso:20022:tech:xsd:camt.053.001.08` → (Camt053, 8).
fn schema_of(namespace: &str) -> Option<(StatementKind, u8)> {
    let rest = namespace.strip_prefix("urn:iso:std:iso:20022:tech:xsd:camt.")?;
    let (message, version) = rest.split_once(".001.")?;
    let kind = match message {
        "053" => StatementKind::Camt053,
        "054" => StatementKind::Camt054,
        _ => return None,
    };
    let version: u8 = version.parse().ok()?;
    (2..=13).contains(&version).then_some((kind, version))
}

fn amount_of(node: Node<'_, '_>, fallback_currency: Option<&str>) -> Result<(i64, String), String> {
    let value = node.text().unwrap_or_default().trim();
    let currency = node
        .attribute("Ccy")
        .or(fallback_currency)
        .ok_or("an amount has no currency (Ccy)")?
        .to_string();
    let minor = minor_units(value, &currency)?;
    Ok((minor, currency))
}

fn credit_of(node: Node<'_, '_>) -> Result<Option<bool>, String> {
    match text(node, &["CdtDbtInd"]).as_deref() {
        Some("CRDT") => Ok(Some(true)),
        Some("DBIT") => Ok(Some(false)),
        None => Ok(None),
        Some(other) => Err(format!("CdtDbtInd `{other}` is neither CRDT nor DBIT")),
    }
}

fn read_entry(
    entry: Node<'_, '_>,
    fallback_key: &str,
    account_currency: Option<&str>,
    out: &mut Vec<BankItem>,
) -> Result<(), String> {
    let amount_node = child(entry, "Amt").ok_or("Amt is missing")?;
    let (amount, currency) = amount_of(amount_node, account_currency)?;
    let credit = credit_of(entry)?.ok_or("CdtDbtInd is missing")?;
    let reversal = text(entry, &["RvslInd"]).is_some_and(|v| v == "true" || v == "1");
    // Older versions: <Sts>BOOK</Sts>; newer: <Sts><Cd>BOOK</Cd></Sts>.
    let status = text(entry, &["Sts"]).or_else(|| text(entry, &["Sts", "Cd"]));
    let booked = status.as_deref() == Some("BOOK");
    let booked_on = text(entry, &["BookgDt", "Dt"])
        .or_else(|| text(entry, &["BookgDt", "DtTm"]).map(|t| t.chars().take(10).collect()))
        .and_then(|d| d.parse::<Date>().ok());
    let entry_key = text(entry, &["AcctSvcrRef"])
        .or_else(|| text(entry, &["NtryRef"]))
        .unwrap_or_else(|| fallback_key.to_string());
    let details: Vec<Node> = children(entry, "NtryDtls")
        .flat_map(|d| children(d, "TxDtls"))
        .collect();
    let base = BankItem {
        key: entry_key.clone(),
        booked,
        credit,
        reversal,
        return_reason: None,
        amount,
        currency: currency.clone(),
        booked_on,
        debtor_name: None,
        debtor_iban: None,
        structured_reference: None,
        remittance: String::new(),
    };
    if details.len() <= 1 {
        let mut item = base;
        if let Some(d) = details.first() {
            describe(*d, &mut item);
        }
        out.push(item);
        return Ok(());
    }
    // A batch: each transaction is booked on its own, by its own amount.
    for (i, d) in details.into_iter().enumerate() {
        let amount_node = child(d, "Amt")
            .or_else(|| at(d, &["AmtDtls", "TxAmt", "Amt"]))
            .ok_or_else(|| format!("TxDtls[{i}] of a batch has no amount"))?;
        let (amount, currency) = amount_of(amount_node, Some(&currency))?;
        let own = text(d, &["Refs", "AcctSvcrRef"])
            .or_else(|| text(d, &["Refs", "EndToEndId"]).filter(|r| r != "NOTPROVIDED"))
            .unwrap_or_else(|| i.to_string());
        let mut item = BankItem {
            key: format!("{entry_key}/{own}"),
            amount,
            currency,
            credit: credit_of(d)?.unwrap_or(credit),
            ..base.clone()
        };
        describe(d, &mut item);
        out.push(item);
    }
    Ok(())
}

/// Fills in who paid and what they wrote, from a `TxDtls`.
fn describe(d: Node<'_, '_>, item: &mut BankItem) {
    // The other party: the debtor of a credit, the creditor of a debit.
    let party = if item.credit { "Dbtr" } else { "Cdtr" };
    let parties = child(d, "RltdPties");
    item.debtor_name =
        parties.and_then(|p| text(p, &[party, "Nm"]).or_else(|| text(p, &[party, "Pty", "Nm"])));
    item.debtor_iban = parties.and_then(|p| text(p, &[&format!("{party}Acct"), "Id", "IBAN"]));
    if let Some(rmt) = child(d, "RmtInf") {
        let lines: Vec<String> = children(rmt, "Ustrd")
            .filter_map(|u| u.text())
            .map(|t| t.trim().to_string())
            .collect();
        item.remittance = lines.join(" ");
        item.structured_reference =
            children(rmt, "Strd").find_map(|s| text(s, &["CdtrRefInf", "Ref"]));
    }
    item.return_reason =
        text(d, &["RtrInf", "Rsn", "Cd"]).or_else(|| text(d, &["RtrInf", "Rsn", "Prtry"]));
}

/// What a remittance text may name, in the order matching trusts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Candidate {
    /// An ISO 11649 reference with valid check digits.
    PaymentReference(String),
    InvoiceNumber(String),
    OrderId(OrderId),
}

/// Upper case, letters and digits only: how banks' line breaks, spaces and
/// dropped `_` and `-` stop mattering.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

const ULID_LEN: usize = 26;
/// `RF` + 2 check digits + the 21 characters an order's reference has.
const REFERENCE_LEN: usize = 25;

fn is_crockford(c: u8) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"ILOU".contains(&c))
}

/// Every payment reference, invoice or credit-note number and order id
/// written in `text`, however split or spaced. A reference must carry valid
/// check digits; an order id must be `ord` and a 26-character ULID.
pub fn candidates(text: &str) -> Vec<Candidate> {
    let t = normalize(text);
    let b = t.as_bytes();
    let mut found = Vec::new();
    for i in 0..b.len() {
        let rest = &t[i..];
        if rest.starts_with("RF") && rest.len() >= REFERENCE_LEN {
            let r = &rest[..REFERENCE_LEN];
            if payment_reference::is_valid(r) {
                found.push(Candidate::PaymentReference(r.to_string()));
            }
        }
        for prefix in ["INV", "CN"] {
            let n = prefix.len();
            if rest.starts_with(prefix)
                && rest.len() >= n + 10
                && rest.as_bytes()[n..n + 10].iter().all(u8::is_ascii_digit)
            {
                found.push(Candidate::InvoiceNumber(format!(
                    "{prefix}-{}-{}",
                    &rest[n..n + 4],
                    &rest[n + 4..n + 10]
                )));
            }
        }
        if rest.starts_with("ORD")
            && rest.len() >= 3 + ULID_LEN
            && rest.as_bytes()[3..3 + ULID_LEN]
                .iter()
                .all(|c| is_crockford(*c))
        {
            found.push(Candidate::OrderId(OrderId(format!(
                "ord_{}",
                &rest[3..3 + ULID_LEN]
            ))));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_survive_line_splits_spaces_and_lost_underscores() {
        let id = OrderId("ord_01JDZ8Q5XK3M4N5P6Q7R8S9T0V".into());
        let rf = payment_reference::for_order(&id);
        let split = format!("Rechnung INV-2026-0000 17 Ref {} {}", &rf[..10], &rf[10..]);
        let c = candidates(&split);
        assert!(
            c.contains(&Candidate::PaymentReference(rf.clone())),
            "{c:?}"
        );
        assert!(c.contains(&Candidate::InvoiceNumber("INV-2026-000017".into())));
        let c = candidates("Bestellung ORD01JDZ8Q5XK3M4N5P6Q 7R8S9T0V danke");
        assert_eq!(c, vec![Candidate::OrderId(id)]);
        // A wrong check digit is no reference.
        let mut wrong = rf.clone().into_bytes();
        wrong[3] = if wrong[3] == b'0' { b'1' } else { b'0' };
        assert!(candidates(&String::from_utf8(wrong).unwrap()).is_empty());
    }

    #[test]
    fn schema_versions_are_recognised() {
        let ns = |v: &str| format!("urn:iso:std:iso:20022:tech:xsd:{v}");
        assert_eq!(
            schema_of(&ns("camt.053.001.02")),
            Some((StatementKind::Camt053, 2))
        );
        assert_eq!(
            schema_of(&ns("camt.054.001.08")),
            Some((StatementKind::Camt054, 8))
        );
        assert_eq!(schema_of(&ns("camt.052.001.08")), None);
        assert_eq!(schema_of(&ns("pain.001.001.03")), None);
        assert_eq!(schema_of("urn:other"), None);
    }
}

/// Where a bank transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankTxStatus {
    /// Matched on import and booked to its order.
    Booked,
    /// Nobody could tell whose it is: finance assigns it.
    Unmatched,
    /// Booked to the order finance chose.
    Assigned,
}

impl BankTxStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            BankTxStatus::Booked => "booked",
            BankTxStatus::Unmatched => "unmatched",
            BankTxStatus::Assigned => "assigned",
        }
    }
}

/// A bank transaction as stored: every booked credit and every return the
/// import saw, so that the same one again is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransaction {
    /// [`BankItem::key`].
    pub id: String,
    pub statement_id: String,
    pub booked_on: Option<Date>,
    /// Minor units; a returned transfer (money going back) is negative.
    pub amount: i64,
    pub currency: String,
    pub debtor_name: Option<String>,
    pub debtor_iban: Option<String>,
    pub remittance: String,
    pub status: BankTxStatus,
    pub order_id: Option<OrderId>,
    /// Orders the amount and name point at, for finance to choose from.
    #[serde(default)]
    pub suggestions: Vec<OrderId>,
}

impl BankTransaction {
    pub fn new(statement_id: &str, item: &BankItem, status: BankTxStatus) -> BankTransaction {
        let text = match &item.structured_reference {
            Some(r) if item.remittance.is_empty() => r.clone(),
            Some(r) => format!("{r} {}", item.remittance),
            None => item.remittance.clone(),
        };
        BankTransaction {
            id: item.key.clone(),
            statement_id: statement_id.to_string(),
            booked_on: item.booked_on,
            amount: if item.credit {
                item.amount
            } else {
                -item.amount
            },
            currency: item.currency.clone(),
            debtor_name: item.debtor_name.clone(),
            debtor_iban: item.debtor_iban.clone(),
            remittance: text,
            status,
            order_id: None,
            suggestions: Vec::new(),
        }
    }
}
