//! `GET /v1/invoices?status=&batch_id=&limit=&cursor=`: the caller's organization's invoices,
//! newest first: a page is one `Query` of each of the 16 shards at once, merged by id.

use shared::auth::{Caller, Permission};
use shared::http::{HandlerResult, Query, Request};
use shared::invoice_pages::list_page;
use shared::invoices::Kind;
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let query = Query::read(&request, &["status", "batch_id", "limit", "cursor"])?;
    let batch_id = query.get("batch_id").map(str::to_owned);
    list_page(
        services,
        &caller,
        "GET /v1/invoices",
        &query,
        Kind::Invoice,
        batch_id,
    )
    .await
}
