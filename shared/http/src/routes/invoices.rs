use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use oms_domain::invoice::Invoice;
use oms_domain::InvoiceNumber;

use crate::error::{ApiError, ErrorBody};
use crate::{AppState, Role};

/// A rendered document with its type and file name.
fn document(body: Vec<u8>, content_type: &'static str, filename: String) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

async fn load(state: &AppState, number: String) -> Result<Invoice, ApiError> {
    let number = InvoiceNumber(number);
    state
        .store
        .invoice(&number)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no invoice {number}")))
}

/// The stored invoice `number` rendered by `render`, for a storefront key.
async fn rendered(
    state: &AppState,
    headers: &HeaderMap,
    number: String,
    content_type: &'static str,
    extension: &str,
    render: impl FnOnce(&Invoice) -> Vec<u8>,
) -> Result<Response, ApiError> {
    state.config.keys.authorize(headers, &[Role::Storefront])?;
    let invoice = load(state, number).await?;
    Ok(document(
        render(&invoice),
        content_type,
        format!("{}.{extension}", invoice.number),
    ))
}

/// An invoice: lines with net, tax and gross, tax totals per rate, discount,
/// total, amount paid and due.
#[utoipa::path(get, path = "/v1/invoices/{number}", tag = "invoices", params(("number" = String, Path, example = "INV-2026-000001")),
    responses((status = 200, body = Invoice), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_invoice(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Invoice>, ApiError> {
    state.config.keys.authorize(&headers, &[Role::Storefront])?;
    Ok(Json(load(&state, number).await?))
}

/// The invoice as PDF, as it was emailed.
#[utoipa::path(get, path = "/v1/invoices/{number}/pdf", tag = "invoices", params(("number" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_invoice_pdf(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    rendered(&state, &headers, number, "application/pdf", "pdf", |inv| {
        oms_invoice::render_pdf(inv)
    })
    .await
}

/// The invoice as an EN 16931 e-invoice (UBL 2.1 XML), as it was emailed.
#[utoipa::path(get, path = "/v1/invoices/{number}/xml", tag = "invoices", params(("number" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_invoice_xml(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    rendered(&state, &headers, number, "application/xml", "xml", |inv| {
        oms_invoice::render_ubl(inv).into_bytes()
    })
    .await
}

/// The invoice in UN/CEFACT CII (Factur-X 1.07 / ZUGFeRD 2.3, profile
/// EN 16931), the XML a hybrid PDF invoice carries.
#[utoipa::path(get, path = "/v1/invoices/{number}/cii", tag = "invoices", params(("number" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_invoice_cii(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    rendered(
        &state,
        &headers,
        number,
        "application/xml",
        "cii.xml",
        |inv| oms_invoice::render_cii(inv).into_bytes(),
    )
    .await
}
