//! Route keys (`GET /items/{id}`, `ANY /{proxy+}`, `$default`), path templates, and the route table that
//! picks the best match the way HTTP APIs do.
//!
//! AWS's selection order (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html>,
//! "Routing API requests"): a full match for route and method first, then a match with a greedy path
//! variable (`{proxy+}`), then the `$default` route. Within those, funcrt ranks more specific templates
//! first: a literal segment beats a path variable at the first place two templates differ, a longer
//! greedy prefix beats a shorter one, and a route's own method beats `ANY` ("use the ANY method to match
//! all methods that you haven't defined for a resource").

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use crate::error::{Error, Result};

/// The method part of a route key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteMethod {
    /// `ANY`: every method not defined for the same path.
    Any,
    /// One method, upper case (`GET`, `POST`, ...).
    Exact(http::Method),
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Literal(String),
    Var(String),
    /// `{name+}`, only last.
    Greedy(String),
}

/// A parsed route key: `$default`, or a method and a path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteKey {
    raw: String,
    pattern: Option<(RouteMethod, Vec<Segment>)>,
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl RouteKey {
    /// Parses `$default` or `METHOD /path/{var}/{greedy+}`.
    ///
    /// # Errors
    /// [`Error::InvalidRoute`] naming the key: no method, an unknown method, a path not starting with `/`,
    /// an empty segment, a variable that is not a whole segment or has no name, a variable named twice,
    /// or a greedy variable that is not the last segment.
    pub fn parse(key: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidRoute {
            route_key: key.to_owned(),
            reason: reason.to_owned(),
        };
        if key == "$default" {
            return Ok(RouteKey {
                raw: key.to_owned(),
                pattern: None,
            });
        }
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| bad("expected `METHOD /path` or `$default`"))?;
        let method = match method {
            "ANY" => RouteMethod::Any,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => RouteMethod::Exact(
                http::Method::from_bytes(m.as_bytes()).map_err(|_| bad("invalid method"))?,
            ),
            _ => return Err(bad("the method must be ANY or an upper-case HTTP method")),
        };
        if !path.starts_with('/') {
            return Err(bad("the path must start with `/`"));
        }
        let mut segments = Vec::new();
        let mut names = Vec::new();
        if path != "/" {
            let parts: Vec<&str> = path[1..].split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                if part.is_empty() {
                    return Err(bad("empty path segment"));
                }
                let seg =
                    if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        let (name, greedy) = match inner.strip_suffix('+') {
                            Some(n) => (n, true),
                            None => (inner, false),
                        };
                        if name.is_empty() || name.contains(['{', '}', '+']) {
                            return Err(bad("a path variable needs a name: `{name}` or `{name+}`"));
                        }
                        if names.contains(&name) {
                            return Err(bad("a path variable is named twice"));
                        }
                        names.push(name);
                        if greedy {
                            if i + 1 != parts.len() {
                                return Err(bad("a greedy path variable must be the last segment"));
                            }
                            Segment::Greedy(name.to_owned())
                        } else {
                            Segment::Var(name.to_owned())
                        }
                    } else if part.contains(['{', '}']) {
                        return Err(bad("a path variable must be a whole segment"));
                    } else {
                        Segment::Literal((*part).to_owned())
                    };
                segments.push(seg);
            }
        }
        Ok(RouteKey {
            raw: key.to_owned(),
            pattern: Some((method, segments)),
        })
    }

    /// The key as written (`GET /items/{id}`), which is the event's `routeKey`.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Is this the `$default` route?
    pub fn is_default(&self) -> bool {
        self.pattern.is_none()
    }

    /// The path template (`/items/{id}`), `$default` for the default route: the 1.0 event's `resource`.
    pub fn resource(&self) -> &str {
        match self.raw.split_once(' ') {
            Some((_, path)) => path,
            None => &self.raw,
        }
    }

    fn is_greedy(&self) -> bool {
        matches!(&self.pattern, Some((_, s)) if matches!(s.last(), Some(Segment::Greedy(_))))
    }

    /// Matches a decoded-segment path; returns the path parameters.
    fn matches(&self, method: &http::Method, segments: &[&str]) -> Option<HashMap<String, String>> {
        let (m, template) = self.pattern.as_ref()?;
        if let RouteMethod::Exact(m) = m {
            if m != method {
                return None;
            }
        }
        let mut params = HashMap::new();
        for (i, seg) in template.iter().enumerate() {
            match seg {
                Segment::Greedy(name) => {
                    // `/{proxy+}` needs at least one segment below it.
                    if segments.len() <= i {
                        return None;
                    }
                    params.insert(name.clone(), decode(&segments[i..].join("/")));
                    return Some(params);
                }
                Segment::Literal(lit) => {
                    if segments.get(i).map(|s| decode(s)) != Some(lit.clone()) {
                        return None;
                    }
                }
                Segment::Var(name) => {
                    let s = segments.get(i)?;
                    if s.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), decode(s));
                }
            }
        }
        (segments.len() == template.len()).then_some(params)
    }

    /// Orders two matching keys: `Less` means `self` is more specific (wins).
    fn specificity(&self, other: &RouteKey) -> Ordering {
        let rank = |k: &RouteKey| match (&k.pattern, k.is_greedy()) {
            (None, _) => 2,
            (Some(_), true) => 1,
            (Some(_), false) => 0,
        };
        rank(self).cmp(&rank(other)).then_with(|| {
            let (Some((ma, a)), Some((mb, b))) = (&self.pattern, &other.pattern) else {
                return Ordering::Equal;
            };
            let seg_rank = |s: &Segment| match s {
                Segment::Literal(_) => 0,
                Segment::Var(_) => 1,
                Segment::Greedy(_) => 2,
            };
            for (x, y) in a.iter().zip(b.iter()) {
                let o = seg_rank(x).cmp(&seg_rank(y));
                if o != Ordering::Equal {
                    return o;
                }
            }
            // A longer template (a longer greedy prefix) is more specific.
            b.len().cmp(&a.len()).then_with(|| match (ma, mb) {
                (RouteMethod::Exact(_), RouteMethod::Any) => Ordering::Less,
                (RouteMethod::Any, RouteMethod::Exact(_)) => Ordering::Greater,
                _ => Ordering::Equal,
            })
        })
    }
}

/// Percent-decodes a path piece (API Gateway decodes URL-encoded parameters before passing them on).
pub(crate) fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A route matched for a request: the index of the route in the table and its path parameters.
#[derive(Debug)]
pub(crate) struct Matched {
    pub(crate) index: usize,
    pub(crate) path_parameters: HashMap<String, String>,
}

/// Routes in precedence order.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    keys: Vec<RouteKey>,
}

impl RouteTable {
    /// Adds a key; `index` is its position in insertion order.
    ///
    /// # Errors
    /// [`Error::InvalidRoute`] if the same key is added twice.
    pub(crate) fn push(&mut self, key: RouteKey) -> Result<usize> {
        if self.keys.iter().any(|k| k == &key) {
            return Err(Error::InvalidRoute {
                route_key: key.raw,
                reason: "the route is defined twice".to_owned(),
            });
        }
        self.keys.push(key);
        Ok(self.keys.len() - 1)
    }

    /// The key at `index`.
    pub(crate) fn key(&self, index: usize) -> &RouteKey {
        &self.keys[index]
    }

    /// The best route for `method` and the raw (still encoded) `path`.
    pub(crate) fn select(&self, method: &http::Method, path: &str) -> Option<Matched> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let segments: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        let mut best: Option<(usize, HashMap<String, String>)> = None;
        for (i, key) in self.keys.iter().enumerate() {
            let params = if key.is_default() {
                Some(HashMap::new())
            } else {
                key.matches(method, &segments)
            };
            if let Some(params) = params {
                let better = match &best {
                    None => true,
                    Some((b, _)) => key.specificity(&self.keys[*b]) == Ordering::Less,
                };
                if better {
                    best = Some((i, params));
                }
            }
        }
        best.map(|(index, path_parameters)| Matched {
            index,
            path_parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[&str]) -> RouteTable {
        let mut t = RouteTable::default();
        for k in keys {
            t.push(RouteKey::parse(k).unwrap()).unwrap();
        }
        t
    }

    fn pick(t: &RouteTable, method: &str, path: &str) -> Option<String> {
        let m = http::Method::from_bytes(method.as_bytes()).unwrap();
        t.select(&m, path).map(|x| t.key(x.index).to_string())
    }

    #[test]
    fn bad_keys_are_named() {
        for k in [
            "GET",
            "get /a",
            "GET a",
            "GET /a//b",
            "GET /{}",
            "GET /{a}/{a}",
            "GET /{p+}/x",
            "GET /a{b}",
            "",
        ] {
            let e = RouteKey::parse(k).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidRoute { route_key, .. } if route_key == k),
                "{k}: {e}"
            );
        }
    }

    #[test]
    fn precedence_most_specific_first() {
        let t = table(&[
            "$default",
            "ANY /{proxy+}",
            "GET /items/{id}",
            "GET /items/special",
            "ANY /items/{id}",
            "GET /items/{proxy+}",
            "GET /",
        ]);
        assert_eq!(
            pick(&t, "GET", "/items/special").unwrap(),
            "GET /items/special"
        );
        assert_eq!(pick(&t, "GET", "/items/7").unwrap(), "GET /items/{id}");
        assert_eq!(pick(&t, "DELETE", "/items/7").unwrap(), "ANY /items/{id}");
        assert_eq!(
            pick(&t, "GET", "/items/7/parts").unwrap(),
            "GET /items/{proxy+}"
        );
        assert_eq!(pick(&t, "POST", "/items/7/parts").unwrap(), "ANY /{proxy+}");
        assert_eq!(pick(&t, "GET", "/").unwrap(), "GET /");
        assert_eq!(pick(&t, "POST", "/").unwrap(), "$default");
    }
}
