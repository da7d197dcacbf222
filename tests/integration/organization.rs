//! The organization and its own Factus account: connected only when the account's company is
//! the organization's NIT, kept in the organization's secret, shown masked, replaced in place,
//! disconnected by an owner, never half of each when both happen at once; nothing kept when
//! Factus refuses. Its numbering ranges, read from the account, and a warning when one runs
//! out, found by the hourly check even when nobody reads them.

use serde_json::{Value, json};

use crate::support::accounts::{member, signup, signup_unconnected};
use crate::support::batches::post as post_batch;
use crate::support::events::event_of;
use crate::support::invoices::{example, get, post, wait_for};
use crate::support::organizations::{
    account_secret, connect, disconnect, organization, own_sandbox_account, sandbox_account,
};
use crate::support::runtime::{LoneFunction, environment_of};
use crate::support::{local_only, sandbox, stack};

#[tokio::test]
async fn an_owner_connects_the_organizations_own_account_sees_it_masked_replaces_it_and_disconnects_it() {
    let Some(_) = local_only("the provider sandbox's accounts and the emulator's secrets") else {
        return;
    };
    let owner = signup_unconnected().await;
    let before = organization(&owner).await;
    assert_eq!(before["provider"]["configured"], false, "{before}");

    let credentials = own_sandbox_account(&owner).await;
    let (status, shown) = connect(&owner, &credentials).await;
    assert_eq!(status, 200, "{shown}");
    let client_id = credentials["client_id"].as_str().unwrap();
    let expected = json!({
        "configured": true, "environment": "sandbox", "username": credentials["username"],
        "client_id": format!("****{}", &client_id[client_id.len() - 4..]),
        "company_name": before["name"], "verified_at": shown["verified_at"],
    });
    assert_eq!(shown, expected);
    let after = organization(&owner).await;
    assert_eq!(after["provider"], expected);
    for answer in [&shown, &after] {
        let text = answer.to_string();
        for secret in ["client_secret", "password"] {
            assert!(
                !text.contains(credentials[secret].as_str().unwrap()),
                "{secret} answered: {text}"
            );
        }
        assert!(!text.contains(client_id), "the whole client id answered: {text}");
    }
    assert_eq!(account_secret(&owner.org_id).await, Some(credentials.clone()));

    // A second account of the same company replaces the first in place.
    let replacement = own_sandbox_account(&owner).await;
    assert_eq!(connect(&owner, &replacement).await.0, 200);
    assert_eq!(
        organization(&owner).await["provider"]["username"],
        replacement["username"]
    );
    assert_eq!(account_secret(&owner.org_id).await, Some(replacement));

    assert_eq!(disconnect(&owner).await, 204);
    assert_eq!(organization(&owner).await["provider"]["configured"], false);
    assert_eq!(account_secret(&owner.org_id).await, None);
    assert_eq!(disconnect(&owner).await, 204, "disconnecting twice is no error");
}

#[tokio::test]
async fn a_connection_and_a_disconnection_at_once_leave_the_profile_and_the_secret_in_step() {
    let Some(_) = local_only("the provider sandbox's accounts and the emulator's secrets") else {
        return;
    };
    let owner = signup_unconnected().await;
    let credentials = own_sandbox_account(&owner).await;
    for _ in 0..4 {
        let ((connected, _), disconnected) = tokio::join!(connect(&owner, &credentials), disconnect(&owner));
        // One may find the other under way (409), or the secret still being deleted (503).
        assert!([200, 409, 503].contains(&connected), "PUT: {connected}");
        assert!([204, 409].contains(&disconnected), "DELETE: {disconnected}");
        let configured = organization(&owner).await["provider"]["configured"] == true;
        assert_eq!(
            configured,
            account_secret(&owner.org_id).await.is_some(),
            "the profile says configured: {configured}, the secret does not agree"
        );
    }
}

#[tokio::test]
async fn another_companys_account_or_refused_credentials_are_422_and_nothing_is_kept() {
    let Some(_) = local_only("the provider sandbox's accounts and the emulator's secrets") else {
        return;
    };
    let owner = signup_unconnected().await;
    let nit = organization(&owner).await["nit"].as_str().unwrap().to_owned();
    let other = sandbox_account("800197268", "Otra Empresa SAS").await;
    let (status, refusal) = connect(&owner, &other).await;
    assert_eq!(status, 422, "{refusal}");
    let message = refusal["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("800197268") && message.contains(&nit) && message.contains("Otra Empresa SAS"),
        "{message}"
    );
    assert_eq!(refusal["error"]["details"][0]["field"], "credentials");

    let mut wrong = own_sandbox_account(&owner).await;
    wrong["password"] = json!("not the password");
    let (status, refusal) = connect(&owner, &wrong).await;
    assert_eq!(status, 422, "{refusal}");
    assert!(!refusal.to_string().contains("not the password"));

    let (status, refusal) = connect(&owner, &json!({"environment": "staging"})).await;
    assert_eq!(status, 422);
    assert_eq!(
        refusal["error"]["details"].as_array().unwrap().len(),
        5,
        "{refusal}"
    );

    assert_eq!(organization(&owner).await["provider"]["configured"], false);
    assert_eq!(account_secret(&owner.org_id).await, None);
}

#[tokio::test]
async fn admins_connect_only_owners_disconnect_and_each_organization_touches_only_its_own() {
    let Some(_) = local_only("the provider sandbox's accounts") else {
        return;
    };
    let owner = signup_unconnected().await;
    let admin = member(&owner, "admin").await;
    let credentials = own_sandbox_account(&owner).await;
    for role in ["issuer", "viewer"] {
        let user = member(&owner, role).await;
        assert_eq!(connect(&user, &credentials).await.0, 403, "{role}");
        assert_eq!(disconnect(&user).await, 403, "{role}");
        assert_eq!(
            organization(&user).await["provider"]["configured"],
            false,
            "{role} reads it"
        );
    }
    assert_eq!(connect(&admin, &credentials).await.0, 200);
    assert_eq!(disconnect(&admin).await, 403);

    // Another organization's owner connects and disconnects its own, never this one's.
    let stranger = signup().await;
    assert_eq!(
        connect(&stranger, &credentials).await.0,
        422,
        "another NIT's account"
    );
    assert_eq!(disconnect(&stranger).await, 204);
    assert_eq!(organization(&owner).await["provider"]["configured"], true);
    assert_eq!(account_secret(&owner.org_id).await, Some(credentials));
    assert_eq!(organization(&stranger).await["id"], stranger.org_id);
}

#[tokio::test]
async fn the_accounts_numbering_ranges_are_listed_to_any_role_and_one_running_out_is_a_warning() {
    let Some(_) = local_only("the provider sandbox's accounts") else {
        return;
    };
    let owner = signup().await;
    let viewer = member(&owner, "viewer").await;
    let (status, listed) = get(&viewer, "/v1/organization/numbering-ranges").await;
    assert_eq!(status, 200, "{listed}");
    let bills = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|range| range["id"] == 8)
        .cloned()
        .unwrap();
    assert_eq!(
        bills,
        json!({"id": 8, "document": "21", "prefix": "SETP", "from": 990000000_u64, "to": 995000000_u64,
               "current": bills["current"], "remaining": bills["remaining"],
               "resolution_number": "18760000001", "valid_until": "2030-01-19", "active": true, "expired": false})
    );
    assert_eq!(listed["warnings"], json!([]));
    assert_eq!(organization(&owner).await["warnings"], json!([]));

    // The account's range comes down to 51 numbers: once read again, both say so.
    let patched = sandbox::patch_of(
        &owner.org_id,
        "/v2/numbering-ranges/8/current",
        &json!({"current": 994999950_u64}),
    )
    .await;
    assert_eq!(patched, 200);
    let mut warned = Value::Null;
    // Read again once the ranges kept (two seconds locally) are old: a bound, not a timing.
    for _ in 0..60 {
        warned = get(&owner, "/v1/organization/numbering-ranges").await.1;
        if warned["warnings"] != json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let warning = &warned["warnings"][0];
    assert_eq!(warning["numbering_range_id"], 8, "{warned}");
    assert!(
        warning["message"].as_str().unwrap().contains("has 51 of its"),
        "{warning}"
    );
    assert_eq!(organization(&viewer).await["warnings"], warned["warnings"]);

    let stranger = signup_unconnected().await;
    let (status, refusal) = get(&stranger, "/v1/organization/numbering-ranges").await;
    assert_eq!(
        (status, &refusal["error"]["code"]),
        (409, &json!("PROVIDER_NOT_CONFIGURED"))
    );
    // Connected, at once: the function forgot that it had found no account.
    let credentials = own_sandbox_account(&stranger).await;
    assert_eq!(connect(&stranger, &credentials).await.0, 200);
    assert_eq!(get(&stranger, "/v1/organization/numbering-ranges").await.0, 200);
}

#[tokio::test]
async fn a_connected_organizations_ranges_are_checked_without_anyone_asking_and_one_running_out_is_counted() {
    let Some(_) = local_only("the provider sandbox's accounts and the functions' local logs") else {
        return;
    };
    let owner = signup_unconnected().await;
    let credentials = own_sandbox_account(&owner).await;
    // The account's bills range is down to 51 numbers before it is connected.
    let patched = sandbox::patch_with(
        &credentials,
        "/v2/numbering-ranges/8/current",
        &json!({"current": 994999950_u64}),
    )
    .await;
    assert_eq!(patched, 200);
    assert_eq!(connect(&owner, &credentials).await.0, 200);
    assert_eq!(organization(&owner).await["warnings"], json!([]));
    // Nobody reads the ranges: the reconciler's schedule (every minute) has the worker check
    // them. Three minutes is a bound, not a timing.
    let mut warned = Value::Null;
    for _ in 0..90 {
        warned = organization(&owner).await;
        if warned["warnings"] != json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    assert_eq!(warned["warnings"][0]["numbering_range_id"], 8, "{warned}");
    // And counted for the alarm (NumberingRangeWarnings, of the worker), which the worker
    // writes as its invocation ends: a bound, not a timing.
    let logged = |log: &str| {
        let warned = log
            .lines()
            .any(|line| line.contains(&owner.org_id) && line.contains("numbering ranges run out"));
        let counted = log.lines().any(|line| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|metrics| metrics["NumberingRangeWarnings"].as_u64() > Some(0))
        });
        warned && counted
    };
    let log_file = stack().logs_dir.join("submit-worker.log");
    let mut log = String::new();
    for _ in 0..60 {
        log = std::fs::read_to_string(&log_file).unwrap_or_default();
        if logged(&log) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(
        logged(&log),
        "the worker neither logged this organization's warning nor counted NumberingRangeWarnings"
    );
}

/// `PATCH /v1/organization` with `body`: its status and answer.
async fn patch_organization(account: &crate::support::accounts::Account, body: &Value) -> (u16, Value) {
    let response = crate::support::http()
        .patch(crate::support::api("/v1/organization"))
        .header("authorization", account.bearer())
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_default_range_is_one_of_the_accounts_and_invoices_take_it_unless_they_name_another_of_its() {
    let Some(_) = local_only("the provider sandbox's accounts") else {
        return;
    };
    let owner = signup().await;
    // Not a range of sales invoices (9 is the credit notes'), not the account's, not a document.
    for (body, field) in [
        (
            json!({"default_numbering_ranges": {"21": 9}}),
            "default_numbering_ranges.21",
        ),
        (
            json!({"default_numbering_ranges": {"21": 77}}),
            "default_numbering_ranges.21",
        ),
        (
            json!({"default_numbering_ranges": {"99": 8}}),
            "default_numbering_ranges.99",
        ),
    ] {
        let (status, refusal) = patch_organization(&owner, &body).await;
        assert_eq!(
            (status, &refusal["error"]["details"][0]["field"]),
            (422, &json!(field)),
            "{refusal}"
        );
    }
    let issuer = member(&owner, "issuer").await;
    assert_eq!(
        patch_organization(&issuer, &json!({"default_numbering_ranges": {"21": 8}}))
            .await
            .0,
        403
    );
    let (status, shown) =
        patch_organization(&owner, &json!({"default_numbering_ranges": {"21": 8, "22": 9}})).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["default_numbering_ranges"], json!({"21": 8, "22": 9}));
    assert_eq!(
        organization(&owner).await["default_numbering_ranges"],
        json!({"21": 8, "22": 9})
    );
    let (_, shown) = patch_organization(&owner, &json!({"default_numbering_ranges": {"22": null}})).await;
    assert_eq!(shown["default_numbering_ranges"], json!({"21": 8}));

    // An invoice that names no range takes the default, and is issued in it.
    let mut plain = example();
    plain.as_object_mut().unwrap().remove("numbering_range_id");
    let response = post(&owner, &plain, None).await;
    assert_eq!(response.status(), 202);
    let invoice: Value = response.json().await.unwrap();
    assert_eq!(invoice["numbering_range_id"], 8, "{invoice}");
    let ended = wait_for(
        &owner,
        invoice["id"].as_str().unwrap(),
        &["accepted", "rejected", "failed"],
    )
    .await;
    assert_eq!(ended["status"], "accepted", "{ended}");
    assert!(ended["number"].as_str().unwrap().starts_with("SETP"), "{ended}");
    // One that names a range not of the account's is refused, alone or in a lot.
    let mut named = example();
    named["numbering_range_id"] = json!(77);
    let response = post(&owner, &named, None).await;
    assert_eq!(response.status(), 422);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(
        refusal["error"]["details"][0]["field"], "numbering_range_id",
        "{refusal}"
    );
    let lot = json!({"invoices": [named, example()]}).to_string();
    let response = post_batch(&owner, "application/json", lot, None, "").await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (&answer["total"], &answer["invalid_count"]),
        (&json!(1), &json!(1)),
        "{answer}"
    );
    assert_eq!(answer["invalid"][0]["index"], 0);
    assert_eq!(answer["invalid"][0]["errors"][0]["field"], "numbering_range_id");

    // Another account's ranges are not these: connecting it drops the defaults.
    let replacement = own_sandbox_account(&owner).await;
    assert_eq!(connect(&owner, &replacement).await.0, 200);
    assert_eq!(organization(&owner).await["default_numbering_ranges"], json!({}));
}

#[tokio::test]
async fn factus_unreachable_is_a_503_with_retry_after_and_nothing_is_kept() {
    let Some(_) = local_only("to start the function with a provider that does not answer") else {
        return;
    };
    // A port nobody listens on, for both environments.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut environment = environment_of("organization-provider", &stack().emulator_url);
    for url in ["PROVIDER_SANDBOX_URL", "PROVIDER_PRODUCTION_URL"] {
        environment.insert(url.to_owned(), format!("http://{closed}"));
    }
    let function = LoneFunction::start("organization-provider", &environment).await;
    let owner = signup_unconnected().await;
    let event = event_of("organization-provider", "connect-refused.json", &owner, "");
    let answer = function
        .invoke(serde_json::from_str(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert!(answer["headers"]["retry-after"].as_str().is_some(), "{answer}");
    assert_eq!(organization(&owner).await["provider"]["configured"], false);
    assert_eq!(account_secret(&owner.org_id).await, None);
}
