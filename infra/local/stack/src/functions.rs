//! The functions of the template as the local stack runs them: binary, environment, memory,
//! timeout, HTTP routes and SQS event sources, resolved against the local resources.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use crate::provision::{FUNCTION, function_binary};
use crate::state::{Created, FunctionSpec, QueueSource};
use crate::template::{Resolver, Template, scalar_text};

/// Every function of the template, in name order.
pub fn specs(
    template: &Template,
    resolver: &Resolver<'_>,
    created: &Created,
) -> anyhow::Result<Vec<FunctionSpec>> {
    template
        .ids_of(FUNCTION)
        .into_iter()
        .map(|id| spec(id, template, resolver, created).with_context(|| format!("reading the function {id}")))
        .collect()
}

fn spec(
    id: &str,
    template: &Template,
    resolver: &Resolver<'_>,
    created: &Created,
) -> anyhow::Result<FunctionSpec> {
    let resource = &template.resources[id];
    let properties = &resource.properties;
    let number = |key: &str, default: u32| -> anyhow::Result<u32> {
        match properties.get(key) {
            None => Ok(default),
            Some(value) => Ok(resolver.resolve_text(value)?.parse()?),
        }
    };
    let variables = properties
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let environment: BTreeMap<String, String> = resolver
        .resolve(&variables)?
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), scalar_text(value)))
        .collect();
    let mut spec = FunctionSpec {
        logical_id: id.to_owned(),
        name: function_binary(id)?,
        environment,
        memory_mb: number("MemorySize", 128)?,
        timeout_seconds: number("Timeout", 3)?,
        routes: Vec::new(),
        default_route: false,
        queues: Vec::new(),
        schedules: Vec::new(),
    };
    let events = properties
        .get("Events")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, event) in events {
        let kind = event.get("Type").and_then(Value::as_str).unwrap_or_default();
        let event_properties = resolver.resolve(event.get("Properties").unwrap_or(&Value::Null))?;
        let field = |key: &str| event_properties.get(key).map(scalar_text);
        match kind {
            "HttpApi" => match (field("Path"), field("Method")) {
                (Some(path), Some(method)) => spec.routes.push((method.to_ascii_uppercase(), path)),
                (None, None) => spec.default_route = true,
                _ => bail!("the HttpApi event {name} needs both Path and Method, or neither"),
            },
            "SQS" => {
                let queue_arn = field("Queue").context("an SQS event needs Queue")?;
                let queue_url = created
                    .0
                    .values()
                    .find(|r| r.attributes.get("Arn") == Some(&queue_arn))
                    .map(|r| r.reference.clone())
                    .with_context(|| {
                        format!("the SQS event {name} names a queue the template does not create")
                    })?;
                let report_batch_item_failures = event_properties
                    .get("FunctionResponseTypes")
                    .and_then(Value::as_array)
                    .is_some_and(|types| types.iter().any(|t| t == "ReportBatchItemFailures"));
                spec.queues.push(QueueSource {
                    queue_url,
                    queue_arn,
                    batch_size: field("BatchSize").map(|b| b.parse()).transpose()?.unwrap_or(10),
                    maximum_concurrency: event_properties
                        .get("ScalingConfig")
                        .and_then(|s| s.get("MaximumConcurrency"))
                        .map(|m| scalar_text(m).parse())
                        .transpose()?,
                    report_batch_item_failures,
                });
            }
            "Schedule" => {
                let expression = field("Schedule").context("a Schedule event needs Schedule")?;
                crate::schedule::parse_rate(&expression)?;
                spec.schedules.push((format!("{id}-{name}"), expression));
            }
            other => bail!("the {other} event {name} is not emulated by the local stack"),
        }
    }
    Ok(spec)
}
