//! Webhooks: endpoints registered with a secret shown once, listed, changed, their secret rotated
//! (the old one kept for a day), removed; never pointing at a private, link-local or metadata
//! address; at most ten an organization, even registered at once; owners' and admins' only, and
//! another organization's invisible. Deliveries to receivers on loopback: each state change of
//! a batch arrives signed, once by id, with the resource as its GET answers; a receiver failing
//! half the time still gets every event, and a slow one delays no other; a fan-out run twice and
//! a late message make no second delivery; a delivery whose message was lost is made by the
//! reconciler; a test event, a redelivery, both secrets signing while one rotates, and a 410
//! disabling the endpoint.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};

use crate::support::accounts::{Account, member, signup};
use crate::support::batches;
use crate::support::invoices::{self, get};
use crate::support::receiver::{self, Behaviour, Received};
use crate::support::{api, emulator_sdk, function_config, http, local_only, unique};
use shared::bootstrap::State;
use shared::queue::{DeliveryMessage, EventMessage, WebhookMessage};
use shared::services::Services;
use shared::store::Delivery;

/// `method path` as `account`, with `body`.
async fn send(account: &Account, method: reqwest::Method, path: &str, body: Option<&Value>) -> Response {
    let mut request = http()
        .request(method, api(path))
        .header("authorization", account.bearer());
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// `POST path` with no body, as `account`.
async fn post_empty(account: &Account, path: &str) -> Response {
    send(account, reqwest::Method::POST, path, None).await
}

/// Registers an endpoint at `url` for invoice events; answers the 201's body.
async fn register(account: &Account, url: &str) -> Value {
    let body = json!({"url": url, "events": ["invoice.rejected", "invoice.accepted"], "description": "ERP"});
    let response = send(account, reqwest::Method::POST, "/v1/webhooks", Some(&body)).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_endpoint_is_registered_changed_rotated_and_removed_its_secret_shown_once() {
    let Some(_) = local_only("loopback endpoints, which only the local stack allows") else {
        return;
    };
    let owner = signup().await;
    let created = register(&owner, "http://127.0.0.1:9/hooks").await;
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{created}");
    assert_eq!(created["events"], json!(["invoice.accepted", "invoice.rejected"]));
    assert_eq!(
        (created["enabled"].as_bool(), created["description"].as_str()),
        (Some(true), Some("ERP"))
    );

    let (status, listed) = get(&owner, "/v1/webhooks").await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(secret),
        "a secret is shown once: {listed}"
    );
    let (_, read) = get(&owner, &format!("/v1/webhooks/{id}")).await;
    assert_eq!(read["url"], "http://127.0.0.1:9/hooks");
    assert!(read.get("secret").is_none());

    let change = json!({"events": ["batch.completed"], "enabled": false, "description": null});
    let changed = send(
        &owner,
        reqwest::Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(&change),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["events"], json!(["batch.completed"]));
    assert_eq!(
        (changed["enabled"].as_bool(), &changed["description"]),
        (Some(false), &Value::Null)
    );

    let rotated = post_empty(&owner, &format!("/v1/webhooks/{id}/rotate-secret")).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let until =
        shared::clock::parse_rfc3339(rotated["previous_secret_expires_at"].as_str().unwrap()).unwrap();
    let hours = (until - shared::clock::now()).whole_hours();
    assert!(
        (23..=24).contains(&hours),
        "the old secret signs a day more: {rotated}"
    );

    let deleted = send(
        &owner,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(get(&owner, &format!("/v1/webhooks/{id}")).await.0, 404);
    let again = send(
        &owner,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn private_link_local_and_metadata_targets_are_refused() {
    let owner = signup().await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:172.16.0.1]/",
        "ftp://hooks.example.co/",
        "https://user:secret@hooks.example.co/",
        "not a url",
    ] {
        let body = json!({"url": url, "events": ["invoice.accepted"]});
        let response = send(&owner, reqwest::Method::POST, "/v1/webhooks", Some(&body)).await;
        assert_eq!(response.status(), 422, "{url}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["details"][0]["field"], "url", "{url}: {answer}");
    }
    let body = json!({"url": "https://hooks.example.co/", "events": ["invoice.sent", "invoice.accepted", "invoice.accepted"]});
    let response = send(&owner, reqwest::Method::POST, "/v1/webhooks", Some(&body)).await;
    assert_eq!(response.status(), 422);
    let fields: Vec<String> = response.json::<Value>().await.unwrap()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"events[0]".to_owned()) && fields.contains(&"events[2]".to_owned()),
        "{fields:?}"
    );
    let (_, listed) = get(&owner, "/v1/webhooks").await;
    assert_eq!(listed["data"], json!([]));
}

#[tokio::test]
async fn ten_endpoints_at_most_even_registered_at_once_and_only_for_owners_and_admins() {
    let Some(_) = local_only("loopback endpoints, which only the local stack allows") else {
        return;
    };
    let owner = signup().await;
    let attempts = (0..12).map(|n| {
        let owner = &owner;
        async move {
            let body = json!({"url": format!("http://127.0.0.1:9/hook-{n}"), "events": ["invoice.failed"]});
            send(owner, reqwest::Method::POST, "/v1/webhooks", Some(&body))
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [[201; 10].as_slice(), &[409, 409]].concat());
    let (_, listed) = get(&owner, "/v1/webhooks").await;
    let first = listed["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["data"].as_array().unwrap().len(), 10);
    send(
        &owner,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{first}"),
        None,
    )
    .await;
    register(&owner, "http://127.0.0.1:9/one-more").await;

    let issuer = member(&owner, "issuer").await;
    assert_eq!(get(&issuer, "/v1/webhooks").await.0, 403);
    let admin = member(&owner, "admin").await;
    assert_eq!(get(&admin, "/v1/webhooks").await.0, 200);

    let stranger = signup().await;
    let (_, theirs) = get(&stranger, "/v1/webhooks").await;
    assert_eq!(theirs["data"], json!([]));
    let mine = listed["data"][1]["id"].as_str().unwrap();
    assert_eq!(get(&stranger, &format!("/v1/webhooks/{mine}")).await.0, 404);
    let change = json!({"enabled": false});
    let response = send(
        &stranger,
        reqwest::Method::PATCH,
        &format!("/v1/webhooks/{mine}"),
        Some(&change),
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = send(
        &stranger,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{mine}"),
        None,
    )
    .await;
    assert_eq!(response.status(), 404);
}

/// Registers an endpoint at `url` for every event; answers its id and secret.
async fn subscribe_all(account: &Account, url: &str) -> (String, String) {
    let body = json!({"url": url, "events": ["invoice.accepted", "invoice.rejected", "invoice.failed",
        "batch.completed", "credit_note.accepted", "credit_note.rejected"]});
    let response = send(account, reqwest::Method::POST, "/v1/webhooks", Some(&body)).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Whether `received`'s signature header holds a `v1` of `secret` at its own `t`, and `t` is
/// within five minutes of now.
fn verifies(received: &Received, secret: &str) -> bool {
    let parts: Vec<(&str, &str)> = received
        .signature
        .split(',')
        .filter_map(|part| part.split_once('='))
        .collect();
    let Some(t) = parts
        .iter()
        .find(|(k, _)| *k == "t")
        .and_then(|(_, v)| v.parse::<i64>().ok())
    else {
        return false;
    };
    let fresh = (shared::clock::now().unix_timestamp() - t).abs() <= 300;
    let expected = shared::webhooks::signature(&[secret], t, &received.body);
    let expected = expected
        .split_once(",v1=")
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    fresh && parts.iter().any(|(k, v)| *k == "v1" && *v == expected)
}

#[tokio::test]
async fn a_batchs_events_arrive_signed_each_once_with_the_resource_as_its_get_answers() {
    let Some(_) = local_only("a receiver on loopback") else {
        return;
    };
    let receiver = receiver::start(Behaviour::Healthy).await;
    let owner = signup().await;
    let (webhook_id, secret) = subscribe_all(&owner, &receiver.url).await;
    let rows: Vec<String> = (0..3)
        .map(|n| batches::row(&unique(&format!("WH{n}")), "SKU-1"))
        .collect();
    let batch = batches::submit_csv_until_ended(&owner, &rows).await;

    let accepted = receiver.wait_for_accepted(4).await;
    let bodies: Vec<Value> = accepted
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "invoice.accepted").count(),
        3,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "batch.completed").count(),
        1,
        "{types:?}"
    );
    for (received, body) in accepted.iter().zip(&bodies) {
        assert!(verifies(received, &secret), "{received:?}");
        assert!(!verifies(received, "whsec_not_the_secret"));
        // Replayed later, or with an older timestamp, it does not verify.
        let t: i64 = received.signature[2..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let mut older = received.clone();
        older.signature = received
            .signature
            .replacen(&t.to_string(), &(t - 600).to_string(), 1);
        assert!(!verifies(&older, &secret), "{older:?}");
        assert_eq!(received.event_id, body["id"]);
        assert_eq!(body["organization_id"], owner.org_id.as_str());
        let resource = &body["data"];
        if body["type"] == "batch.completed" {
            assert_eq!(resource["id"], batch["id"]);
            assert_eq!(resource["accepted"], 3);
            assert!(resource["status"].as_str().unwrap().starts_with("completed"));
        } else {
            let (_, now) = get(
                &owner,
                &format!("/v1/invoices/{}", resource["id"].as_str().unwrap()),
            )
            .await;
            assert_eq!(resource["status"], "accepted");
            assert_eq!(resource["number"], now["number"]);
            assert_eq!(resource["cufe"], now["cufe"]);
            assert_eq!(resource["totals"], now["totals"]);
        }
    }
    let ids: std::collections::BTreeSet<&str> = accepted.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids.len(), 4, "each event once");

    let (_, deliveries) = get(
        &owner,
        &format!("/v1/webhooks/{webhook_id}/deliveries?status=delivered"),
    )
    .await;
    let listed = deliveries["data"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "{deliveries}");
    assert!(
        listed
            .iter()
            .all(|d| d["attempts"] == 1 && d["last_status_code"] == 200)
    );
    let stranger = signup().await;
    assert_eq!(
        get(&stranger, &format!("/v1/webhooks/{webhook_id}/deliveries"))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_receiver_failing_half_the_time_still_gets_every_event_and_a_dead_one_delays_no_other() {
    let Some(_) = local_only("receivers on loopback") else {
        return;
    };
    let flaky = receiver::start(Behaviour::FailsHalf).await;
    let slow = receiver::start(Behaviour::Slow(Duration::from_secs(40))).await;
    let owner = signup().await;
    subscribe_all(&owner, &slow.url).await;
    subscribe_all(&owner, &flaky.url).await;
    let rows: Vec<String> = (0..6)
        .map(|n| batches::row(&unique(&format!("WF{n}")), "SKU-1"))
        .collect();
    batches::submit_csv_until_ended(&owner, &rows).await;
    // Six invoices and the batch: every event reaches the flaky receiver, each accepted once,
    // while the slow one still holds its first requests.
    let accepted = flaky.wait_for_accepted(7).await;
    let ids: std::collections::BTreeSet<&str> = accepted.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!((ids.len(), accepted.len()), (7, 7), "{accepted:?}");
    assert!(flaky.received().len() > 7, "some were refused and retried");
    assert!(
        slow.accepted().is_empty(),
        "the slow receiver has answered nothing yet"
    );
}

/// The services of the delivery function, as it builds them: the table and the webhooks queue.
async fn deliverer() -> Services {
    Services::build(&emulator_sdk().await, &function_config("webhook-delivery")).unwrap()
}

#[tokio::test]
async fn a_fan_out_run_twice_and_a_late_message_make_no_second_delivery() {
    let Some(_) = local_only("a receiver on loopback") else {
        return;
    };
    let receiver = receiver::start(Behaviour::FailsHalf).await;
    let owner = signup().await;
    let (webhook_id, _) = subscribe_all(&owner, &receiver.url).await;
    invoices::create(&owner).await;
    // The first attempt is refused and its retry queued: the event is announced again (as the
    // reconciler does when the fan-out seems lost) and the delivery queued again (as for a
    // message that seems lost), while it is pending.
    let refused = wait_until(|| async { receiver.received().into_iter().next() }).await;
    let queue = deliverer().await.webhooks_queue().unwrap();
    let again = [
        WebhookMessage::Event(EventMessage {
            org_id: owner.org_id.clone(),
            event_id: refused.event_id.clone(),
        }),
        WebhookMessage::Delivery(DeliveryMessage {
            org_id: owner.org_id.clone(),
            webhook_id: webhook_id.clone(),
            event_id: refused.event_id.clone(),
            version: None,
        }),
    ];
    assert!(queue.send_all(&again).await.unwrap().is_empty());
    receiver.wait_for_accepted(1).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.answered < 300).collect::<Vec<_>>(),
        vec![false, true],
        "one refusal, one retry, then nothing: {received:?}"
    );
    let (_, page) = get(&owner, &format!("/v1/webhooks/{webhook_id}/deliveries")).await;
    assert_eq!(page["data"][0]["status"], "delivered", "{page}");
    assert_eq!(page["data"][0]["attempts"], 2, "{page}");
}

#[tokio::test]
async fn an_event_larger_than_an_item_holds_arrives_whole() {
    let Some(_) = local_only("a receiver on loopback") else {
        return;
    };
    let receiver = receiver::start(Behaviour::Healthy).await;
    let owner = signup().await;
    subscribe_all(&owner, &receiver.url).await;
    // 500 items of two taxes and two withholdings each: an invoice within what may be stored,
    // whose view (with its lines' amounts) is larger than one event item holds.
    let mut body = invoices::example();
    let item = json!({"code_reference": "SKU-00001", "name": "Widget of steel 0001", "quantity": "2",
        "price": "10000.00", "discount_rate": "10.5", "unit_measure": "94", "is_excluded": false,
        "taxes": [{"code": "01", "rate": "19"}, {"code": "04", "rate": "8"}],
        "withholding_taxes": [{"code": "06", "rate": "2.5"}, {"code": "05", "rate": "15"}]});
    body["items"] = Value::Array(vec![item; 500]);
    let response = invoices::post(&owner, &body, None).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let received = receiver.wait_for_accepted(1).await;
    let event: Value = serde_json::from_str(&received[0].body).unwrap();
    assert!(
        received[0].body.len() > 300_000,
        "{} bytes",
        received[0].body.len()
    );
    let (_, invoice) = get(&owner, &format!("/v1/invoices/{id}")).await;
    assert_eq!(invoice["status"], "accepted");
    assert!(
        event["data"] == invoice,
        "the event's data is the invoice as its GET answers"
    );
}

#[tokio::test]
async fn a_delivery_whose_message_was_lost_is_made_by_the_reconciler() {
    let Some(_) = local_only("a receiver on loopback") else {
        return;
    };
    let first = receiver::start(Behaviour::Healthy).await;
    let owner = signup().await;
    let (first_id, _) = subscribe_all(&owner, &first.url).await;
    let test = post_empty(&owner, &format!("/v1/webhooks/{first_id}/test")).await;
    let event_id = test.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second endpoint's delivery of that event, written as the fan-out writes it, its message
    // lost (a send that failed, a message in the dead-letter queue).
    let second = receiver::start(Behaviour::Healthy).await;
    let (second_id, secret) = subscribe_all(&owner, &second.url).await;
    let store = deliverer().await.store;
    let event = store.get_event(&owner.org_id, &event_id).await.unwrap().unwrap();
    let delivery = Delivery::new(&event, &second_id, shared::clock::now());
    assert!(store.create_delivery(&delivery).await.unwrap());
    let received = second.wait_for_accepted(1).await;
    assert_eq!(received[0].event_id, event_id);
    assert!(verifies(&received[0], &secret));
    assert_eq!(
        first.accepted().len(),
        1,
        "the first endpoint's delivery was made once"
    );
}

#[tokio::test]
async fn a_test_event_rotation_a_redelivery_and_a_410() {
    let Some(_) = local_only("a receiver on loopback") else {
        return;
    };
    let receiver = receiver::start(Behaviour::Healthy).await;
    let owner = signup().await;
    let (id, old_secret) = subscribe_all(&owner, &receiver.url).await;
    let rotated = post_empty(&owner, &format!("/v1/webhooks/{id}/rotate-secret")).await;
    let new_secret = rotated.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let test = post_empty(&owner, &format!("/v1/webhooks/{id}/test")).await;
    assert_eq!(test.status(), 202);
    let delivery: Value = test.json().await.unwrap();
    let received = receiver.wait_for_accepted(1).await;
    assert_eq!(received[0].event_id, delivery["event_id"]);
    assert!(received[0].body.contains("\"type\":\"webhook.test\""));
    assert_eq!(
        received[0].signature.matches("v1=").count(),
        2,
        "both secrets sign while rotating"
    );
    assert!(verifies(&received[0], &old_secret) && verifies(&received[0], &new_secret));

    // Once its attempt has ended (a redelivery waits for that: 409 until then), it goes again.
    wait_until(|| async {
        let (_, page) = get(&owner, &format!("/v1/webhooks/{id}/deliveries")).await;
        (page["data"][0]["status"] == "delivered").then_some(())
    })
    .await;
    let path = format!(
        "/v1/webhooks/{id}/deliveries/{}/redeliver",
        delivery["id"].as_str().unwrap()
    );
    let redelivered: Value = post_empty(&owner, &path).await.json().await.unwrap();
    assert_eq!(
        (
            &redelivered["status"],
            &redelivered["attempts"],
            &redelivered["delivered_at"]
        ),
        (&json!("pending"), &json!(0), &Value::Null),
        "{redelivered}"
    );
    let again = receiver.wait_for_accepted(2).await;
    assert_eq!(again[1].event_id, again[0].event_id, "the same event again");
    // Its attempts are counted from the redelivery.
    wait_until(|| async {
        let (_, page) = get(&owner, &format!("/v1/webhooks/{id}/deliveries")).await;
        let delivery = &page["data"][0];
        (delivery["status"] == "delivered" && delivery["attempts"] == 1).then_some(())
    })
    .await;

    let gone = receiver::start(Behaviour::Gone).await;
    let change = json!({"url": gone.url});
    send(
        &owner,
        reqwest::Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(&change),
    )
    .await;
    post_empty(&owner, &format!("/v1/webhooks/{id}/test")).await;
    let disabled = wait_until(|| async {
        let (_, endpoint) = get(&owner, &format!("/v1/webhooks/{id}")).await;
        (endpoint["enabled"] == false).then_some(endpoint)
    })
    .await;
    assert!(
        disabled["disabled_reason"].as_str().unwrap().contains("410"),
        "{disabled}"
    );
}

/// Polls `probe` until it answers something (a bound of a minute, not a timing assertion).
async fn wait_until<T, F, Fut>(probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never happened");
}
