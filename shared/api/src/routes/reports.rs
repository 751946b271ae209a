use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use oms_domain::report::DailyReport;
use oms_domain::FieldError;
use oms_report::{daily_report, parse_date};

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

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
    let mut date = None;
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
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
    let date = date.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    });
    Ok(Json(daily_report(state.store.as_ref(), date).await?))
}
