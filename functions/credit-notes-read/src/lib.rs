//! The caller's organization's credit notes: `GET /v1/credit-notes/{id}` (one `GetItem` under
//! the organization, so another organization's note is a 404 exactly like a missing one) and
//! `GET /v1/credit-notes?invoice_id=&status=&limit=&cursor=` (newest first, as invoices are
//! listed).

use lambda_http::RequestExt;
use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Query, Request};
use shared::invoice_pages::list_page;
use shared::invoices::Kind;
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let Some(id) = request
        .path_parameters_ref()
        .and_then(|params| params.first("id"))
        .map(str::to_owned)
    else {
        let query = Query::read(&request, &["invoice_id", "status", "limit", "cursor"])?;
        return list_page(
            services,
            &caller,
            "GET /v1/credit-notes",
            &query,
            Kind::CreditNote,
            None,
        )
        .await;
    };
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    let note = services
        .store
        .get_document(Kind::CreditNote, &caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(shared::http::json(StatusCode::OK, &note.credit_note_view()))
}
