//! `POST /v1/auth/signup`: creates an organization and its owner in one transaction (the email
//! unique across the service), and answers the owner's first token pair.

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::auth::{Role, passwords};
use shared::clock;
use shared::domain::email::Email;
use shared::domain::nit::{Nit, NitError};
use shared::domain::text;
use shared::http::{HandlerResult, Request, read_json};
use shared::json::{Json, Object, as_number_text};
use shared::secrecy::SecretString;
use shared::services::Services;
use shared::store::{OrganizationRecord, Session, UserRecord};
use shared::validation::{FieldError, Problems};

const MAX_BODY_BYTES: usize = 16 * 1024;
const MAX_NAME: usize = 200;

struct Signup {
    organization_name: String,
    nit: Nit,
    email: Email,
    password: SecretString,
    full_name: String,
}

fn parse(body: &Json) -> Result<Signup, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    let organization = root
        .required("organization", &mut problems)
        .and_then(|value| Object::read(value, "organization", &mut problems));
    let (mut organization_name, mut nit) = (None, None);
    if let Some(mut organization) = organization {
        organization_name = organization.parsed("name", &mut problems, |name| text::bounded(name, MAX_NAME));
        let number = organization.required_str("nit", &mut problems);
        let dv = organization
            .required("dv", &mut problems)
            .and_then(|dv| as_number_text(dv, "organization.dv", &mut problems));
        if let (Some(number), Some(dv)) = (number, dv) {
            match Nit::parse(number, dv) {
                Ok(valid) => nit = Some(valid),
                Err(NitError::Number(message)) => problems.add("organization.nit", message),
                Err(NitError::CheckDigit(message)) => problems.add("organization.dv", message),
            }
        }
        organization.finish(&mut problems);
    }
    let email = root.parsed("email", &mut problems, Email::parse);
    let password = root.parsed("password", &mut problems, |password| {
        passwords::check_policy(password).map(|()| SecretString::from(password))
    });
    let full_name = root.parsed("full_name", &mut problems, |name| text::bounded(name, MAX_NAME));
    root.finish(&mut problems);
    match (organization_name, nit, email, password, full_name) {
        (Some(organization_name), Some(nit), Some(email), Some(password), Some(full_name))
            if problems.is_empty() =>
        {
            Ok(Signup {
                organization_name,
                nit,
                email,
                password,
                full_name,
            })
        }
        _ => Err(problems.into_errors()),
    }
}

pub async fn handle(services: &Services, request: Request) -> HandlerResult {
    let signup = parse(&read_json(&request, MAX_BODY_BYTES)?)?;
    let now = clock::now();
    let created_at = clock::rfc3339(now);
    let organization = OrganizationRecord {
        id: shared::ids::new_id(),
        name: signup.organization_name,
        nit: signup.nit.number().to_owned(),
        dv: signup.nit.dv().to_string(),
        created_at: created_at.clone(),
        provider: None,
        default_numbering_ranges: Default::default(),
    };
    let owner = UserRecord {
        id: shared::ids::new_id(),
        email: signup.email.to_string(),
        full_name: signup.full_name,
        role: Role::Owner,
        organization_id: organization.id.clone(),
        created_at,
    };
    let session = Session::start(&owner.id, &organization.id, Role::Owner, now.unix_timestamp());
    let tokens = services
        .tokens
        .pair(
            &owner.id,
            &organization.id,
            Role::Owner,
            &session.refresh_token(),
            now.unix_timestamp(),
        )
        .await?;
    let password_hash = passwords::hash(signup.password).await?;
    services
        .store
        .create_organization_with_owner(&organization, &owner, &password_hash, &session)
        .await?;
    tracing::info!(org_id = %organization.id, user_id = %owner.id, "organization created");
    Ok(shared::http::json(
        StatusCode::CREATED,
        &json!({"user": owner, "organization": organization, "tokens": tokens}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: &str) -> Vec<(String, String)> {
        let json = shared::json::parse(body.as_bytes()).unwrap();
        match parse(&json) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
        }
    }

    #[test]
    fn a_valid_signup_parses() {
        let body = r#"{"organization":{"name":"ACME SAS","nit":"800197268","dv":"4"},
            "email":"Ana@Acme.co","password":"correct horse battery","full_name":"Ana Gómez"}"#;
        assert_eq!(errors(body), Vec::<(String, String)>::new());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let body = r#"{"organization":{"name":"","nit":"800197268","dv":5,"city":"Bogotá"},
            "email":"not-an-email","password":"short","role":"owner"}"#;
        let fields: Vec<String> = errors(body).into_iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "organization.name",
                "organization.dv",
                "organization.city",
                "email",
                "password",
                "full_name",
                "role"
            ]
        );
    }
}
