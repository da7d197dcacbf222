//! `GET /v1/batches/{id}/invoices?status=&limit=&cursor=`: a batch's invoices, newest first,
//! paged as `GET /v1/invoices` is. Another organization's batch is a 404.

use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Query, Request, path_param};
use shared::invoice_pages::list_page;
use shared::invoices::Kind;
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) || services.store.get_batch(&caller.org_id, &id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let query = Query::read(&request, &["status", "limit", "cursor"])?;
    list_page(
        services,
        &caller,
        "GET /v1/batches/{id}/invoices",
        &query,
        Kind::Invoice,
        Some(id),
    )
    .await
}
