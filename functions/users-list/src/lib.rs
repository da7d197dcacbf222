//! `GET /v1/users?limit=&cursor=`: the users of the caller's organization, a page at a time.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{HandlerResult, Query, Request};
use shared::pagination::{self, Page, Scope};
use shared::services::Services;

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::ManageUsers).await?;
    let query = Query::read(&request, &["limit", "cursor"])?;
    let limit = query.integer("limit", 1, 100, 25)?;
    let scope = Scope {
        org_id: caller.org_id.clone(),
        route: "GET /v1/users",
        filters: Vec::new(),
    };
    let after = match query.get("cursor") {
        Some(cursor) => Some(pagination::decode(services.keyring(), &scope, cursor).await?),
        None => None,
    };
    let (users, last) = services
        .store
        .list_users(&caller.org_id, limit, after.as_ref())
        .await?;
    let next_cursor = pagination::encode(services.keyring(), &scope, last).await?;
    Ok(shared::http::json(
        StatusCode::OK,
        &Page {
            data: users,
            next_cursor,
        },
    ))
}
