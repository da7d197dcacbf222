//! Creates in the emulator the tables, queues, secrets and buckets that the template declares,
//! with the properties it gives them (a bucket's encryption, access block and lifecycle are
//! AWS's business, not the emulator's), and records every resource's physical id for
//! `!Ref`/`!GetAtt`.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Map, Value};

use crate::state::{Created, PhysicalResource};
use crate::template::{Resolver, Template, scalar_text};

pub const TABLE: &str = "AWS::DynamoDB::Table";
pub const QUEUE: &str = "AWS::SQS::Queue";
pub const SECRET: &str = "AWS::SecretsManager::Secret";
pub const BUCKET: &str = "AWS::S3::Bucket";
pub const FUNCTION: &str = "AWS::Serverless::Function";

/// The names the template's pseudo parameters take locally.
pub struct Environment {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
}

impl Environment {
    pub fn pseudo_parameters(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("AWS::StackName", self.stack_name.clone()),
            ("AWS::Region", self.region.clone()),
            ("AWS::AccountId", self.account_id.clone()),
            ("AWS::Partition", "aws".to_owned()),
            ("AWS::URLSuffix", "amazonaws.com".to_owned()),
            (
                "AWS::StackId",
                format!(
                    "arn:aws:cloudformation:{}:{}:stack/{}/local",
                    self.region, self.account_id, self.stack_name
                ),
            ),
        ])
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account_id)
    }
}

/// Creates every emulated resource, in dependency order, and records all of them.
pub async fn provision(
    template: &Template,
    parameters: &BTreeMap<String, String>,
    env: &Environment,
    sdk: &SdkConfig,
) -> anyhow::Result<Created> {
    let pseudo = env.pseudo_parameters();
    let mut created = Created::default();
    let ids: Vec<&str> = template.resources.keys().map(String::as_str).collect();
    for id in template.in_dependency_order(&ids)? {
        let resource = &template.resources[id];
        let resolver = Resolver {
            template,
            parameters,
            pseudo: &pseudo,
            physical: &created,
        };
        if let Some(condition) = &resource.condition
            && !resolver.condition(condition)?
        {
            continue;
        }
        let physical = match resource.kind.as_str() {
            TABLE | QUEUE | SECRET | BUCKET => {
                let properties = resolver
                    .resolve(&Value::Object(resource.properties.clone()))
                    .with_context(|| format!("resolving the properties of {id}"))?;
                let properties = properties.as_object().cloned().unwrap_or_default();
                let name = |key: &str| {
                    properties
                        .get(key)
                        .map(scalar_text)
                        .unwrap_or_else(|| format!("{}-{id}", env.stack_name))
                };
                match resource.kind.as_str() {
                    TABLE => create_table(sdk, env, &name("TableName"), &properties).await,
                    QUEUE => create_queue(sdk, &name("QueueName"), &properties).await,
                    BUCKET => create_bucket(sdk, &name("BucketName")).await,
                    _ => create_secret(sdk, &name("Name"), &properties).await,
                }
                .with_context(|| format!("creating {id} in the emulator"))?
            }
            FUNCTION => {
                let name = function_binary(id)?;
                PhysicalResource {
                    kind: resource.kind.clone(),
                    attributes: BTreeMap::from([(
                        "Arn".to_owned(),
                        env.arn("lambda", &format!("function:{name}")),
                    )]),
                    reference: name,
                    emulated: true,
                }
            }
            other => PhysicalResource {
                kind: other.to_owned(),
                reference: format!("{}-{id}", env.stack_name),
                attributes: BTreeMap::from([("Arn".to_owned(), env.arn("local", id))]),
                emulated: false,
            },
        };
        created.0.insert(id.to_owned(), physical);
    }
    Ok(created)
}

/// A function's binary, which is also its crate under `functions/`: its logical id without
/// `Function`, in kebab case (`AuthSignupFunction` is `auth-signup`), as the Makefile's
/// `build-%Function` rule for `sam build` names it too.
pub fn function_binary(id: &str) -> anyhow::Result<String> {
    let name = id
        .strip_suffix("Function")
        .filter(|name| !name.is_empty())
        .with_context(|| format!("function {id}: a function's logical id ends in Function"))?;
    let mut binary = String::new();
    let mut after_lower = false;
    for letter in name.chars() {
        if letter.is_ascii_uppercase() && after_lower {
            binary.push('-');
        }
        after_lower = letter.is_ascii_lowercase() || letter.is_ascii_digit();
        binary.push(letter.to_ascii_lowercase());
    }
    Ok(binary)
}

fn text(properties: &Map<String, Value>, key: &str) -> Option<String> {
    properties.get(key).map(scalar_text)
}

fn list<'a>(properties: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Map<String, Value>> {
    properties
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn key_schema(properties: &Map<String, Value>) -> anyhow::Result<Vec<ddb::KeySchemaElement>> {
    list(properties, "KeySchema")
        .map(|key| {
            Ok(ddb::KeySchemaElement::builder()
                .attribute_name(text(key, "AttributeName").context("AttributeName")?)
                .key_type(ddb::KeyType::from(
                    text(key, "KeyType").context("KeyType")?.as_str(),
                ))
                .build()?)
        })
        .collect()
}

async fn create_table(
    sdk: &SdkConfig,
    env: &Environment,
    name: &str,
    properties: &Map<String, Value>,
) -> anyhow::Result<PhysicalResource> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut request = client
        .create_table()
        .table_name(name)
        .set_key_schema(Some(key_schema(properties)?))
        .billing_mode(ddb::BillingMode::from(
            text(properties, "BillingMode")
                .unwrap_or_else(|| "PROVISIONED".to_owned())
                .as_str(),
        ));
    for attribute in list(properties, "AttributeDefinitions") {
        request = request.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(text(attribute, "AttributeName").context("AttributeName")?)
                .attribute_type(ddb::ScalarAttributeType::from(
                    text(attribute, "AttributeType")
                        .context("AttributeType")?
                        .as_str(),
                ))
                .build()?,
        );
    }
    for index in list(properties, "GlobalSecondaryIndexes") {
        let projection = index
            .get("Projection")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut projection_builder = ddb::Projection::builder().projection_type(ddb::ProjectionType::from(
            text(&projection, "ProjectionType")
                .unwrap_or_else(|| "ALL".to_owned())
                .as_str(),
        ));
        for attribute in projection
            .get("NonKeyAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            projection_builder = projection_builder.non_key_attributes(scalar_text(attribute));
        }
        request = request.global_secondary_indexes(
            ddb::GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName").context("IndexName")?)
                .set_key_schema(Some(key_schema(index)?))
                .projection(projection_builder.build())
                .build()?,
        );
    }
    if let Some(stream) = properties.get("StreamSpecification").and_then(Value::as_object) {
        request = request.stream_specification(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::StreamViewType::from(
                    text(stream, "StreamViewType")
                        .unwrap_or_else(|| "NEW_AND_OLD_IMAGES".to_owned())
                        .as_str(),
                ))
                .build()?,
        );
    }
    let description = match request.send().await {
        Ok(output) => output.table_description,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            client.describe_table().table_name(name).send().await?.table
        }
        Err(error) => return Err(aws_sdk_dynamodb::Error::from(error).into()),
    };
    if let Some(ttl) = properties
        .get("TimeToLiveSpecification")
        .and_then(Value::as_object)
    {
        let enabled = ttl.get("Enabled").map(scalar_text).is_some_and(|v| v == "true");
        if enabled {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    ddb::TimeToLiveSpecification::builder()
                        .attribute_name(text(ttl, "AttributeName").context("TTL AttributeName")?)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(aws_sdk_dynamodb::Error::from)?;
        }
    }
    let arn = description
        .as_ref()
        .and_then(|d| d.table_arn.clone())
        .unwrap_or_else(|| env.arn("dynamodb", &format!("table/{name}")));
    let mut attributes = BTreeMap::from([("Arn".to_owned(), arn)]);
    if let Some(stream_arn) = description.and_then(|d| d.latest_stream_arn) {
        attributes.insert("StreamArn".to_owned(), stream_arn);
    }
    Ok(PhysicalResource {
        kind: TABLE.to_owned(),
        reference: name.to_owned(),
        attributes,
        emulated: true,
    })
}

/// The queue properties that are SQS attributes, by their CloudFormation name.
const QUEUE_ATTRIBUTES: [&str; 9] = [
    "ContentBasedDeduplication",
    "DelaySeconds",
    "FifoQueue",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "VisibilityTimeout",
];

/// A bucket; its name in lower case, as S3 wants.
async fn create_bucket(sdk: &SdkConfig, name: &str) -> anyhow::Result<PhysicalResource> {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(true)
        .build();
    let name = name.to_ascii_lowercase();
    aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .map_err(aws_sdk_s3::Error::from)?;
    Ok(PhysicalResource {
        kind: BUCKET.to_owned(),
        attributes: BTreeMap::from([("Arn".to_owned(), format!("arn:aws:s3:::{name}"))]),
        reference: name,
        emulated: true,
    })
}

async fn create_queue(
    sdk: &SdkConfig,
    name: &str,
    properties: &Map<String, Value>,
) -> anyhow::Result<PhysicalResource> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let fifo = text(properties, "FifoQueue").is_some_and(|v| v == "true");
    let name = if fifo && !name.ends_with(".fifo") {
        format!("{name}.fifo")
    } else {
        name.to_owned()
    };
    let mut request = client.create_queue().queue_name(&name);
    for key in QUEUE_ATTRIBUTES {
        let Some(value) = properties.get(key) else {
            continue;
        };
        let value = match value {
            // Policies are JSON documents whose counts are numbers.
            Value::Object(policy) => serde_json::to_string(&numbers_as_numbers(policy))?,
            other => scalar_text(other),
        };
        request = request.attributes(QueueAttributeName::from(key), value);
    }
    for key in properties.keys() {
        if !QUEUE_ATTRIBUTES.contains(&key.as_str())
            && !matches!(key.as_str(), "QueueName" | "SqsManagedSseEnabled" | "Tags")
        {
            bail!("the queue property {key} is not emulated");
        }
    }
    let url = request
        .send()
        .await
        .map_err(aws_sdk_sqs::Error::from)?
        .queue_url
        .context("no queue URL")?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_sdk_sqs::Error::from)?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .context("no queue ARN")?;
    Ok(PhysicalResource {
        kind: QUEUE.to_owned(),
        reference: url.clone(),
        attributes: BTreeMap::from([
            ("Arn".to_owned(), arn),
            ("QueueName".to_owned(), name),
            ("QueueUrl".to_owned(), url),
        ]),
        emulated: true,
    })
}

/// `{"maxReceiveCount": "5"}` → `{"maxReceiveCount": 5}`, as CloudFormation sends it to SQS.
fn numbers_as_numbers(policy: &Map<String, Value>) -> Map<String, Value> {
    policy
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(s) => s
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| value.clone()),
                other => other.clone(),
            };
            (key.clone(), value)
        })
        .collect()
}

async fn create_secret(
    sdk: &SdkConfig,
    name: &str,
    properties: &Map<String, Value>,
) -> anyhow::Result<PhysicalResource> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let value = match (
        text(properties, "SecretString"),
        properties.get("GenerateSecretString").and_then(Value::as_object),
    ) {
        (Some(value), _) => value,
        (None, Some(generate)) => generate_secret(generate)?,
        (None, None) => bail!("the secret has neither SecretString nor GenerateSecretString"),
    };
    let arn = match client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(output) => output.arn,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            client
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(aws_sdk_secretsmanager::Error::from)?
                .arn
        }
        Err(error) => return Err(aws_sdk_secretsmanager::Error::from(error).into()),
    }
    .context("no secret ARN")?;
    Ok(PhysicalResource {
        kind: SECRET.to_owned(),
        reference: arn.clone(),
        attributes: BTreeMap::from([("Id".to_owned(), arn)]),
        emulated: true,
    })
}

/// What CloudFormation's `GenerateSecretString` makes: a random password, alone or as one key
/// of the JSON template.
fn generate_secret(spec: &Map<String, Value>) -> anyhow::Result<String> {
    let length: usize = text(spec, "PasswordLength")
        .map(|l| l.parse())
        .transpose()?
        .unwrap_or(32);
    let no_punctuation = text(spec, "ExcludePunctuation").is_some_and(|v| v == "true");
    let excluded = text(spec, "ExcludeCharacters").unwrap_or_default();
    let mut alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    if !no_punctuation {
        alphabet.extend("!#$%&()*+,-./:;<=>?@[]^_{|}~".chars());
    }
    alphabet.retain(|c| !excluded.contains(*c));
    let mut bytes = vec![0u8; length];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let password: String = bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect();
    match (
        text(spec, "SecretStringTemplate"),
        text(spec, "GenerateStringKey"),
    ) {
        (Some(template), Some(key)) => {
            let mut document: Map<String, Value> =
                serde_json::from_str(&template).context("SecretStringTemplate")?;
            document.insert(key, Value::String(password));
            Ok(serde_json::to_string(&document)?)
        }
        _ => Ok(password),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_functions_binary_is_its_logical_id_in_kebab_case() {
        assert_eq!(function_binary("AuthSignupFunction").unwrap(), "auth-signup");
        assert_eq!(function_binary("HealthFunction").unwrap(), "health");
        assert_eq!(function_binary("DlqHandlerFunction").unwrap(), "dlq-handler");
        assert!(function_binary("Function").is_err());
        assert!(function_binary("HealthHandler").is_err());
    }

    #[test]
    fn a_generated_secret_fills_its_template() {
        let spec = serde_json::json!({
            "SecretStringTemplate": "{\"active\": \"k1\"}",
            "GenerateStringKey": "k1",
            "PasswordLength": 64,
            "ExcludePunctuation": true
        });
        let secret: Map<String, Value> =
            serde_json::from_str(&generate_secret(spec.as_object().unwrap()).unwrap()).unwrap();
        assert_eq!(secret["active"], "k1");
        let key = secret["k1"].as_str().unwrap();
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn policy_counts_are_sent_as_numbers() {
        let policy = serde_json::json!({"deadLetterTargetArn": "arn:x", "maxReceiveCount": "3"});
        let converted = numbers_as_numbers(policy.as_object().unwrap());
        assert_eq!(
            serde_json::to_string(&converted).unwrap(),
            r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":3}"#
        );
    }
}
