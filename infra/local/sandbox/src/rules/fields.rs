//! The checks of single fields, as Laravel's validation rules (which Factus runs on) word and
//! apply them: `required` (null, blank text, an empty list or object are missing), text, codes
//! of a table (strings or integers), numbers with at most two decimals (strings or numbers),
//! booleans, `Y-m-d` dates, `H:i:s` times, objects and lists. The first problem of a field is the
//! one answered.

use std::str::FromStr;

use codes::Code;
use rust_decimal::Decimal;
use serde_json::Value;

use super::Problem;

/// The largest amount a field takes: fifteen integer digits, as DIAN's amounts.
pub(super) const MAX_AMOUNT: Decimal = Decimal::from_parts(1_569_325_055, 23_283_064, 0, false, 2);
pub(super) const MAX_CASH_ROUNDING: Decimal = Decimal::from_parts(50_000, 0, 0, false, 2);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Required,
    Optional,
}

impl Need {
    /// Required when `condition` holds, else optional.
    pub(super) fn required_if(condition: bool) -> Self {
        if condition { Self::Required } else { Self::Optional }
    }
}

/// Which numbers a field takes.
#[derive(Clone, Copy)]
pub(super) enum Bounds {
    Positive,
    NonNegative,
    Percent,
    CashRounding,
}

#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>);

impl Problems {
    /// The first problem of a field is the one answered.
    pub(super) fn add(&mut self, path: &str, message: String) {
        if !self.0.iter().any(|(field, _)| field == path) {
            self.0.push((path.to_owned(), message));
        }
    }

    pub(super) fn touch(&self, prefix: &str) -> bool {
        self.0.iter().any(|(field, _)| field.starts_with(prefix))
    }
}

pub(super) fn required(path: &str) -> String {
    format!("El campo {path} es obligatorio.")
}

pub(super) fn invalid(path: &str) -> String {
    format!("El valor seleccionado en {path} no es válido.")
}

/// A field as Laravel's `required` sees it: null, blank text and empty lists or objects are
/// missing.
pub(super) fn get<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    match parent.get(key)? {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::Array(list) if list.is_empty() => None,
        Value::Object(map) if map.is_empty() => None,
        value => Some(value),
    }
}

pub(super) fn missing(problems: &mut Problems, path: &str, need: Need) {
    if need == Need::Required {
        problems.add(path, required(path));
    }
}

/// A field of one JSON kind: `pick` takes it out of the value; anything else is a problem that
/// names the kind (`una cadena de caracteres`).
fn of_kind<'a, T>(
    problems: &mut Problems,
    value: Option<&'a Value>,
    path: &str,
    need: Need,
    kind: &str,
    pick: impl FnOnce(&'a Value) -> Option<T>,
) -> Option<T> {
    let Some(value) = value else {
        missing(problems, path, need);
        return None;
    };
    let picked = pick(value);
    if picked.is_none() {
        problems.add(path, format!("El campo {path} debe ser {kind}."));
    }
    picked
}

pub(super) fn text<'a>(
    problems: &mut Problems,
    value: Option<&'a Value>,
    path: &str,
    need: Need,
) -> Option<&'a str> {
    of_kind(
        problems,
        value,
        path,
        need,
        "una cadena de caracteres",
        Value::as_str,
    )
}

pub(super) fn in_table(table: &'static [Code]) -> impl Fn(&str) -> bool {
    move |code| table.iter().any(|row| row.code == code)
}

pub(super) fn one_of(values: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |code| values.contains(&code)
}

/// Two-digit codes `01`..=`last`.
pub(super) fn numbered(last: u8) -> impl Fn(&str) -> bool {
    move |code| code.len() == 2 && code.parse::<u8>().is_ok_and(|value| (1..=last).contains(&value))
}

/// A code, as a string or an integer (the docs' examples send both), that `valid` accepts.
pub(super) fn code(
    problems: &mut Problems,
    value: Option<&Value>,
    path: &str,
    need: Need,
    valid: impl Fn(&str) -> bool,
) -> Option<String> {
    let code = match value {
        None => {
            missing(problems, path, need);
            return None;
        }
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) if number.is_u64() => number.to_string(),
        Some(_) => {
            problems.add(path, invalid(path));
            return None;
        }
    };
    if valid(&code) {
        Some(code)
    } else {
        problems.add(path, invalid(path));
        None
    }
}

/// A number with at most two decimals (as written), within `bounds`.
pub(super) fn amount(
    problems: &mut Problems,
    value: Option<&Value>,
    path: &str,
    need: Need,
    bounds: Bounds,
) -> Option<Decimal> {
    let written = match value {
        None => {
            missing(problems, path, need);
            return None;
        }
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => String::new(),
    };
    let Ok(number) = Decimal::from_str(&written) else {
        problems.add(path, format!("El campo {path} debe ser un número."));
        return None;
    };
    if number.abs() > MAX_AMOUNT {
        problems.add(
            path,
            format!("El campo {path} no debe ser mayor que {MAX_AMOUNT}."),
        );
        return None;
    }
    if number.scale() > 2 {
        problems.add(
            path,
            format!("El campo {path} debe tener como máximo 2 decimales."),
        );
        return None;
    }
    let (fits, range) = match bounds {
        Bounds::Positive => (number > Decimal::ZERO, "mayor que 0"),
        Bounds::NonNegative => (number >= Decimal::ZERO, "mayor o igual que 0"),
        Bounds::Percent => (
            (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&number),
            "entre 0 y 100",
        ),
        Bounds::CashRounding => (number.abs() <= MAX_CASH_ROUNDING, "entre -500.00 y 500.00"),
    };
    if fits {
        Some(number)
    } else {
        problems.add(path, format!("El campo {path} debe ser {range}."));
        None
    }
}

/// Laravel's `boolean`: true, false, 1, 0, "1", "0".
pub(super) fn boolean(
    problems: &mut Problems,
    value: Option<&Value>,
    path: &str,
    need: Need,
) -> Option<bool> {
    of_kind(
        problems,
        value,
        path,
        need,
        "verdadero o falso",
        |value| match value {
            Value::Bool(flag) => Some(*flag),
            Value::Number(number) if number.as_u64().is_some_and(|n| n <= 1) => {
                Some(number.as_u64() == Some(1))
            }
            Value::String(text) if text == "0" || text == "1" => Some(text == "1"),
            _ => None,
        },
    )
}

/// `YYYY-MM-DD`, a real date.
pub(super) fn date(problems: &mut Problems, value: Option<&Value>, path: &str, need: Need) {
    let Some(written) = text(problems, value, path, need) else {
        return;
    };
    let parts: Vec<&str> = written.split('-').collect();
    let valid = match parts[..] {
        [year, month, day] if year.len() == 4 && month.len() == 2 && day.len() == 2 => {
            match (year.parse::<i32>(), month.parse::<u8>(), day.parse::<u8>()) {
                (Ok(year), Ok(month), Ok(day)) => time::Month::try_from(month)
                    .ok()
                    .and_then(|month| time::Date::from_calendar_date(year, month, day).ok())
                    .is_some(),
                _ => false,
            }
        }
        _ => false,
    };
    if !valid {
        problems.add(path, format!("El campo {path} no corresponde al formato Y-m-d."));
    }
}

/// `HH:mm:ss`.
pub(super) fn time_of_day(problems: &mut Problems, value: Option<&Value>, path: &str, need: Need) {
    let Some(written) = text(problems, value, path, need) else {
        return;
    };
    let parts: Vec<&str> = written.split(':').collect();
    let valid = match parts[..] {
        [hour, minute, second] if [hour, minute, second].iter().all(|part| part.len() == 2) => {
            match (hour.parse::<u8>(), minute.parse::<u8>(), second.parse::<u8>()) {
                (Ok(hour), Ok(minute), Ok(second)) => time::Time::from_hms(hour, minute, second).is_ok(),
                _ => false,
            }
        }
        _ => false,
    };
    if !valid {
        problems.add(path, format!("El campo {path} no corresponde al formato H:i:s."));
    }
}

pub(super) fn object<'a>(
    problems: &mut Problems,
    value: Option<&'a Value>,
    path: &str,
    need: Need,
) -> Option<&'a Value> {
    of_kind(problems, value, path, need, "un objeto", |value| {
        value.is_object().then_some(value)
    })
}

pub(super) fn list<'a>(
    problems: &mut Problems,
    value: Option<&'a Value>,
    path: &str,
    need: Need,
) -> &'a [Value] {
    of_kind(problems, value, path, need, "un arreglo", |value| {
        value.as_array().map(Vec::as_slice)
    })
    .unwrap_or_default()
}

/// The objects of a list (`items.0`, ...); a member that is no object is a problem.
pub(super) fn members<'a>(
    problems: &mut Problems,
    value: Option<&'a Value>,
    path: &str,
    need: Need,
) -> Vec<Node<'a>> {
    let mut members = Vec::new();
    for (index, member) in list(problems, value, path, need).iter().enumerate() {
        let member_path = format!("{path}.{index}");
        if let Some(member) = object(problems, Some(member), &member_path, Need::Required) {
            members.push(Node::new(member, member_path));
        }
    }
    members
}

/// An object of the body with its path (`items.0`; empty for the body itself), whose fields are
/// checked by key: `item.text(problems, "name", need)` checks `items.0.name`.
pub(super) struct Node<'a> {
    pub(super) value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    pub(super) fn new(value: &'a Value, path: String) -> Self {
        Self { value, path }
    }

    /// The body itself: its fields' paths are their keys.
    pub(super) fn body(value: &'a Value) -> Self {
        Self::new(value, String::new())
    }

    /// The path of the field `key`.
    pub(super) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field `key`, as [`get`] sees it.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        get(self.value, key)
    }

    pub(super) fn text(&self, problems: &mut Problems, key: &str, need: Need) -> Option<&'a str> {
        text(problems, self.get(key), &self.path(key), need)
    }

    pub(super) fn code(
        &self,
        problems: &mut Problems,
        key: &str,
        need: Need,
        valid: impl Fn(&str) -> bool,
    ) -> Option<String> {
        code(problems, self.get(key), &self.path(key), need, valid)
    }

    pub(super) fn amount(
        &self,
        problems: &mut Problems,
        key: &str,
        need: Need,
        bounds: Bounds,
    ) -> Option<Decimal> {
        amount(problems, self.get(key), &self.path(key), need, bounds)
    }

    pub(super) fn boolean(&self, problems: &mut Problems, key: &str, need: Need) -> Option<bool> {
        boolean(problems, self.get(key), &self.path(key), need)
    }

    pub(super) fn date(&self, problems: &mut Problems, key: &str, need: Need) {
        date(problems, self.get(key), &self.path(key), need);
    }

    pub(super) fn time_of_day(&self, problems: &mut Problems, key: &str, need: Need) {
        time_of_day(problems, self.get(key), &self.path(key), need);
    }

    pub(super) fn object(&self, problems: &mut Problems, key: &str, need: Need) -> Option<Self> {
        let path = self.path(key);
        let value = object(problems, self.get(key), &path, need)?;
        Some(Self::new(value, path))
    }

    pub(super) fn list(&self, problems: &mut Problems, key: &str, need: Need) -> &'a [Value] {
        list(problems, self.get(key), &self.path(key), need)
    }

    pub(super) fn members(&self, problems: &mut Problems, key: &str, need: Need) -> Vec<Self> {
        members(problems, self.get(key), &self.path(key), need)
    }

    /// Text of at most `max` characters.
    pub(super) fn short_text(&self, problems: &mut Problems, key: &str, need: Need, max: usize) {
        let written = self.text(problems, key, need);
        max_chars(problems, written, &self.path(key), max);
    }
}

pub(super) fn max_chars(problems: &mut Problems, value: Option<&str>, path: &str, max: usize) {
    if value.is_some_and(|text| text.chars().count() > max) {
        problems.add(
            path,
            format!("El campo {path} no debe tener más de {max} caracteres."),
        );
    }
}
