//! `PATCH /v1/organization` (owners and admins) `{"default_numbering_ranges": {"21": 8}}`: the
//! range each document type takes unless a document names one, by DIAN's document code; `null`
//! drops a default. Each must be one of the account's active ranges of that document, in force
//! (read from Factus unless read within the directory's time).

use std::collections::BTreeMap;

use lambda_http::http::StatusCode;
use shared::auth::{Caller, Permission};
use shared::http::{ApiError, HandlerResult, Request, read_json};
use shared::json::{Json, Object};
use shared::provider::ranges::NumberingRange;
use shared::validation::{FieldError, Problems};

use crate::Connections;

const MAX_BODY_BYTES: usize = 4 * 1024;

/// The defaults asked for, by document code (`None`: drop it).
type Asked = BTreeMap<String, Option<u64>>;

fn parse(body: &Json) -> Result<Asked, Vec<FieldError>> {
    let mut problems = Problems::new();
    let Some(mut root) = Object::read(body, "", &mut problems) else {
        return Err(problems.into_errors());
    };
    let path = root.path_of("default_numbering_ranges");
    let mut asked = Asked::new();
    match root.required("default_numbering_ranges", &mut problems) {
        Some(Json::Object(members)) => {
            for (code, value) in members {
                let at = format!("{path}.{code}");
                if !codes::NUMBERING_RANGE_DOCUMENTS
                    .iter()
                    .any(|known| known.code == code)
                {
                    problems.add(
                        &at,
                        "is not a DIAN document code of numbering ranges (21, 22, 23, 24, 25, 30)",
                    );
                    continue;
                }
                match value {
                    Json::Null => {
                        asked.insert(code.clone(), None);
                    }
                    Json::Number(text) => match text.parse::<u64>() {
                        Ok(id) => {
                            asked.insert(code.clone(), Some(id));
                        }
                        Err(_) => {
                            problems.add(&at, "must be a numbering range's id (a whole number) or null")
                        }
                    },
                    other => problems.add(
                        &at,
                        format!("must be a numbering range's id or null, not {}", other.kind()),
                    ),
                }
            }
        }
        Some(other) => problems.add(&path, format!("must be an object, not {}", other.kind())),
        None => {}
    }
    root.finish(&mut problems);
    if problems.is_empty() {
        Ok(asked)
    } else {
        Err(problems.into_errors())
    }
}

/// Why `id` cannot be the default range of documents `code`, if it cannot.
fn unusable(ranges: &[NumberingRange], code: &str, id: u64) -> Option<String> {
    match ranges.iter().find(|range| range.id == id) {
        Some(range) if range.document == code && range.active && !range.expired => None,
        Some(_) => Some(format!(
            "numbering range {id} is not an active range of document {code} in force"
        )),
        None => Some(format!("numbering range {id} is not one of the account's")),
    }
}

pub async fn set_defaults(state: &Connections, request: Request) -> HandlerResult {
    let caller = Caller::authorize(&request, &state.services.tokens, Permission::ConnectProvider).await?;
    let asked = parse(&read_json(&request, MAX_BODY_BYTES)?)?;
    let store = &state.services.store;
    let mut organization = state.services.organization_served(&caller.org_id).await?;
    if asked.values().any(Option::is_some) {
        let (ranges, fresh) = crate::ranges::current(state, &organization, &request).await?;
        let problems: Vec<FieldError> = asked
            .iter()
            .filter_map(|(code, id)| {
                let message = unusable(&ranges, code, (*id)?)?;
                Some(FieldError::new(
                    format!("default_numbering_ranges.{code}"),
                    message,
                ))
            })
            .collect();
        if !problems.is_empty() {
            return Err(ApiError::Validation(problems));
        }
        if let Some(read) = fresh {
            store.put_ranges(&caller.org_id, &read).await?;
        }
    }
    for (code, id) in asked {
        match id {
            Some(id) => organization.default_numbering_ranges.insert(code, id),
            None => organization.default_numbering_ranges.remove(&code),
        };
    }
    if !store
        .set_default_ranges(&caller.org_id, &organization.default_numbering_ranges)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let ranges = store.get_ranges(&caller.org_id).await?;
    let shown = shared::organization::view(&organization, ranges.as_ref());
    Ok(shared::http::json(StatusCode::OK, &shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_document_codes_to_range_ids_or_null() {
        let body = shared::json::parse(br#"{"default_numbering_ranges": {"21": 8, "22": null}}"#).unwrap();
        assert_eq!(
            parse(&body).unwrap(),
            Asked::from([("21".to_owned(), Some(8)), ("22".to_owned(), None)])
        );
        let body =
            shared::json::parse(br#"{"default_numbering_ranges": {"99": 8, "21": "8", "23": -1}, "x": 1}"#)
                .unwrap();
        let fields: Vec<String> = parse(&body).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "default_numbering_ranges.21",
                "default_numbering_ranges.23",
                "default_numbering_ranges.99",
                "x"
            ]
        );
    }
}
