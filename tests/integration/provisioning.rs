//! The local stack creates exactly what `template.yaml` declares, as declared: the same
//! tables (keys, indexes, TTL), queues (visibility, redrive to the DLQ) and secrets.

use std::collections::BTreeSet;

use aws_sdk_sqs::types::QueueAttributeName;
use local_stack::provision::{QUEUE, SECRET, TABLE};
use local_stack::stack::ACCOUNT_ID;
use local_stack::state::Created;
use local_stack::template::{Resolver, Template};
use serde_json::Value;

use crate::support::{emulator_sdk, local_only, stack};

fn template() -> Template {
    Template::load(&stack().workspace_dir.join("template.yaml")).unwrap()
}

/// The template's properties of `id`, resolved against the stack's resources.
fn resolved_properties(template: &Template, id: &str) -> Value {
    let created = Created(stack().resources.clone());
    let pseudo = std::collections::BTreeMap::from([
        ("AWS::StackName", format!("invoicer-{}", stack().name)),
        ("AWS::Region", stack().region.clone()),
        ("AWS::AccountId", ACCOUNT_ID.to_owned()),
    ]);
    let resolver = Resolver {
        template,
        parameters: &stack().parameters,
        pseudo: &pseudo,
        physical: &created,
    };
    resolver
        .resolve(&Value::Object(template.resources[id].properties.clone()))
        .unwrap()
}

/// A key schema as (attribute, key type) pairs.
type Keys = Vec<(String, String)>;
/// A global secondary index as (name, keys, projection type).
type Index = (String, Keys, String);

fn stack_prefix() -> String {
    format!("invoicer-{}-", stack().name)
}

#[tokio::test]
async fn the_emulator_holds_exactly_the_tables_of_the_template_with_their_keys_and_indexes() {
    let Some(_) = local_only("the emulator the stack provisioned") else {
        return;
    };
    let template = template();
    let dynamodb = aws_sdk_dynamodb::Client::new(&emulator_sdk().await);
    let listed: BTreeSet<String> = dynamodb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .iter()
        .filter(|name| name.starts_with(&stack_prefix()))
        .cloned()
        .collect();
    let declared: BTreeSet<String> = template
        .ids_of(TABLE)
        .iter()
        .map(|id| stack().reference(id).unwrap().to_owned())
        .collect();
    assert_eq!(listed, declared);

    for id in template.ids_of(TABLE) {
        let properties = resolved_properties(&template, id);
        let name = stack().reference(id).unwrap();
        let table = dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Keys {
            schema
                .iter()
                .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
                .collect()
        };
        let declared_keys = |schema: &Value| -> Keys {
            schema
                .as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    (
                        k["AttributeName"].as_str().unwrap().to_owned(),
                        k["KeyType"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        };
        assert_eq!(
            keys(table.key_schema()),
            declared_keys(&properties["KeySchema"]),
            "{id} keys"
        );
        let mut indexes: Vec<Index> = table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                let projection = i
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default();
                (
                    i.index_name().unwrap().to_owned(),
                    keys(i.key_schema()),
                    projection,
                )
            })
            .collect();
        indexes.sort();
        let mut declared_indexes: Vec<Index> = properties["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["IndexName"].as_str().unwrap().to_owned(),
                    declared_keys(&i["KeySchema"]),
                    i["Projection"]["ProjectionType"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        declared_indexes.sort();
        assert_eq!(indexes, declared_indexes, "{id} indexes");

        let ttl = dynamodb
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        assert_eq!(
            ttl.attribute_name(),
            properties["TimeToLiveSpecification"]["AttributeName"].as_str(),
            "{id} TTL"
        );
        assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
    }
}

#[tokio::test]
async fn the_emulator_holds_exactly_the_queues_of_the_template_with_their_redrive() {
    let Some(_) = local_only("the emulator the stack provisioned") else {
        return;
    };
    let template = template();
    let sqs = aws_sdk_sqs::Client::new(&emulator_sdk().await);
    let listed: BTreeSet<String> = sqs
        .list_queues()
        .queue_name_prefix(stack_prefix())
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .cloned()
        .collect();
    let declared: BTreeSet<String> = template
        .ids_of(QUEUE)
        .iter()
        .map(|id| stack().reference(id).unwrap().to_owned())
        .collect();
    assert_eq!(listed, declared);

    for id in template.ids_of(QUEUE) {
        let properties = resolved_properties(&template, id);
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(stack().reference(id).unwrap())
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let attribute = |name: QueueAttributeName| attributes.get(&name).cloned();
        for (property, name) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            (
                "MessageRetentionPeriod",
                QueueAttributeName::MessageRetentionPeriod,
            ),
        ] {
            if let Some(value) = properties.get(property) {
                assert_eq!(
                    attribute(name),
                    Some(local_stack::template::scalar_text(value)),
                    "{id} {property}"
                );
            }
        }
        if let Some(redrive) = properties.get("RedrivePolicy") {
            let actual: Value =
                serde_json::from_str(&attribute(QueueAttributeName::RedrivePolicy).unwrap()).unwrap();
            assert_eq!(
                actual["deadLetterTargetArn"], redrive["deadLetterTargetArn"],
                "{id} DLQ"
            );
            assert_eq!(
                actual["maxReceiveCount"].to_string().trim_matches('"'),
                local_stack::template::scalar_text(&redrive["maxReceiveCount"]),
                "{id} maxReceiveCount"
            );
        }
    }
}

#[tokio::test]
async fn the_jwt_key_ring_secret_is_generated_with_an_active_key() {
    let Some(_) = local_only("the emulator the stack provisioned") else {
        return;
    };
    let template = template();
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    for id in template.ids_of(SECRET) {
        let value = secrets
            .get_secret_value()
            .secret_id(stack().reference(id).unwrap())
            .send()
            .await
            .unwrap();
        let document: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
        let properties = resolved_properties(&template, id);
        let generate = &properties["GenerateSecretString"];
        let key = generate["GenerateStringKey"].as_str().unwrap();
        let length: usize = local_stack::template::scalar_text(&generate["PasswordLength"])
            .parse()
            .unwrap();
        assert_eq!(document[key].as_str().unwrap().len(), length, "{id}");
        let template_document: Value =
            serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap()).unwrap();
        for (name, value) in template_document.as_object().unwrap() {
            assert_eq!(&document[name], value, "{id} {name}");
        }
    }
}
