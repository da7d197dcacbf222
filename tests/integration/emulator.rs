//! A canary of the emulator behaviours the project relies on. The emulator is a young project
//! that releases often; an upgrade that breaks one of these fails here, loudly, instead of as a
//! mystery elsewhere. Each test works on its own table or queues.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, PutRequest,
    ScalarAttributeType, TransactWriteItem, WriteRequest,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::support::{emulator_sdk, local_only, unique};

async fn table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("canary");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("PK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("PK")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

fn item(key: &str) -> std::collections::HashMap<String, AttributeValue> {
    std::collections::HashMap::from([
        ("PK".to_owned(), AttributeValue::S(key.to_owned())),
        ("payload".to_owned(), AttributeValue::S("x".repeat(200))),
    ])
}

fn put(table: &str, key: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item(key)))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn a_cancelled_transaction_says_why_per_action_and_writes_nothing() {
    let Some(_) = local_only("the AWS emulator itself") else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&emulator_sdk().await);
    let table = table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item("taken")))
        .send()
        .await
        .unwrap();

    let error = client
        .transact_write_items()
        .transact_items(put(&table, "fresh"))
        .transact_items(put(&table, "taken"))
        .send()
        .await
        .unwrap_err();

    let service_error = error.into_service_error();
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled) = service_error else {
        panic!("expected a cancelled transaction, got {service_error:?}");
    };
    let codes: Vec<Option<&str>> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code())
        .collect();
    assert_eq!(codes, [Some("None"), Some("ConditionalCheckFailed")]);
    let fresh = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S("fresh".into()))
        .send()
        .await
        .unwrap();
    assert!(fresh.item.is_none(), "a cancelled transaction wrote an item");
}

#[tokio::test]
async fn a_batch_write_of_more_than_25_items_is_refused() {
    let Some(_) = local_only("the AWS emulator itself") else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&emulator_sdk().await);
    let table = table(&client).await;
    let requests: Vec<WriteRequest> = (0..26)
        .map(|i| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item(&format!("k{i}"))))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();

    let result = client
        .batch_write_item()
        .request_items(&table, requests)
        .send()
        .await;

    assert!(
        result.is_err(),
        "26 items in one BatchWriteItem must be refused, as AWS does"
    );
}

#[tokio::test]
async fn a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue() {
    let Some(_) = local_only("the AWS emulator itself") else {
        return;
    };
    let sqs = aws_sdk_sqs::Client::new(&emulator_sdk().await);
    let dlq_url = sqs
        .create_queue()
        .queue_name(unique("canary-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("canary"))
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("poison")
        .send()
        .await
        .unwrap();

    for _ in 0..2 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert_eq!(received.messages().len(), 1);
    }
    let third = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let in_dlq = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();

    assert!(
        third.messages().is_empty(),
        "a third receive must not see the message"
    );
    assert_eq!(in_dlq.messages().len(), 1);
    assert_eq!(in_dlq.messages()[0].body(), Some("poison"));
}

/// Not a performance goal (those are `make bench`'s): a guard against an emulator whose
/// transactions cost O(table size), which made 100 actions on 5,000 items take 16 s elsewhere.
#[tokio::test]
async fn a_transaction_of_100_actions_on_a_5000_item_table_takes_well_under_a_second() {
    let Some(_) = local_only("the AWS emulator itself") else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&emulator_sdk().await);
    let table = table(&client).await;
    let writes = (0..200).map(|batch| {
        let client = client.clone();
        let table = table.clone();
        async move {
            let requests: Vec<WriteRequest> = (0..25)
                .map(|i| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item(&format!("seed-{batch}-{i}"))))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let written = client
                .batch_write_item()
                .request_items(&table, requests)
                .send()
                .await
                .unwrap();
            assert!(written.unprocessed_items().is_none_or(|u| u.is_empty()));
        }
    });
    futures_util::future::join_all(writes).await;
    let pages: Vec<_> = client
        .scan()
        .table_name(&table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .into_paginator()
        .send()
        .collect()
        .await;
    let count: i32 = pages.into_iter().map(|page| page.unwrap().count).sum();
    assert_eq!(count, 5000);

    let started = Instant::now();
    client
        .transact_write_items()
        .set_transact_items(Some((0..100).map(|i| put(&table, &format!("tx-{i}"))).collect()))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();

    assert!(
        took < Duration::from_secs(1),
        "100 actions on 5,000 items took {took:?}"
    );
}
