//! Route templates as API Gateway HTTP APIs match them: `/v1/invoices/{id}` matches one segment
//! per parameter, `{proxy+}` matches the rest of the path, and a literal segment is more
//! specific than a parameter. Used by the `$default` function (404 or 405) and the local gateway.

/// One route: a method (or `ANY`) and a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
}

impl Route {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
        }
    }

    /// Whether the route accepts `method` (`ANY` accepts every method).
    pub fn accepts(&self, method: &str) -> bool {
        self.method == "ANY" || self.method.eq_ignore_ascii_case(method)
    }

    /// The path parameters when `path` matches this route's template, percent-decoded.
    pub fn match_path(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        let mut actual = segments(path);
        let mut expected = segments(&self.path).peekable();
        while let Some(pattern) = expected.next() {
            if let Some(name) = pattern.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
                let rest: Vec<&str> = actual.by_ref().collect();
                if rest.is_empty() || expected.peek().is_some() {
                    return None;
                }
                params.push((name.to_owned(), percent_decode(&rest.join("/"))));
                return Some(params);
            }
            let segment = actual.next()?;
            if let Some(name) = pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if segment.is_empty() {
                    return None;
                }
                params.push((name.to_owned(), percent_decode(segment)));
            } else if pattern != segment {
                return None;
            }
        }
        actual.next().is_none().then_some(params)
    }

    /// Orders candidate routes: literal segments first, then parameters, greedy ones last; an
    /// explicit method before `ANY`.
    pub fn specificity(&self) -> (Vec<u8>, bool) {
        let rank = segments(&self.path)
            .map(|segment| match segment {
                s if s.ends_with("+}") => 2,
                s if s.starts_with('{') => 1,
                _ => 0,
            })
            .collect();
        (rank, self.method == "ANY")
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Percent-decodes a path segment; invalid escapes and non-UTF-8 results stay as they were.
pub fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

/// The best route of `routes` for a request, with its path parameters.
pub fn select<'a>(
    routes: &'a [Route],
    method: &str,
    path: &str,
) -> Option<(&'a Route, Vec<(String, String)>)> {
    let mut candidates: Vec<_> = routes
        .iter()
        .filter(|route| route.accepts(method))
        .filter_map(|route| Some((route, route.match_path(path)?)))
        .collect();
    candidates.sort_by_key(|(route, _)| route.specificity());
    candidates.into_iter().next()
}

/// The methods that some route accepts for `path`: what a 405 lists in `allow`.
pub fn allowed_methods(routes: &[Route], path: &str) -> Vec<String> {
    let mut methods: Vec<String> = routes
        .iter()
        .filter(|route| route.match_path(path).is_some())
        .map(|route| route.method.clone())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<Route> {
        vec![
            Route::new("GET", "/v1/invoices"),
            Route::new("POST", "/v1/invoices"),
            Route::new("GET", "/v1/invoices/{id}"),
            Route::new("POST", "/v1/invoices/{id}/retry"),
            Route::new("GET", "/v1/invoices/summary"),
            Route::new("ANY", "/v1/files/{proxy+}"),
        ]
    }

    #[test]
    fn parameters_match_one_segment_and_are_decoded() {
        let routes = routes();
        let (route, params) = select(&routes, "GET", "/v1/invoices/01H%20X").unwrap();
        assert_eq!(route.path, "/v1/invoices/{id}");
        assert_eq!(params, vec![("id".to_owned(), "01H X".to_owned())]);
        assert!(select(&routes, "GET", "/v1/invoices/a/b").is_none());
        assert!(select(&routes, "GET", "/v1/invoices/").is_none());
    }

    #[test]
    fn an_encoded_slash_stays_inside_its_segment() {
        let routes = routes();
        let (_, params) = select(&routes, "GET", "/v1/invoices/..%2F..%2Fetc").unwrap();
        assert_eq!(params[0].1, "../../etc");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let routes = routes();
        let (route, params) = select(&routes, "GET", "/v1/invoices/summary").unwrap();
        assert_eq!(route.path, "/v1/invoices/summary");
        assert!(params.is_empty());
    }

    #[test]
    fn greedy_parameters_take_the_rest_of_the_path() {
        let routes = routes();
        let (route, params) = select(&routes, "DELETE", "/v1/files/a/b.pdf").unwrap();
        assert_eq!(route.method, "ANY");
        assert_eq!(params, vec![("proxy".to_owned(), "a/b.pdf".to_owned())]);
    }

    #[test]
    fn methods_are_listed_for_a_path_that_exists() {
        let routes = routes();
        assert!(select(&routes, "DELETE", "/v1/invoices").is_none());
        assert_eq!(allowed_methods(&routes, "/v1/invoices"), vec!["GET", "POST"]);
        assert!(allowed_methods(&routes, "/v2/nothing").is_empty());
    }
}
