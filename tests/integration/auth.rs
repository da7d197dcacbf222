//! Signup, login, refresh rotation, logout, lockout, and every way a token can be wrong.

use serde_json::{Value, json};

use crate::support::accounts::{email, login, nit, signup};
use crate::support::tokens::claims_of;
use crate::support::{api, http};

async fn refresh(token: &str) -> reqwest::Response {
    http()
        .post(api("/v1/auth/refresh"))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
}

async fn me(authorization: Option<&str>) -> reqwest::Response {
    let mut request = http().get(api("/v1/users/me"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

async fn refresh_token_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_whole_life_of_a_login() {
    let account = signup().await;

    let response = me(Some(&account.bearer())).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], account.email.as_str());
    assert_eq!(user["role"], "owner");
    assert_eq!(user["organization_id"], account.org_id.as_str());

    let response = login(&account.email.to_uppercase(), &account.password).await;
    assert_eq!(response.status(), 200, "emails are case-insensitive");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let second = refresh_token_of(refresh(&first).await).await;
    let third = refresh_token_of(refresh(&second).await).await;

    // `first` was used two rotations ago: that is theft, and the whole family goes.
    assert_eq!(refresh(&first).await.status(), 401);
    assert_eq!(
        refresh(&third).await.status(),
        401,
        "the later tokens of that login are revoked too"
    );

    // Another login is another family, untouched.
    let tokens: Value = login(&account.email, &account.password)
        .await
        .json()
        .await
        .unwrap();
    let other = tokens["refresh_token"].as_str().unwrap().to_owned();
    let response = http()
        .post(api("/v1/auth/logout"))
        .json(&json!({"refresh_token": other}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(refresh(&other).await.status(), 401, "logout revokes the family");
}

#[tokio::test]
async fn a_refresh_presented_twice_at_once_is_a_retry_and_answers_the_same_token() {
    let account = signup().await;

    let (a, b) = tokio::join!(refresh(&account.refresh), refresh(&account.refresh));
    let (a, b) = (refresh_token_of(a).await, refresh_token_of(b).await);

    assert_eq!(claims_of(&a)["jti"], claims_of(&b)["jti"]);
    assert_eq!(refresh(&a).await.status(), 200, "the family lives on");
}

/// Every bad access token, on every route: see the security battery.
#[tokio::test]
async fn an_access_token_is_no_refresh_token() {
    let account = signup().await;
    assert_eq!(refresh(&account.access).await.status(), 401);
}

#[tokio::test]
async fn five_failures_lock_an_email_and_an_unknown_email_cannot_be_told_apart() {
    let account = signup().await;
    let unknown = email("nobody");

    for attempt in 1..=5 {
        let known = login(&account.email, "wrong password!").await;
        let stranger = login(&unknown, "wrong password!").await;
        assert_eq!(known.status(), 401, "attempt {attempt}");
        assert_eq!(stranger.status(), 401, "attempt {attempt}");
        let known: Value = known.json().await.unwrap();
        let stranger: Value = stranger.json().await.unwrap();
        assert_eq!(
            known["error"], stranger["error"],
            "the same answer, whether the account exists or not"
        );
    }

    let known = login(&account.email, &account.password).await;
    let stranger = login(&unknown, "wrong password!").await;
    assert_eq!(known.status(), 429, "locked, even with the right password");
    assert_eq!(stranger.status(), 429);
    let wait: u64 = known.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&wait), "retry-after {wait}");
    let known: Value = known.json().await.unwrap();
    let stranger: Value = stranger.json().await.unwrap();
    assert_eq!(known["error"]["code"], "ACCOUNT_LOCKED");
    assert_eq!(known["error"], stranger["error"]);
}

#[tokio::test]
async fn fifty_guesses_at_once_get_five_checked() {
    let account = signup().await;
    let guesses = (0..50).map(|_| login(&account.email, "wrong password!"));
    let mut statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    statuses.sort();
    let checked = statuses.iter().filter(|status| **status == 401).count();
    assert!(
        statuses.iter().all(|status| *status == 401 || *status == 429),
        "{statuses:?}"
    );
    assert!(
        (1..=5).contains(&checked),
        "{checked} guesses were checked: {statuses:?}"
    );
    assert_eq!(
        login(&account.email, &account.password).await.status(),
        429,
        "the right password waits out the lock too"
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let account = signup().await;
    for _ in 0..4 {
        assert_eq!(login(&account.email, "wrong password!").await.status(), 401);
    }
    assert_eq!(login(&account.email, &account.password).await.status(), 200);
    for _ in 0..4 {
        assert_eq!(login(&account.email, "wrong password!").await.status(), 401);
    }
    assert_eq!(
        login(&account.email, &account.password).await.status(),
        200,
        "only 4 failures since the reset"
    );
}

#[tokio::test]
async fn of_concurrent_signups_with_one_email_exactly_one_succeeds() {
    let shared_email = email("race");
    let attempts = (0..8).map(|i| {
        let address = if i % 2 == 0 {
            shared_email.clone()
        } else {
            shared_email.to_uppercase()
        };
        async move {
            let (nit, dv) = nit();
            http()
                .post(api("/v1/auth/signup"))
                .json(
                    &json!({"organization": {"name": "Race SAS", "nit": nit, "dv": dv},
                    "email": address, "password": "correct horse battery staple", "full_name": "R"}),
                )
                .send()
                .await
                .unwrap()
        }
    });

    let responses = futures_util::future::join_all(attempts).await;

    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    for response in responses.into_iter().filter(|r| r.status() == 409) {
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "EMAIL_TAKEN");
    }
}

#[tokio::test]
async fn a_signup_reports_every_invalid_field_at_once() {
    let response = http()
        .post(api("/v1/auth/signup"))
        .json(&json!({
            "organization": {"name": " ", "nit": "800197268", "dv": "9", "sector": "retail"},
            "email": "ana at example", "password": "short", "full_name": 42, "plan": "gold"
        }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "organization.name",
            "organization.dv",
            "organization.sector",
            "email",
            "password",
            "full_name",
            "plan"
        ]
    );
}

#[tokio::test]
async fn unreadable_oversized_and_mislabelled_bodies_are_refused() {
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"email\": ".to_vec(),
            400,
            "INVALID_JSON",
        ),
        (
            "not an object",
            "application/json",
            b"[1, 2]".to_vec(),
            422,
            "VALIDATION_ERROR",
        ),
        (
            "oversized",
            "application/json",
            format!("{{\"email\": \"{}\"}}", "a".repeat(20_000)).into_bytes(),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "not JSON at all",
            "text/plain",
            b"email=a".to_vec(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"email\": \"\xff\xfe\"}".to_vec(),
            400,
            "INVALID_JSON",
        ),
    ];
    for (case, content_type, body, status, code) in cases {
        for path in ["/v1/auth/signup", "/v1/auth/login"] {
            let response = http()
                .post(api(path))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();

            assert_eq!(response.status().as_u16(), status, "{case} on {path}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["error"]["code"], code, "{case} on {path}");
        }
    }
}
