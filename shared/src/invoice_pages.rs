//! The one implementation of invoice lists, for `GET /v1/invoices` and a batch's invoices:
//! filters checked, a cursor bound to them, one round trip per page (a `Query` per shard, at
//! once), newest first.

use lambda_http::http::StatusCode;

use crate::auth::Caller;
use crate::http::{ApiError, HandlerResult, Query};
use crate::invoices::Status;
use crate::pagination::{self, Page, Scope};
use crate::services::Services;
use crate::store::InvoiceFilter;
use crate::validation::FieldError;

/// One page of the caller's invoices on `route`, filtered by `status` (from the query) and by
/// `batch_id`.
pub async fn list_page(
    services: &Services,
    caller: &Caller,
    route: &'static str,
    query: &Query,
    batch_id: Option<String>,
) -> HandlerResult {
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            ApiError::InvalidQuery(vec![FieldError::new(
                "status",
                "must be one of queued, submitting, accepted, rejected, failed",
            )])
        })?),
    };
    if batch_id.as_deref().is_some_and(|batch| !crate::ids::is_id(batch)) {
        return Err(ApiError::InvalidQuery(vec![FieldError::new(
            "batch_id",
            "is not a batch id",
        )]));
    }
    let limit = query.integer("limit", 1, 100, 25)?;
    let scope = Scope {
        org_id: caller.org_id.clone(),
        route,
        filters: vec![
            (
                "status",
                status.map(Status::as_str).unwrap_or_default().to_owned(),
            ),
            ("batch_id", batch_id.clone().unwrap_or_default()),
        ],
    };
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(services.keyring(), &scope, cursor).await?),
        None => None,
    };
    let filter = InvoiceFilter { status, batch_id };
    let (invoices, last) = services
        .store
        .list_invoices(&caller.org_id, &filter, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(services.keyring(), &scope, last).await?;
    let data = invoices.iter().map(|invoice| invoice.view()).collect();
    Ok(crate::http::json(StatusCode::OK, &Page { data, next_cursor }))
}
