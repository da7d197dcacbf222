//! `POST /v1/users`: a new user of the caller's organization (owners and admins; an admin cannot
//! create an owner). The email is unique across the service.

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission, Role, passwords};
use shared::clock;
use shared::domain::email::Email;
use shared::domain::text;
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::json::{Json, Object};
use shared::secrecy::SecretString;
use shared::services::Services;
use shared::store::UserRecord;
use shared::validation::{FieldError, Problems};

const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_NAME: usize = 200;

struct NewUser {
    email: Email,
    full_name: String,
    role: Role,
    password: SecretString,
}

fn parse(body: &Json) -> Result<NewUser, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    let email = root.parsed("email", &mut problems, Email::parse);
    let full_name = root.parsed("full_name", &mut problems, |name| text::bounded(name, MAX_NAME));
    let role = root.parsed("role", &mut problems, |role| {
        Role::parse(role).ok_or("must be one of owner, admin, issuer, viewer")
    });
    let password = root.parsed("password", &mut problems, |password| {
        passwords::check_policy(password).map(|()| SecretString::from(password))
    });
    root.finish(&mut problems);
    match (email, full_name, role, password) {
        (Some(email), Some(full_name), Some(role), Some(password)) if problems.is_empty() => Ok(NewUser {
            email,
            full_name,
            role,
            password,
        }),
        _ => Err(problems.into_errors()),
    }
}

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &services.tokens, Permission::ManageUsers).await?;
    let new_user = parse(&read_json(&request, MAX_BODY_BYTES)?)?;
    if !caller.role.can_assign(new_user.role) {
        return Err(ApiError::Forbidden);
    }
    let user = UserRecord {
        id: shared::ids::new_id(),
        email: new_user.email.to_string(),
        full_name: new_user.full_name,
        role: new_user.role,
        organization_id: caller.org_id.clone(),
        created_at: clock::rfc3339(clock::now()),
    };
    let password_hash = passwords::hash(new_user.password).await?;
    services.store.create_user(&user, &password_hash).await?;
    tracing::info!(new_user_id = %user.id, role = user.role.as_str(), "user created");
    Ok(shared::http::json(StatusCode::CREATED, &user))
}
