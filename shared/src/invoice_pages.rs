//! The one implementation of invoice lists, for `GET /v1/invoices`, a batch's invoices and
//! `GET /v1/credit-notes`: filters checked, a cursor bound to them, one round trip per page (a
//! `Query` per shard, at once), newest first.

use lambda_http::http::StatusCode;

use crate::auth::Caller;
use crate::http::{ApiError, HandlerResult, Query};
use crate::invoices::{Kind, Status};
use crate::pagination::{self, Page, Scope};
use crate::services::Services;
use crate::store::InvoiceFilter;
use crate::validation::FieldError;

/// One page of the caller's documents of `kind` on `route`, filtered by `status` (from the
/// query), by `batch_id`, and for credit notes by `invoice_id` (from the query).
pub async fn list_page(
    services: &Services,
    caller: &Caller,
    route: &'static str,
    query: &Query,
    kind: Kind,
    batch_id: Option<String>,
) -> HandlerResult {
    let status = match query.get("status") {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
            ApiError::InvalidQuery(vec![FieldError::new(
                "status",
                format!("must be one of {}", names.join(", ")),
            )])
        })?),
    };
    let invoice_id = match kind {
        Kind::CreditNote => query.get("invoice_id").map(str::to_owned),
        Kind::Invoice => None,
    };
    for (name, id) in [("batch_id", &batch_id), ("invoice_id", &invoice_id)] {
        if id.as_deref().is_some_and(|id| !crate::ids::is_id(id)) {
            return Err(ApiError::InvalidQuery(vec![FieldError::new(
                name,
                format!("is not {}", name.replace("_id", " id")),
            )]));
        }
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
            ("invoice_id", invoice_id.clone().unwrap_or_default()),
        ],
    };
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(services.keyring(), &scope, cursor).await?),
        None => None,
    };
    let filter = InvoiceFilter {
        kind,
        status,
        batch_id,
        invoice_id,
    };
    let (invoices, last) = services
        .store
        .list_invoices(&caller.org_id, &filter, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(services.keyring(), &scope, last).await?;
    let data = invoices
        .iter()
        .map(|document| match kind {
            Kind::Invoice => document.view(),
            Kind::CreditNote => document.credit_note_view(),
        })
        .collect();
    Ok(crate::http::json(StatusCode::OK, &Page { data, next_cursor }))
}
