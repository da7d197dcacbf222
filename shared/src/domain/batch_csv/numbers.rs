//! Numbers in a CSV's cells, read exactly as the file writes them or refused. With `;` between
//! cells (a spreadsheet in Spanish) `,` is the decimal mark and `.` groups thousands (`45.000` is
//! forty-five thousand, `1.234.567,50`); with `,` between cells `.` is the decimal mark and a
//! thousands separator can only appear in a quoted cell (`"1,234.50"`). A cell whose mark can only
//! be a decimal mark (`19.5`, `45,50`, `1.234,5`) is read that way whatever the delimiter; one that
//! could be either (`45.000`, `1,500`) is read by the delimiter's rule unless another cell of the
//! file uses the other decimal mark, and then it is refused, as is a file that mixes both marks.
//! A mark that repeats (`1.234.567`) can only group thousands, which says the other mark is the
//! file's decimal mark.

use std::fmt;

/// A decimal mark or a thousands separator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mark {
    Point,
    Comma,
}

impl Mark {
    fn of(c: char) -> Option<Self> {
        match c {
            '.' => Some(Self::Point),
            ',' => Some(Self::Comma),
            _ => None,
        }
    }

    fn char(self) -> char {
        match self {
            Self::Point => '.',
            Self::Comma => ',',
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Point => Self::Comma,
            Self::Comma => Self::Point,
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.char())
    }
}

/// How a cell writes its number, before the rest of the file is known.
enum Spelling {
    /// Not digits and marks (empty, `abc`, `1e5`): left as written for validation to name.
    NotANumber,
    /// The only reading there is: its text with a point as the decimal mark and no grouping, and
    /// the decimal mark it used, if any.
    Certain(String, Option<Mark>),
    /// Digits grouped by a repeated `mark` (`1.234.567`): thousands, so the decimal mark is the
    /// other one.
    Grouped { digits: String, mark: Mark },
    /// One mark between a leading group of one to three digits and three digits (`45.000`,
    /// `1,500`): a thousands separator or a decimal mark.
    EitherWay {
        mark: Mark,
        integer: String,
        fraction: String,
    },
    /// Digits and marks that no reading makes a number (`1.23,4`, `4,5,6`).
    Malformed,
}

/// Where a decimal mark was first seen: a line of the file and a column.
#[derive(Clone, Copy)]
pub(super) struct Seen {
    pub line: u64,
    pub column: &'static str,
}

/// The numbers of one file: its delimiter's rule and the decimal marks its cells show.
pub(super) struct Numbers {
    decimal: Mark,
    point_seen: Option<Seen>,
    comma_seen: Option<Seen>,
}

impl Numbers {
    /// The rule of a file whose cells `delimiter` separates.
    pub fn new(delimiter: u8) -> Self {
        Self {
            decimal: if delimiter == b';' {
                Mark::Comma
            } else {
                Mark::Point
            },
            point_seen: None,
            comma_seen: None,
        }
    }

    fn seen(&self, mark: Mark) -> Option<Seen> {
        match mark {
            Mark::Point => self.point_seen,
            Mark::Comma => self.comma_seen,
        }
    }

    /// Notes the decimal mark `cell` shows, if it can only be one: every cell is observed before
    /// any is read.
    pub fn observe(&mut self, cell: &str, line: u64, column: &'static str) {
        let decimal = match spelling(cell) {
            Spelling::Certain(_, Some(mark)) => Some(mark),
            Spelling::Grouped { mark, .. } => Some(mark.other()),
            _ => None,
        };
        if let Some(mark) = decimal {
            let slot = match mark {
                Mark::Point => &mut self.point_seen,
                Mark::Comma => &mut self.comma_seen,
            };
            slot.get_or_insert(Seen { line, column });
        }
    }

    /// `cell` as a number with a point as the decimal mark and no grouping, or why it cannot be
    /// read without a guess. Text that is not a number comes back as written.
    pub fn read(&self, cell: &str) -> Result<String, String> {
        let other = self.decimal.other();
        match spelling(cell) {
            Spelling::NotANumber => Ok(cell.to_owned()),
            Spelling::Malformed => Err(format!(
                "{cell:?} is not a number as written: use one decimal mark, after the digits \
                 grouped by three"
            )),
            Spelling::Certain(value, Some(mark)) if mark == other => match self.seen(self.decimal) {
                Some(seen) => Err(format!(
                    "{cell:?} uses {mark} as its decimal mark where line {}, column {} \
                         uses {}: write every number of the file with one decimal mark",
                    seen.line, seen.column, self.decimal
                )),
                None => Ok(value),
            },
            Spelling::Certain(value, _) => Ok(value),
            Spelling::Grouped { digits, mark } => match self.seen(mark) {
                Some(seen) => Err(format!(
                    "{cell:?} groups thousands with {mark} where line {}, column {} uses it as \
                     the decimal mark: write every number of the file with one decimal mark",
                    seen.line, seen.column
                )),
                None => Ok(digits),
            },
            Spelling::EitherWay {
                mark,
                integer,
                fraction,
            } => match self.seen(other) {
                Some(seen) => Err(format!(
                    "{cell:?} reads two ways ({mark} as a thousands separator or as the decimal \
                     mark) and line {}, column {} uses {other} as the decimal mark: write it \
                     without a thousands separator",
                    seen.line, seen.column
                )),
                None if mark == self.decimal => Ok(format!("{integer}.{fraction}")),
                None => Ok(format!("{integer}{fraction}")),
            },
        }
    }
}

/// How `cell` (trimmed; a leading `$`, as a currency format exports it, is dropped) writes its
/// number.
fn spelling(cell: &str) -> Spelling {
    let cell = cell.trim();
    let (sign, unsigned) = match cell.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", cell),
    };
    let body = unsigned.strip_prefix('$').map_or(unsigned, str::trim_start);
    if body.is_empty()
        || !body.chars().all(|c| c.is_ascii_digit() || Mark::of(c).is_some())
        || !body.starts_with(|c: char| c.is_ascii_digit())
    {
        return Spelling::NotANumber;
    }
    let marks: Vec<(usize, Mark)> = body
        .char_indices()
        .filter_map(|(at, c)| Mark::of(c).map(|mark| (at, mark)))
        .collect();
    let Some(&(last_at, last)) = marks.last() else {
        return Spelling::Certain(format!("{sign}{body}"), None);
    };
    let grouping_only = marks.iter().all(|(_, mark)| *mark == last);
    if grouping_only && marks.len() > 1 {
        // `1.234.567`: only a thousands separator repeats.
        return match grouped(body, last) {
            Some(digits) => Spelling::Grouped {
                digits: format!("{sign}{digits}"),
                mark: last,
            },
            None => Spelling::Malformed,
        };
    }
    let (integer, fraction) = (&body[..last_at], &body[last_at + 1..]);
    if fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Spelling::Malformed;
    }
    let Some(integer) = grouped(integer, last.other()) else {
        return Spelling::Malformed;
    };
    let could_group =
        grouping_only && fraction.len() == 3 && (1..=3).contains(&integer.len()) && !integer.starts_with('0');
    if could_group {
        Spelling::EitherWay {
            mark: last,
            integer: format!("{sign}{integer}"),
            fraction: fraction.to_owned(),
        }
    } else {
        Spelling::Certain(format!("{sign}{integer}.{fraction}"), Some(last))
    }
}

/// The digits of `text` if `separator` groups them correctly (or does not appear).
fn grouped(text: &str, separator: Mark) -> Option<String> {
    let groups: Vec<&str> = text.split(separator.char()).collect();
    let all_digits = groups
        .iter()
        .all(|group| !group.is_empty() && group.chars().all(|c| c.is_ascii_digit()));
    let well_formed = groups.len() == 1
        || (groups[0].len() <= 3
            && !groups[0].starts_with('0')
            && groups[1..].iter().all(|group| group.len() == 3));
    (all_digits && well_formed).then(|| groups.concat())
}

#[cfg(test)]
mod tests;
