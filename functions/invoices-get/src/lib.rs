//! `GET /v1/invoices/{id}`: one `GetItem` under the caller's organization, so another
//! organization's invoice is a 404 exactly like a missing one.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Request, path_param};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::Read).await?;
    let id = path_param(&request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    let invoice = services
        .store
        .get_invoice(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(shared::http::json(StatusCode::OK, &invoice.view()))
}
