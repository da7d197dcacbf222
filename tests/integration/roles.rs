//! The role table of the API, cell by cell, for the routes that exist so far.

use serde_json::json;

use crate::support::accounts::{Account, email, member, signup};
use crate::support::{api, http};

async fn create_user(by: &Account, role: &str) -> u16 {
    http()
        .post(api("/v1/users"))
        .header("authorization", by.bearer())
        .json(&json!({"email": email(role), "full_name": "New Person", "role": role, "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn get(by: &Account, path: &str) -> u16 {
    http()
        .get(api(path))
        .header("authorization", by.bearer())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_role_may_do_what_the_role_table_says_and_nothing_more() {
    let owner = signup().await;
    let admin = member(&owner, "admin").await;
    let issuer = member(&owner, "issuer").await;
    let viewer = member(&owner, "viewer").await;

    // (who, GET /v1/users/me, GET /v1/users, POST /v1/users as owner/admin/issuer/viewer)
    let table = [
        (&owner, 200, 200, [201, 201, 201, 201]),
        (&admin, 200, 200, [403, 201, 201, 201]),
        (&issuer, 200, 403, [403, 403, 403, 403]),
        (&viewer, 200, 403, [403, 403, 403, 403]),
    ];
    for (who, me, list, creates) in table {
        assert_eq!(
            get(who, "/v1/users/me").await,
            me,
            "{} GET /v1/users/me",
            who.role
        );
        assert_eq!(get(who, "/v1/users").await, list, "{} GET /v1/users", who.role);
        for (role, expected) in ["owner", "admin", "issuer", "viewer"].into_iter().zip(creates) {
            assert_eq!(
                create_user(who, role).await,
                expected,
                "{} creating a {role}",
                who.role
            );
        }
    }
}

#[tokio::test]
async fn users_list_pages_through_the_organization_only() {
    let owner = signup().await;
    let mut created = vec![owner.user_id.clone()];
    for role in ["admin", "issuer", "viewer", "issuer"] {
        created.push(member(&owner, role).await.user_id);
    }
    let other = signup().await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = api("/v1/users?limit=2");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = http()
            .get(url)
            .header("authorization", owner.bearer())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for user in page["data"].as_array().unwrap() {
            assert_eq!(user["organization_id"], owner.org_id.as_str());
            assert!(user.get("password_hash").is_none());
            seen.push(user["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    seen.sort();
    created.sort();
    assert_eq!(seen, created, "every user exactly once");

    // Another organization's owner cannot use this organization's cursor.
    let first: serde_json::Value = http()
        .get(api("/v1/users?limit=1"))
        .header("authorization", owner.bearer())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let foreign = http()
        .get(api(&format!("/v1/users?cursor={cursor}")))
        .header("authorization", other.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 400);
    let tampered = format!("{}x", cursor);
    let response = http()
        .get(api(&format!("/v1/users?cursor={tampered}")))
        .header("authorization", owner.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_CURSOR");
}
