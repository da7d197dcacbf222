//! Each organization issues through its own Factus account, under its own NIT: two organizations
//! at once, each invoice issued by its own company; one organization's rejected bill blocks only
//! its own account; no account, no invoice (409, nothing stored); the deployment's account serves
//! only the one organization named for it, of its company's NIT; credentials replaced mid-batch
//! lose nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use shared::provider::provider_reference;

use crate::support::accounts::{Account, signup, signup_as, signup_unconnected};
use crate::support::batches::{ENDED, HEADER, csv, post as post_batch, row, wait_for};
use crate::support::events::event_of;
use crate::support::invoices::{example, get, post as post_invoice};
use crate::support::organizations::{connect, organization, own_sandbox_account};
use crate::support::runtime::{LoneFunction, environment_of, own_queue};
use crate::support::{local_only, sandbox, stack};

/// The NIT of the company that issued each reference under `prefix`.
async fn issuers(prefix: &str) -> BTreeMap<String, String> {
    serde_json::from_value(sandbox::stats(prefix).await["issuers"].clone()).unwrap()
}

/// Posts a CSV lot; its id.
async fn lot(account: &Account, body: String) -> String {
    let response = post_batch(account, "text/csv", body, None, "").await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    answer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_organizations_at_once_each_issue_under_their_own_nit_and_a_rejected_bill_blocks_only_its_own() {
    let Some(_) = local_only("the provider sandbox's accounts and issuers") else {
        return;
    };
    let (first, second) = (signup().await, signup().await);
    // Every bill of the first organization is rejected by DIAN: each stays pending at its
    // account, blocking it, until invoicer deletes it.
    let rejected = provider_reference(&first.org_id, "");
    sandbox::set_faults(json!({"reference_prefix": rejected, "dian_rejection_rate": 1.0, "seed": 8})).await;
    let rows = |tag: &str| -> String {
        let rows: Vec<String> = (0..25).map(|n| row(&format!("{tag}-{n}"), "A")).collect();
        format!("{HEADER}\n{}\n", rows.join("\n"))
    };
    let (first_lot, second_lot) = tokio::join!(lot(&first, rows("UNO")), lot(&second, rows("DOS")));
    let (first_ended, second_ended) = tokio::join!(
        wait_for(&first, &first_lot, &ENDED),
        wait_for(&second, &second_lot, &ENDED)
    );
    sandbox::clear_faults(&rejected).await;
    assert_eq!(
        (&first_ended["rejected"], &first_ended["accepted"]),
        (&json!(25), &json!(0)),
        "{first_ended}"
    );
    assert_eq!(
        (&second_ended["accepted"], &second_ended["rejected"]),
        (&json!(25), &json!(0)),
        "{second_ended}"
    );

    let second_nit = organization(&second).await["nit"].as_str().unwrap().to_owned();
    let issued = issuers(&provider_reference(&second.org_id, "")).await;
    assert_eq!(issued.len(), 25);
    assert!(issued.values().all(|issuer| *issuer == second_nit), "{issued:?}");
    assert!(
        issuers(&rejected).await.is_empty(),
        "nothing of the first was issued"
    );
    // The second account never met the first's block: none of its bills was refused for a
    // pending one.
    let refused: Vec<Value> = sandbox::requests(&provider_reference(&second.org_id, ""))
        .await
        .into_iter()
        .filter(|request| request["status"] == 409)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test]
async fn an_organization_no_account_serves_gets_409_on_invoices_and_batches_and_nothing_is_stored() {
    let owner = signup_unconnected().await;
    let response = post_invoice(&owner, &example(), Some("no-account-1")).await;
    assert_eq!(response.status(), 409);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["error"]["code"], "PROVIDER_NOT_CONFIGURED", "{refusal}");
    let response = post_batch(&owner, "text/csv", csv("NADA", 3), Some("no-account-2"), "").await;
    assert_eq!(response.status(), 409);
    for path in ["/v1/invoices", "/v1/batches"] {
        let (status, page) = get(&owner, path).await;
        assert_eq!((status, &page["data"]), (200, &json!([])), "{path}");
    }
    // Connected, the same request is taken: the refusal kept nothing, not even its key.
    let Some(_) = local_only("the provider sandbox's accounts") else {
        return;
    };
    let credentials = own_sandbox_account(&owner).await;
    assert_eq!(connect(&owner, &credentials).await.0, 200);
    assert_eq!(
        post_invoice(&owner, &example(), Some("no-account-1"))
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn the_deployments_own_account_serves_only_the_organization_named_for_it_and_of_its_nit() {
    let Some(_) = local_only("to start functions with the deployment's account named for one organization")
    else {
        return;
    };
    // The local stack's own account is the sandbox's default company, NIT 900373076; the stack
    // names no organization for it, so an organization of that NIT gets nothing of it.
    let (holder, stranger) = (
        signup_as("900373076", "4").await,
        signup_as("900373076", "4").await,
    );
    assert_eq!(post_invoice(&holder, &example(), None).await.status(), 409);
    let deployment = Deployment::naming(&holder, "900373076").await;
    let refused = deployment.create(&stranger).await;
    assert_eq!(
        refused["statusCode"], 409,
        "the same NIT, another organization: {refused}"
    );
    let invoice = deployment.create(&holder).await;
    assert_eq!(invoice["statusCode"], 202, "{invoice}");
    let invoice: Value = serde_json::from_str(invoice["body"].as_str().unwrap()).unwrap();
    let ended = deployment.work(&holder, &invoice).await;
    assert_eq!(ended["status"], "accepted", "{ended}");
    let reference = provider_reference(&holder.org_id, invoice["reference_code"].as_str().unwrap());
    assert_eq!(
        issuers(&reference).await.remove(&reference).as_deref(),
        Some("900373076")
    );

    // An operator who names an organization of another NIT: the worker reads the account's
    // company back from Factus and issues nothing under it.
    let misnamed = signup_as("800197268", "4").await;
    let deployment = Deployment::naming(&misnamed, "800197268").await;
    let invoice = deployment.create(&misnamed).await;
    assert_eq!(invoice["statusCode"], 202, "{invoice}");
    let invoice: Value = serde_json::from_str(invoice["body"].as_str().unwrap()).unwrap();
    let waiting = deployment.work(&misnamed, &invoice).await;
    assert_ne!(waiting["status"], "accepted", "{waiting}");
    assert!(
        waiting["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("issues for NIT 900373076"),
        "{waiting}"
    );
    let reference = provider_reference(&misnamed.org_id, invoice["reference_code"].as_str().unwrap());
    assert!(issuers(&reference).await.is_empty());
}

/// The create function and the worker of a deployment whose own account names `holder`, of
/// NIT `nit`, each alone on a queue of their own.
struct Deployment {
    create: LoneFunction,
    worker: LoneFunction,
}

impl Deployment {
    async fn naming(holder: &Account, nit: &str) -> Self {
        let (_, queue) = own_queue().await;
        let environment = |function: &str| {
            let mut environment = environment_of(function, &stack().emulator_url);
            environment.insert("PROVIDER_ACCOUNT_NIT".to_owned(), nit.to_owned());
            environment.insert(
                "PROVIDER_ACCOUNT_ORGANIZATION_ID".to_owned(),
                holder.org_id.clone(),
            );
            environment.insert("SUBMISSIONS_QUEUE_URL".to_owned(), queue.clone());
            environment
        };
        Self {
            create: LoneFunction::start("invoices-create", &environment("invoices-create")).await,
            worker: LoneFunction::start("submit-worker", &environment("submit-worker")).await,
        }
    }

    /// The create function's answer to `account`'s example invoice.
    async fn create(&self, account: &Account) -> Value {
        let event = event_of("invoices-create", "create.json", account, "");
        self.create
            .invoke(serde_json::from_str(&event).unwrap())
            .await
            .unwrap()
    }

    /// The invoice after the worker's one attempt at it.
    async fn work(&self, account: &Account, invoice: &Value) -> Value {
        let id = invoice["id"].as_str().unwrap();
        let event = event_of("submit-worker", "one-invoice.json", account, id);
        let worked = self
            .worker
            .invoke(serde_json::from_str(&event).unwrap())
            .await
            .unwrap();
        assert_eq!(worked["batchItemFailures"], json!([]), "{worked}");
        get(account, &format!("/v1/invoices/{id}")).await.1
    }
}

#[tokio::test]
async fn credentials_replaced_in_the_middle_of_a_lot_lose_nothing_and_issue_nothing_twice() {
    let Some(_) = local_only("the provider sandbox's accounts") else {
        return;
    };
    let owner = signup().await;
    let id = lot(&owner, csv("ROTA", 120)).await;
    // While the lot is submitted, another account of the same company replaces the first.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let replacement = own_sandbox_account(&owner).await;
    assert_eq!(connect(&owner, &replacement).await.0, 200);
    let ended = wait_for(&owner, &id, &ENDED).await;
    assert_eq!(
        (&ended["status"], &ended["accepted"]),
        (&json!("completed"), &json!(120)),
        "{ended}"
    );
    let prefix = provider_reference(&owner.org_id, "ROTA");
    let issued = sandbox::issued(&prefix).await;
    assert_eq!(issued.len(), 120);
    assert!(issued.values().all(|times| *times == 1), "{issued:?}");
    let nit = organization(&owner).await["nit"].as_str().unwrap().to_owned();
    assert!(issuers(&prefix).await.values().all(|issuer| *issuer == nit));
}
