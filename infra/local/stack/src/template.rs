//! Reads `template.yaml` (SAM) and resolves what the local stack needs from it.
//!
//! CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`, ...) are turned into their long
//! forms, `Globals.Function` is merged into every function, and intrinsic functions are
//! resolved against parameter values and the physical ids of the resources created so far.
//! What is not supported fails loudly, naming the resource: a silent difference from AWS is
//! what this stack exists to prevent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// The parsed template, with tags in their long form and globals merged.
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: BTreeMap<String, Resource>,
}

/// One resource of the template.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    /// The condition that decides whether the resource exists.
    pub condition: Option<String>,
    pub properties: Map<String, Value>,
    pub metadata: Map<String, Value>,
}

impl Template {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the template {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing the template {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let document = to_json(yaml)?;
        let section = |name: &str| document.get(name).and_then(Value::as_object).cloned();
        let globals = section("Globals")
            .and_then(|g| g.get("Function").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        let parameters = section("Parameters").unwrap_or_default().into_iter().collect();
        let conditions = section("Conditions").unwrap_or_default();
        let mut resources = BTreeMap::new();
        for (id, resource) in section("Resources").unwrap_or_default() {
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .with_context(|| format!("resource {id} has no Type"))?
                .to_owned();
            let mut properties = resource
                .get("Properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if kind == "AWS::Serverless::Function" {
                properties = merge_globals(&globals, properties);
            }
            let metadata = resource
                .get("Metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let condition = resource
                .get("Condition")
                .and_then(Value::as_str)
                .map(str::to_owned);
            resources.insert(
                id,
                Resource {
                    kind,
                    condition,
                    properties,
                    metadata,
                },
            );
        }
        Ok(Self {
            parameters,
            conditions,
            resources,
        })
    }

    /// The logical ids of the resources of one type, in name order.
    pub fn ids_of(&self, kind: &str) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, r)| r.kind == kind)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Parameter values: the defaults, overridden by `overrides`; unknown overrides are errors.
    pub fn parameter_values(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> anyhow::Result<BTreeMap<String, String>> {
        for name in overrides.keys() {
            if !self.parameters.contains_key(name) {
                bail!("the template has no parameter {name}");
            }
        }
        self.parameters
            .iter()
            .map(|(name, spec)| {
                let value = match overrides.get(name) {
                    Some(value) => value.clone(),
                    None => spec
                        .get("Default")
                        .map(scalar_text)
                        .with_context(|| format!("parameter {name} has no default and no value"))?,
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// Orders `ids` so that every resource comes after the resources it references.
    pub fn in_dependency_order<'a>(&self, ids: &[&'a str]) -> anyhow::Result<Vec<&'a str>> {
        let wanted: BTreeSet<&str> = ids.iter().copied().collect();
        let mut ordered: Vec<&'a str> = Vec::new();
        let mut pending: Vec<&'a str> = ids.to_vec();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|id| {
                let ready = self.resources[*id]
                    .references()
                    .iter()
                    .all(|dep| !wanted.contains(dep.as_str()) || ordered.contains(&dep.as_str()));
                if ready {
                    ordered.push(id);
                }
                !ready
            });
            if pending.len() == before {
                bail!("resources reference each other in a cycle: {pending:?}");
            }
        }
        Ok(ordered)
    }
}

impl Resource {
    /// The logical ids this resource's properties refer to.
    pub fn references(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        collect_references(&Value::Object(self.properties.clone()), &mut found);
        found
    }
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("Ref") {
                found.insert(target.clone());
            }
            if let Some((id, _)) = map.get("Fn::GetAtt").and_then(get_att_parts) {
                found.insert(id);
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let text = match sub {
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    other => other.as_str(),
                };
                for name in sub_variables(text.unwrap_or_default()) {
                    found.insert(name.split('.').next().unwrap_or_default().to_owned());
                }
            }
            map.values().for_each(|v| collect_references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

/// `Environment.Variables` merge key by key (the function's win); other keys are replaced.
fn merge_globals(globals: &Map<String, Value>, mut properties: Map<String, Value>) -> Map<String, Value> {
    for (key, global) in globals {
        match (key.as_str(), properties.get_mut(key)) {
            ("Environment", Some(Value::Object(own))) => {
                let global_vars = global.get("Variables").and_then(Value::as_object);
                let own_vars = own
                    .entry("Variables")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(global_vars), Value::Object(own_vars)) = (global_vars, own_vars) {
                    for (name, value) in global_vars {
                        own_vars.entry(name.clone()).or_insert_with(|| value.clone());
                    }
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                properties.insert(key.clone(), global.clone());
            }
        }
    }
    properties
}

/// Converts YAML to JSON, turning `!Tag value` into `{"Fn::Tag": value}` (`!Ref` into `Ref`).
fn to_json(yaml: serde_norway::Value) -> anyhow::Result<Value> {
    use serde_norway::Value as Yaml;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(n)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect::<anyhow::Result<_>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match key {
                    Yaml::String(s) => s,
                    other => scalar_text(&to_json(other)?),
                };
                out.insert(key, to_json(value)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(tagged.value)?;
            let key = if name == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{name}")
            };
            let inner = match (name, inner) {
                // `!GetAtt Res.Attr` is the short form of `["Res", "Attr"]`.
                ("GetAtt", Value::String(dotted)) => match dotted.split_once('.') {
                    Some((id, attr)) => Value::Array(vec![id.into(), attr.into()]),
                    None => bail!("!GetAtt {dotted} names no attribute"),
                },
                (_, inner) => inner,
            };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

/// A scalar as CloudFormation passes it around: text.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn get_att_parts(target: &Value) -> Option<(String, String)> {
    match target {
        Value::Array(parts) => Some((
            parts.first()?.as_str()?.to_owned(),
            parts.get(1)?.as_str()?.to_owned(),
        )),
        Value::String(dotted) => dotted.split_once('.').map(|(a, b)| (a.to_owned(), b.to_owned())),
        _ => None,
    }
}

/// The `${Name}` and `${Res.Attr}` variables of a `!Sub` string (`${!Literal}` excluded).
fn sub_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

/// What `Ref` and `Fn::GetAtt` give for the resources that exist.
pub trait Physical {
    /// `Ref` of a resource.
    fn reference(&self, id: &str) -> Option<String>;
    /// `Fn::GetAtt` of a resource.
    fn attribute(&self, id: &str, attribute: &str) -> Option<String>;
}

/// Resolves intrinsic functions against parameters, pseudo parameters and resources.
pub struct Resolver<'a> {
    pub template: &'a Template,
    pub parameters: &'a BTreeMap<String, String>,
    pub pseudo: &'a BTreeMap<&'static str, String>,
    pub physical: &'a dyn Physical,
}

/// Marks a property removed by `AWS::NoValue`.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Resolver<'_> {
    /// Resolves every intrinsic function inside `value`.
    pub fn resolve(&self, value: &Value) -> anyhow::Result<Value> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().context("one entry")?;
                if key == "Ref" || key.starts_with("Fn::") || key == "Condition" {
                    return self.intrinsic(key, argument);
                }
                self.resolve_map(map)
            }
            Value::Object(map) => self.resolve_map(map),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let resolved = self.resolve(item)?;
                    if resolved.as_str() != Some(NO_VALUE) {
                        out.push(resolved);
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Resolves `value` to text (environment variables, names, URLs).
    pub fn resolve_text(&self, value: &Value) -> anyhow::Result<String> {
        Ok(scalar_text(&self.resolve(value)?))
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> anyhow::Result<Value> {
        let mut out = Map::new();
        for (key, value) in map {
            let resolved = self.resolve(value)?;
            if resolved.as_str() != Some(NO_VALUE) {
                out.insert(key.clone(), resolved);
            }
        }
        Ok(Value::Object(out))
    }

    fn name(&self, name: &str) -> anyhow::Result<Value> {
        if name == "AWS::NoValue" {
            return Ok(Value::String(NO_VALUE.to_owned()));
        }
        if let Some(value) = self.pseudo.get(name) {
            return Ok(Value::String(value.clone()));
        }
        if let Some(value) = self.parameters.get(name) {
            let list = self
                .template
                .parameters
                .get(name)
                .and_then(|spec| spec.get("Type"))
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.starts_with("CommaDelimitedList") || kind.starts_with("List<"));
            return Ok(if list {
                Value::Array(
                    value
                        .split(',')
                        .map(|v| Value::String(v.trim().to_owned()))
                        .collect(),
                )
            } else {
                Value::String(value.clone())
            });
        }
        match self.physical.reference(name) {
            Some(value) => Ok(Value::String(value)),
            None if self.template.resources.contains_key(name) => {
                bail!("!Ref {name}: the local stack does not create this resource")
            }
            None => bail!("!Ref {name}: no parameter or resource has this name"),
        }
    }

    fn intrinsic(&self, key: &str, argument: &Value) -> anyhow::Result<Value> {
        let args = |n: usize| -> anyhow::Result<&Vec<Value>> {
            match argument.as_array() {
                Some(list) if list.len() == n => Ok(list),
                _ => bail!("{key} takes a list of {n}"),
            }
        };
        match key {
            "Ref" => self.name(argument.as_str().context("Ref takes a name")?),
            "Fn::GetAtt" => {
                let (id, attribute) =
                    get_att_parts(argument).context("Fn::GetAtt takes Resource.Attribute")?;
                self.physical
                    .attribute(&id, &attribute)
                    .map(Value::String)
                    .with_context(|| format!("!GetAtt {id}.{attribute}: not known locally"))
            }
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::String(text) => (text.as_str(), Map::new()),
                    Value::Array(parts) if parts.len() == 2 => (
                        parts[0].as_str().context("Fn::Sub takes a string")?,
                        self.resolve(&parts[1])?.as_object().cloned().unwrap_or_default(),
                    ),
                    _ => bail!("Fn::Sub takes a string or [string, variables]"),
                };
                self.substitute(text, &variables).map(Value::String)
            }
            "Fn::Join" => {
                let list = args(2)?;
                let delimiter = list[0].as_str().context("Fn::Join takes a delimiter")?;
                let items = self.resolve(&list[1])?;
                let parts: Vec<String> = items
                    .as_array()
                    .context("Fn::Join takes a list")?
                    .iter()
                    .map(scalar_text)
                    .collect();
                Ok(Value::String(parts.join(delimiter)))
            }
            "Fn::Select" => {
                let list = args(2)?;
                let index: usize = scalar_text(&self.resolve(&list[0])?).parse()?;
                let items = self.resolve(&list[1])?;
                items
                    .as_array()
                    .and_then(|items| items.get(index).cloned())
                    .context("Fn::Select index out of range")
            }
            "Fn::If" => {
                let list = args(3)?;
                let condition = list[0].as_str().context("Fn::If takes a condition name")?;
                if self.condition(condition)? {
                    self.resolve(&list[1])
                } else {
                    self.resolve(&list[2])
                }
            }
            "Fn::Equals" => {
                let list = args(2)?;
                Ok(Value::Bool(self.resolve(&list[0])? == self.resolve(&list[1])?))
            }
            "Fn::Not" => {
                let list = args(1)?;
                Ok(Value::Bool(!self.truth(&list[0])?))
            }
            "Fn::And" | "Fn::Or" => {
                let list = argument.as_array().context("takes a list")?;
                let values = list
                    .iter()
                    .map(|v| self.truth(v))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(Value::Bool(if key == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                }))
            }
            "Condition" => Ok(Value::Bool(
                self.condition(argument.as_str().context("Condition takes a name")?)?,
            )),
            other => bail!("{other} is not supported by the local stack"),
        }
    }

    fn truth(&self, value: &Value) -> anyhow::Result<bool> {
        self.resolve(value)?
            .as_bool()
            .context("a condition must be a boolean")
    }

    /// Evaluates a named condition of the template.
    pub fn condition(&self, name: &str) -> anyhow::Result<bool> {
        let definition = self
            .template
            .conditions
            .get(name)
            .with_context(|| format!("no condition named {name}"))?;
        self.truth(definition)
    }

    fn substitute(&self, text: &str, variables: &Map<String, Value>) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').context("unclosed ${ in Fn::Sub")?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&scalar_text(value));
            } else if let Some((id, attribute)) = name.split_once('.').filter(|_| !name.starts_with("AWS::"))
            {
                let value = self
                    .physical
                    .attribute(id, attribute)
                    .with_context(|| format!("${{{name}}}: not known locally"))?;
                out.push_str(&value);
            } else {
                out.push_str(&scalar_text(&self.name(name)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Count: { Type: Number, Default: 5 }
  Origins: { Type: CommaDelimitedList, Default: "a,b" }
  Mode: { Type: String, Default: prod }
Conditions:
  IsProd: !Equals [!Ref Mode, prod]
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        SHARED: yes
        TABLE: !Ref Table
Resources:
  Table: { Type: AWS::DynamoDB::Table, Properties: {} }
  Dlq: { Type: AWS::SQS::Queue }
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: { deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: !Ref Count }
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 3
      Environment:
        Variables:
          TABLE: overridden
          QUEUE: !Ref Queue
          NAME: !Sub "${AWS::StackName}-${Queue.Arn}-${!Literal}"
          JOINED: !Join ["/", [x, !Select [1, !Ref Origins]]]
          MAYBE: !If [IsProd, !Ref AWS::NoValue, dev]
"#;

    struct Fake;
    impl Physical for Fake {
        fn reference(&self, id: &str) -> Option<String> {
            Some(format!("ref-of-{id}"))
        }
        fn attribute(&self, id: &str, attribute: &str) -> Option<String> {
            Some(format!("{attribute}-of-{id}"))
        }
    }

    fn resolve(template: &Template, overrides: &[(&str, &str)], value: &Value) -> anyhow::Result<Value> {
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let parameters = template.parameter_values(&overrides)?;
        let pseudo = BTreeMap::from([("AWS::StackName", "stack".to_owned())]);
        let resolver = Resolver {
            template,
            parameters: &parameters,
            pseudo: &pseudo,
            physical: &Fake,
        };
        resolver.resolve(value)
    }

    #[test]
    fn tags_and_globals_become_resolved_properties() {
        let template = Template::parse(TEMPLATE).unwrap();
        let function = &template.resources["Fn"];
        assert_eq!(function.properties["Timeout"], 3);
        let env = resolve(&template, &[], &function.properties["Environment"]["Variables"]).unwrap();
        assert_eq!(env["SHARED"], "yes");
        assert_eq!(env["TABLE"], "overridden");
        assert_eq!(env["QUEUE"], "ref-of-Queue");
        assert_eq!(env["NAME"], "stack-Arn-of-Queue-${Literal}");
        assert_eq!(env["JOINED"], "x/b");
        assert!(env.get("MAYBE").is_none(), "AWS::NoValue removes the key");
        let env = resolve(
            &template,
            &[("Mode", "dev")],
            &function.properties["Environment"]["Variables"],
        )
        .unwrap();
        assert_eq!(env["MAYBE"], "dev");
    }

    #[test]
    fn parameters_take_overrides_and_refuse_unknown_ones() {
        let template = Template::parse(TEMPLATE).unwrap();
        let redrive = &template.resources["Queue"].properties["RedrivePolicy"];
        let resolved = resolve(&template, &[("Count", "2")], redrive).unwrap();
        assert_eq!(resolved["maxReceiveCount"], "2");
        assert_eq!(resolved["deadLetterTargetArn"], "Arn-of-Dlq");
        assert!(resolve(&template, &[("Nope", "1")], redrive).is_err());
    }

    #[test]
    fn an_undefined_reference_is_an_error_naming_it() {
        let template = Template::parse("Resources: {}").unwrap();
        let parameters = BTreeMap::new();
        let pseudo = BTreeMap::new();
        struct Nothing;
        impl Physical for Nothing {
            fn reference(&self, _: &str) -> Option<String> {
                None
            }
            fn attribute(&self, _: &str, _: &str) -> Option<String> {
                None
            }
        }
        let resolver = Resolver {
            template: &template,
            parameters: &parameters,
            pseudo: &pseudo,
            physical: &Nothing,
        };
        let error = resolver
            .resolve(&serde_json::json!({"Ref": "Missing"}))
            .unwrap_err();
        assert!(error.to_string().contains("Missing"), "{error}");
    }

    #[test]
    fn resources_are_ordered_after_what_they_reference() {
        let template = Template::parse(TEMPLATE).unwrap();
        let order = template.in_dependency_order(&["Queue", "Dlq", "Table"]).unwrap();
        let position = |id| order.iter().position(|x| *x == id).unwrap();
        assert!(position("Dlq") < position("Queue"));
    }
}
