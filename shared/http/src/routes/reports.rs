use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use jiff::civil::Date;
use oms_domain::report::DailyReport;
use oms_domain::FieldError;
use oms_report::{daily_report, email_daily_report, parse_date, reorder_list, ReorderLine};

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// The `date` query parameter (default: today, UTC); anything else is refused.
fn date_param(query: Option<&str>) -> Result<Date, ApiError> {
    let mut date = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("date", v)) => {
                date =
                    Some(parse_date(v).map_err(|m| ApiError::invalid(FieldError::new("date", m)))?)
            }
            _ => {
                let name = pair.split('=').next().unwrap_or(pair);
                return Err(ApiError::invalid(FieldError::new(
                    name,
                    format!("unknown query parameter `{name}`"),
                )));
            }
        }
    }
    Ok(date.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    }))
}

/// The figures of one UTC day (default: today).
#[utoipa::path(get, path = "/v1/reports/daily", tag = "reports",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD, default today (UTC)")),
    responses((status = 200, body = DailyReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn daily(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<DailyReport>, ApiError> {
    state.config.keys.authorize(&headers, &[])?;
    let date = date_param(query.as_deref())?;
    Ok(Json(daily_report(state.store.as_ref(), date).await?))
}

/// Emails the report of one UTC day (default: today) to finance now.
#[utoipa::path(post, path = "/v1/reports/daily/email", tag = "reports",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD, default today (UTC)")),
    responses((status = 202, body = DailyReport, description = "sent to OMS_FINANCE_EMAIL"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "no finance address configured")),
    security(("bearer" = [])))]
pub async fn email_daily(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<DailyReport>), ApiError> {
    state.config.keys.authorize(&headers, &[])?;
    let date = date_param(query.as_deref())?;
    let mail = state
        .config
        .report_mail
        .as_ref()
        .ok_or_else(|| ApiError::conflict("OMS_FINANCE_EMAIL is not configured"))?;
    let report =
        email_daily_report(state.store.as_ref(), state.mailer.as_ref(), mail, date).await?;
    Ok((StatusCode::ACCEPTED, Json(report)))
}

/// What to reorder now so that every backordered order can be served: per
/// SKU, the units backordered orders wait for beyond what is available.
#[utoipa::path(get, path = "/v1/reports/reorder", tag = "reports",
    responses((status = 200, body = Vec<ReorderLine>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reorder(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ReorderLine>>, ApiError> {
    state.config.keys.authorize(&headers, &[])?;
    Ok(Json(reorder_list(state.store.as_ref()).await?))
}
