//! Finance: bank statements and the transactions nobody could match,
//! dunning, and the receivables report. Finance (or admin) keys only.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use jiff::civil::Date;
use jiff::Timestamp;
use oms_domain::bank::{BankTransaction, MAX_STATEMENT_BYTES};
use oms_domain::collection::business_date;
use oms_domain::new_order::parse_json;
use oms_domain::report::ReceivablesReport;
use oms_domain::{FieldError, OrderId};
use oms_invoice::dunning::{self, BlockError, DunningRun};
use oms_reconcile::bank::{assign, import_statement, AssignError, BankError, ImportSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body::{read_body, read_body_up_to};
use crate::error::{ApiError, ErrorBody};
use crate::views::{order_json, OrderView};
use crate::{AppState, Role};

/// The query's parameters, each allowed name at most once; others refused.
fn query_params<'a>(
    query: Option<&'a str>,
    allowed: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, ApiError> {
    let mut out = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&name) {
            return Err(ApiError::invalid(FieldError::new(
                name,
                format!("unknown query parameter `{name}`"),
            )));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// `date=YYYY-MM-DD`, default today where the business is.
fn date_of(params: &[(&str, &str)]) -> Result<Date, ApiError> {
    match params.iter().find(|(n, _)| *n == "date") {
        Some((_, v)) => {
            oms_report::parse_date(v).map_err(|m| ApiError::invalid(FieldError::new("date", m)))
        }
        None => Ok(business_date(Timestamp::now())),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub statement_id: String,
    pub entries: u64,
    pub booked: u64,
    pub unmatched: u64,
    pub ignored: u64,
    pub duplicates: u64,
}

impl From<ImportSummary> for ImportView {
    fn from(s: ImportSummary) -> Self {
        ImportView {
            statement_id: s.statement_id,
            entries: s.entries,
            booked: s.booked,
            unmatched: s.unmatched,
            ignored: s.ignored,
            duplicates: s.duplicates,
        }
    }
}

/// Import a bank statement (camt.053 or camt.054, .001.02 and later) as the
/// bank delivers it. Credits are matched to orders by payment reference,
/// invoice number or order id and booked; returned transfers reverse their
/// booking; the rest is listed as unmatched. The same file again books nothing.
#[utoipa::path(post, path = "/v1/bank-statements", tag = "finance",
    request_body(content = String, content_type = "application/xml", description = "camt.053 or camt.054 XML, at most 10 MiB"),
    responses((status = 200, body = ImportView), (status = 400, body = ErrorBody, description = "not camt.053/054 XML"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_bank_statement(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let bytes = read_body_up_to(body, MAX_STATEMENT_BYTES).await?;
    let summary = import_statement(state.store.as_ref(), &bytes, Timestamp::now())
        .await
        .map_err(|e| match e {
            BankError::Invalid(f) => ApiError::invalid(f),
            BankError::Store(s) => s.into(),
        })?;
    Ok(Json(summary.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankTransactionView {
    pub id: String,
    #[schema(value_type = Option<String>)]
    pub booked_on: Option<Date>,
    /// Minor units; negative for a returned transfer.
    pub amount: i64,
    pub currency: String,
    pub debtor_name: Option<String>,
    pub debtor_iban: Option<String>,
    pub remittance: String,
    pub status: String,
    pub order_id: Option<String>,
    /// Orders whose open amount (or whose references) fit: finance chooses.
    pub suggestions: Vec<String>,
}

impl From<BankTransaction> for BankTransactionView {
    fn from(t: BankTransaction) -> Self {
        BankTransactionView {
            id: t.id,
            booked_on: t.booked_on,
            amount: t.amount,
            currency: t.currency,
            debtor_name: t.debtor_name,
            debtor_iban: t.debtor_iban,
            remittance: t.remittance,
            status: t.status.as_str().to_string(),
            order_id: t.order_id.map(|o| o.to_string()),
            suggestions: t.suggestions.into_iter().map(|o| o.to_string()).collect(),
        }
    }
}

/// The bank transactions nobody could match (`status=unmatched`, the default).
#[utoipa::path(get, path = "/v1/bank-transactions", tag = "finance",
    params(("status" = Option<String>, Query, description = "unmatched (the only list kept)")),
    responses((status = 200, body = Vec<BankTransactionView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn bank_transactions(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Vec<BankTransactionView>>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    for (_, status) in query_params(query.as_deref(), &["status"])? {
        if status != "unmatched" {
            return Err(ApiError::invalid(FieldError::new(
                "status",
                format!("`{status}`: only status=unmatched is listed"),
            )));
        }
    }
    let list = state.store.unmatched_bank_transactions().await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub order_id: String,
}

/// Book an unmatched bank transaction to an order (once).
#[utoipa::path(post, path = "/v1/bank-transactions/{id}/assign", tag = "finance",
    params(("id" = String, Path, description = "the transaction id")),
    request_body = AssignRequest,
    responses((status = 200, body = BankTransactionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "assigned already"),
        (status = 422, body = ErrorBody, description = "no such order")),
    security(("bearer" = [])))]
pub async fn assign_bank_transaction(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BankTransactionView>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let bytes = read_body(body).await?;
    let request: AssignRequest = parse_json(&bytes).map_err(ApiError::invalid)?;
    let order = OrderId(request.order_id);
    let t = assign(state.store.as_ref(), &id, &order, Timestamp::now())
        .await
        .map_err(|e| match e {
            AssignError::NotFound(_) => ApiError::not_found(e.to_string()),
            AssignError::UnknownOrder(_) => {
                ApiError::unprocessable(FieldError::new("order_id", e.to_string()))
            }
            AssignError::NotUnmatched(..) => ApiError::conflict(e.to_string()),
            AssignError::Store(s) => s.into(),
        })?;
    Ok(Json(t.into()))
}

/// Run dunning for a day (default today): every invoiced, unpaid, unblocked
/// order whose level's day has come moves one level up and gets its notice.
/// Runs for the same day again (or at once) send nothing twice.
#[utoipa::path(post, path = "/v1/dunning/run", tag = "finance",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD, default today (Europe/Berlin)")),
    responses((status = 200, body = serde_json::Value, description = "{date, checked, notices: [{order_id, level}]}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn run_dunning(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<DunningRun>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let date = date_of(&query_params(query.as_deref(), &["date"])?)?;
    let policy = &state.config.invoice.collection;
    Ok(Json(
        dunning::run(state.store.as_ref(), policy, date, Timestamp::now()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DunningBlockRequest {
    pub blocked: bool,
}

/// Stop (`true`) or resume (`false`) dunning of one order.
#[utoipa::path(post, path = "/v1/orders/{id}/dunning-block", tag = "finance",
    params(("id" = String, Path, description = "order id")),
    request_body = DunningBlockRequest,
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn dunning_block(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let bytes = read_body(body).await?;
    let request: DunningBlockRequest = parse_json(&bytes).map_err(ApiError::invalid)?;
    let order = dunning::set_blocked(
        state.store.as_ref(),
        &OrderId(id),
        request.blocked,
        Timestamp::now(),
    )
    .await
    .map_err(|e| match e {
        BlockError::NotFound(_) => ApiError::not_found(e.to_string()),
        BlockError::Store(s) => s.into(),
    })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        order_json(&order),
    ))
}

/// Open receivables aged on a day (default today): buckets that add up to
/// the open total, and each order with its days overdue and dunning level.
#[utoipa::path(get, path = "/v1/reports/receivables", tag = "reports",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD, default today (Europe/Berlin)"),
        ("currency" = Option<String>, Query, description = "ISO 4217, default EUR")),
    responses((status = 200, body = ReceivablesReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn receivables(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<ReceivablesReport>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let params = query_params(query.as_deref(), &["date", "currency"])?;
    let date = date_of(&params)?;
    let currency = match params.iter().find(|(n, _)| *n == "currency") {
        Some((_, c)) => oms_domain::Currency::parse(c)
            .map_err(|m| ApiError::invalid(FieldError::new("currency", m)))?
            .to_string(),
        None => "EUR".to_string(),
    };
    Ok(Json(
        oms_report::receivables(state.store.as_ref(), date, &currency).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostingView {
    /// The account's number in the configured chart (SKR03 or SKR04).
    pub account: String,
    pub debit: i64,
    pub credit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalEntryView {
    pub entry_id: String,
    #[schema(value_type = String, example = "2026-12-01")]
    pub date: Date,
    /// The invoice or credit note, else the order's payment reference.
    pub document: String,
    pub text: String,
    pub currency: String,
    pub postings: Vec<PostingView>,
}

/// `from`/`to` (both required, inclusive, at most 366 days apart).
fn period(params: &[(&str, &str)]) -> Result<(Date, Date), ApiError> {
    let day = |name: &str| -> Result<Date, ApiError> {
        let (_, v) = params.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            ApiError::invalid(FieldError::new(
                name,
                format!("`{name}` (YYYY-MM-DD) is required"),
            ))
        })?;
        oms_report::parse_date(v).map_err(|m| ApiError::invalid(FieldError::new(name, m)))
    };
    let (from, to) = (day("from")?, day("to")?);
    if to < from {
        return Err(ApiError::invalid(FieldError::new(
            "to",
            "`to` is before `from`",
        )));
    }
    if from.until(to).map_or(true, |s| s.get_days() > 366) {
        return Err(ApiError::invalid(FieldError::new(
            "to",
            "at most 366 days at a time",
        )));
    }
    Ok((from, to))
}

/// The journal: every invoice, credit note, payment, refund, chargeback,
/// bank booking and dunning charge as balanced postings, dated by business
/// day, with the configured chart's account numbers.
#[utoipa::path(get, path = "/v1/journal", tag = "finance",
    params(("from" = String, Query, description = "YYYY-MM-DD"), ("to" = String, Query, description = "YYYY-MM-DD, inclusive")),
    responses((status = 200, body = Vec<JournalEntryView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn journal(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Vec<JournalEntryView>>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let (from, to) = period(&query_params(query.as_deref(), &["from", "to"])?)?;
    let chart = &state.config.invoice.chart;
    let entries = state.store.journal(from, to).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| JournalEntryView {
                entry_id: e.id,
                date: e.date,
                document: e.document,
                text: e.text,
                currency: e.currency,
                postings: e
                    .postings
                    .iter()
                    .map(|p| PostingView {
                        account: chart.number(&p.account),
                        debit: p.debit,
                        credit: p.credit,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// The journal of a period as a DATEV "Buchungsstapel" (EXTF 700, category
/// 21; Windows-1252, `;`, decimal comma), for a tax adviser to import. The
/// period must lie within one calendar (fiscal) year.
#[utoipa::path(get, path = "/v1/exports/datev", tag = "finance",
    params(("from" = String, Query, description = "YYYY-MM-DD"), ("to" = String, Query, description = "YYYY-MM-DD, inclusive, same year")),
    responses((status = 200, content_type = "text/csv", body = String, description = "EXTF file, Windows-1252"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn datev_export(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    state.config.keys.authorize(&headers, &[Role::Finance])?;
    let (from, to) = period(&query_params(query.as_deref(), &["from", "to"])?)?;
    oms_domain::datev::check_period(from, to)
        .map_err(|m| ApiError::invalid(FieldError::new("to", m)))?;
    let entries = state.store.journal(from, to).await?;
    let created = Timestamp::now()
        .to_zoned(oms_domain::collection::business_timezone())
        .datetime();
    let file = oms_domain::datev::export(
        &entries,
        &state.config.invoice.chart,
        state.config.invoice.datev,
        from,
        to,
        created,
    );
    let mut response = file.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=windows-1252"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"EXTF_Buchungsstapel_{from}_{to}.csv\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
