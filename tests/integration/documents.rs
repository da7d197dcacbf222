//! An accepted invoice's documents: its PDF and XML through a redirect to a short-lived link,
//! fetched from Factus once; sent again by email, to the customer or to another address; none
//! of it before the invoice is accepted, nor for another organization.

use serde_json::{Value, json};

use crate::support::accounts::{member, signup};
use crate::support::invoices::{create, example, post, wait_for};
use shared::provider::provider_reference;

use crate::support::{api, local_only, sandbox, unique};

/// A client that shows redirects instead of following them.
fn not_following() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET /v1/invoices/{id}/{file}` as `account`: the status and the `location`.
async fn file_link(
    account: &crate::support::accounts::Account,
    id: &str,
    file: &str,
) -> (u16, Option<String>) {
    let response = not_following()
        .get(api(&format!("/v1/invoices/{id}/{file}")))
        .header("authorization", account.bearer())
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status().as_u16(), location)
}

/// `POST /v1/invoices/{id}/send-email` as `account` with `body`: status and answer.
async fn send_email(
    account: &crate::support::accounts::Account,
    id: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = crate::support::http()
        .post(api(&format!("/v1/invoices/{id}/send-email")))
        .header("authorization", account.bearer());
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_accepted_invoices_pdf_and_xml_are_fetched_once_and_given_as_short_lived_links() {
    let Some(_) = local_only("the provider sandbox's journal") else {
        return;
    };
    let owner = signup().await;
    let viewer = member(&owner, "viewer").await;
    let invoice = create(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    let accepted = wait_for(&owner, id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    let (number, cufe) = (
        accepted["number"].as_str().unwrap(),
        accepted["cufe"].as_str().unwrap(),
    );

    let (status, link) = file_link(&viewer, id, "pdf").await;
    assert_eq!(status, 302);
    let link = link.unwrap();
    assert!(
        link.contains("X-Amz-Expires=300"),
        "a link valid five minutes: {link}"
    );
    // The link works by itself, with no token.
    let pdf = reqwest::get(&link).await.unwrap();
    assert_eq!(pdf.status(), 200, "{link}: {}", pdf.text().await.unwrap());
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

    let (status, link) = file_link(&owner, id, "xml").await;
    assert_eq!(status, 302);
    let xml = reqwest::get(link.unwrap()).await.unwrap().text().await.unwrap();
    assert!(
        xml.contains(number) && xml.contains(cufe),
        "the XML names the invoice: {xml}"
    );

    // A second download is the kept file: Factus was asked once for each.
    assert_eq!(file_link(&owner, id, "pdf").await.0, 302);
    let reference = provider_reference(&owner.org_id, accepted["reference_code"].as_str().unwrap());
    let downloads: Vec<String> = sandbox::requests(&reference)
        .await
        .into_iter()
        .filter_map(|request| request["path"].as_str().map(str::to_owned))
        .filter(|path| path.contains("/download-"))
        .collect();
    assert_eq!(
        downloads,
        [
            format!("/v2/bills/{number}/download-pdf"),
            format!("/v2/bills/{number}/download-xml")
        ]
    );

    // Another organization's invoice is missing, as a missing one is.
    let stranger = signup().await;
    assert_eq!(file_link(&stranger, id, "pdf").await, (404, None));
    assert_eq!(send_email(&stranger, id, None).await.0, 404);
    assert_eq!(
        file_link(&owner, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "xml").await,
        (404, None)
    );
}

#[tokio::test]
async fn an_accepted_invoice_is_sent_again_by_email_to_the_customer_or_another_address() {
    let Some(_) = local_only("the provider sandbox's journal") else {
        return;
    };
    let owner = signup().await;
    let invoice = create(&owner).await;
    let id = invoice["id"].as_str().unwrap();
    let accepted = wait_for(&owner, id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    let number = accepted["number"].as_str().unwrap();

    let (status, sent) = send_email(&owner, id, None).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(
        sent,
        json!({"invoice_id": id, "number": number, "email": "ap@acme.co"})
    );
    let other = json!({"email": "Compras@Cliente.example.co"});
    let (status, sent) = send_email(&owner, id, Some(&other)).await;
    assert_eq!(
        (status, &sent["email"]),
        (202, &json!("compras@cliente.example.co"))
    );
    let reference = provider_reference(&owner.org_id, accepted["reference_code"].as_str().unwrap());
    let addresses: Vec<Value> = sandbox::requests(&reference)
        .await
        .into_iter()
        .filter(|request| request["path"] == format!("/v2/bills/{number}/send-email"))
        .map(|request| request["body"]["email"].clone())
        .collect();
    assert_eq!(
        addresses,
        [json!("ap@acme.co"), json!("compras@cliente.example.co")]
    );

    // Factus sends an invoice twice a day at most: a third time, it says so.
    let (status, refused) = send_email(&owner, id, None).await;
    assert_eq!(status, 422, "{refused}");
    let detail = &refused["error"]["details"][0];
    assert_eq!(detail["field"], "email");
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .contains("Factus did not send it"),
        "{detail}"
    );

    let (status, refused) = send_email(&owner, id, Some(&json!({"email": "no address", "cc": 1}))).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "email");
    // A viewer may not, whatever it sends.
    let viewer = member(&owner, "viewer").await;
    assert_eq!(send_email(&viewer, id, None).await.0, 403);
    assert_eq!(send_email(&viewer, id, Some(&json!({"email": 3}))).await.0, 403);
}

#[tokio::test]
async fn before_it_is_accepted_an_invoice_has_no_documents_to_give_or_send() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    let owner = signup().await;
    let code = unique("RJ");
    let refused = provider_reference(&owner.org_id, &code);
    sandbox::set_faults(json!({"reference_prefix": refused, "dian_rejection_rate": 1.0, "seed": 7})).await;
    let mut body = example();
    body["reference_code"] = json!(code);
    let response = post(&owner, &body, None).await;
    assert_eq!(response.status(), 202);
    let invoice: Value = response.json().await.unwrap();
    let id = invoice["id"].as_str().unwrap();
    let rejected = wait_for(&owner, id, &["accepted", "rejected", "failed"]).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    for file in ["pdf", "xml"] {
        assert_eq!(file_link(&owner, id, file).await, (409, None));
    }
    let (status, answer) = send_email(&owner, id, None).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("INVALID_STATE")));
}
