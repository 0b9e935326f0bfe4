//! Replays the public HTTP cache test suite (`shared/conformance/http-cache-tests/suite.json`) against an
//! [`Edge`] with a scripted origin and a manual clock, and scores it the way the peers were scored.
//!
//! The replay follows the suite's test engine (`test-engine/` of `http-tests/cache-tests`), as described in
//! the suite's README:
//! - the client sends each exchange's method, headers and body, plus what the engine adds to every request
//!   in its proxy mode (`Pragma: foo`, `Cache-Control: nothing-to-see-here`, `Test-Name`, `Test-ID` and
//!   `Req-Num: N`); `magic_ims` dates are relative to the previous response's `Server-Now`;
//! - the origin answers with the configuration of the request number it is told (`Req-Num`, else its own
//!   count), turns integer dates into HTTP dates relative to its now, adds `Server-Request-Count`,
//!   `Client-Request-Count`, `Server-Now`, `Server-Base-Url`, `Request-Numbers`, a default `Content-Type`
//!   and `Date`, answers `304` to a validating exchange only on a matching validator (else `999`), passes
//!   time for `response_pause`, fails without a response for `disconnect`, and records every request;
//! - `pause_after` advances the manual clock 3 s; background revalidations are let finish before the next
//!   exchange;
//! - checks and their setup / assertion classification are the engine's; an edge error is what a proxy
//!   would answer, a `502` with no header.
//!
//! It prints `http-cache-tests: required P/T optimal P/T check P/T`, writes every test's result in the
//! peers' format to `<target>/http-cache-tests.json`, and fails if the required passes drop below
//! [`REQUIRED_FLOOR`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use edgecache::origin::{self, Interim};
use edgecache::{Edge, Error};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use parking_lot::Mutex;
use serde_json::{Value, json};
use stratus_clock::ManualClock;

/// The required passes this edge reached; the test fails below it. Raise it as the edge improves.
const REQUIRED_FLOOR: usize = 160;

fn shared_dir() -> PathBuf {
    std::env::var_os("STRATUS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// A failed test: (kind, message), kind `Assertion` or `Setup`.
type Failure = (&'static str, String);

fn fail(setup: bool, message: String) -> Failure {
    (if setup { "Setup" } else { "Assertion" }, message)
}

macro_rules! check {
    ($setup:expr, $cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(fail($setup, format!($($msg)*)));
        }
    };
}

fn setup_check(cfg: &Value, member: &str) -> bool {
    cfg.get("setup") == Some(&Value::Bool(true))
        || cfg
            .get("setup_tests")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|m| m.as_str() == Some(member)))
}

fn has(cfg: &Value, member: &str) -> bool {
    cfg.get(member).is_some()
}

/// Renders a JSON header value as the engine's JavaScript would (numbers as integers).
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

const DATE_HEADERS: [&str; 5] = [
    "date",
    "expires",
    "last-modified",
    "if-modified-since",
    "if-unmodified-since",
];
const LOCATION_HEADERS: [&str; 2] = ["location", "content-location"];

fn http_date(now_ms: u64, delta_secs: i64, rfc850: bool) -> String {
    let ms = now_ms as i64 + delta_secs * 1000;
    let t = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH
    };
    if !rfc850 {
        return httpdate::fmt_http_date(t);
    }
    // Sunday, 06-Nov-94 08:49:37 GMT
    let imf = httpdate::fmt_http_date(t); // "Sun, 06 Nov 1994 08:49:37 GMT"
    let parts: Vec<&str> = imf.split(' ').collect();
    let day = match parts[0].trim_end_matches(',') {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    };
    format!(
        "{day}, {}-{}-{} {} GMT",
        parts[1],
        parts[2],
        &parts[3][2..],
        parts[4]
    )
}

/// The engine's `fixupHeader`: integer dates relative to `Server-Now`, magic locations relative to
/// `Server-Base-Url`.
fn fixup(name: &str, value: &Value, resp: &HeaderMap, cfg: &Value) -> String {
    let lname = name.to_ascii_lowercase();
    let server_now: u64 = header_str(resp, "server-now")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if DATE_HEADERS.contains(&lname.as_str()) {
        if let Some(delta) = value.as_i64().filter(|_| value.is_i64() || value.is_u64()) {
            let rfc850 = cfg
                .get("rfc850date")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|h| h.as_str().is_some_and(|h| h.eq_ignore_ascii_case(&lname)))
                });
            return http_date(server_now, delta, rfc850);
        }
    }
    if LOCATION_HEADERS.contains(&lname.as_str())
        && cfg
            .get("magic_locations")
            .is_some_and(|v| v.as_bool() == Some(true))
    {
        let base = header_str(resp, "server-base-url").unwrap_or_default();
        let v = js_string(value);
        return if v.is_empty() {
            base
        } else {
            format!("{base}/{v}")
        };
    }
    js_string(value)
}

/// `Headers.get` of the Fetch API: all values joined by `, `.
fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = h
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    }
}

/// What the origin recorded about one request it received.
#[derive(Debug, Clone)]
struct ServerRequest {
    request_num: Option<u64>,
    method: String,
    headers: HeaderMap,
    response_headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct OriginState {
    seen: Vec<ServerRequest>,
    /// The header values actually sent for each configuration index (dates rendered).
    sent: BTreeMap<usize, Vec<(String, String)>>,
}

fn config_header(sent: &[(String, String)], name: &str) -> Option<String> {
    sent.iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn raw_headers(cfg: &Value) -> Vec<(String, String)> {
    cfg.get("response_headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((
                h.get(0)?.as_str()?.to_string(),
                h.get(1)?.as_str()?.to_string(),
            ))
        })
        .collect()
}

fn scripted_origin(
    requests: Arc<Vec<Value>>,
    token: String,
    manual: ManualClock,
    state: Arc<Mutex<OriginState>>,
) -> impl edgecache::Origin {
    origin::from_fn(move |req: Request<Bytes>| {
        let requests = requests.clone();
        let token = token.clone();
        let manual = manual.clone();
        let state = state.clone();
        async move {
            let cli_num: Option<u64> =
                header_str(req.headers(), "req-num").and_then(|v| v.parse().ok());
            let srv_num = state.lock().seen.len() as u64 + 1;
            let req_num = cli_num.unwrap_or(srv_num);
            let Some(cfg) = requests.get(req_num as usize - 1) else {
                let mut r = Response::new(Bytes::from("config not found"));
                *r.status_mut() = StatusCode::CONFLICT;
                return Ok(r);
            };
            if let Some(p) = cfg.get("response_pause").and_then(Value::as_u64) {
                manual.advance(Duration::from_secs(p));
            }
            let now_ms = manual
                .clock()
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            let mut status = cfg
                .get("response_status")
                .and_then(|s| s.get(0))
                .and_then(Value::as_u64)
                .unwrap_or(200) as u16;
            let expected_type = cfg
                .get("expected_type")
                .and_then(Value::as_str)
                .unwrap_or("");
            if expected_type.ends_with("validated") && req_num >= 2 {
                // the headers the previous configuration was sent with; its raw configuration when it was
                // never sent (as the engine reads it)
                let prev_idx = req_num as usize - 2;
                let prev = state
                    .lock()
                    .sent
                    .get(&prev_idx)
                    .cloned()
                    .unwrap_or_else(|| raw_headers(requests.get(prev_idx).unwrap_or(&Value::Null)));
                let mut validated = false;
                if let Some(lm) = config_header(&prev, "last-modified") {
                    validated |= header_str(req.headers(), "if-modified-since").as_deref()
                        == Some(lm.as_str());
                }
                if let Some(etag) = config_header(&prev, "etag") {
                    validated |= header_str(req.headers(), "if-none-match").as_deref()
                        == Some(etag.as_str());
                }
                status = if validated { 304 } else { 999 };
            }
            let mut headers = HeaderMap::new();
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let put = |h: &mut HeaderMap, name: &str, value: &str| {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_bytes(value.as_bytes()),
                ) {
                    h.append(n, v);
                }
            };
            put(&mut headers, "server-base-url", &path);
            put(&mut headers, "server-request-count", &srv_num.to_string());
            put(
                &mut headers,
                "client-request-count",
                &cli_num.map_or("NaN".to_string(), |n| n.to_string()),
            );
            put(&mut headers, "server-now", &now_ms.to_string());
            let mut sent = Vec::new();
            let mut saved: Vec<(String, String)> = Vec::new();
            for h in cfg
                .get("response_headers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = h.get(0).and_then(Value::as_str) else {
                    continue;
                };
                let value = fixup(name, h.get(1).unwrap_or(&Value::Null), &headers, cfg);
                put(&mut headers, name, &value);
                sent.push((name.to_string(), value));
                if h.get(2).is_none_or(|c| c.as_bool() == Some(true)) {
                    let joined = header_str(&headers, name).unwrap_or_default();
                    saved.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    saved.push((name.to_string(), joined));
                }
            }
            if !headers.contains_key("content-type") {
                put(&mut headers, "content-type", "text/plain");
            }
            if !headers.contains_key("date") {
                put(&mut headers, "date", &http_date(now_ms, 0, false));
            }
            let record = ServerRequest {
                request_num: cli_num,
                method: req.method().to_string(),
                headers: req.headers().clone(),
                response_headers: saved,
            };
            let numbers = {
                let mut st = state.lock();
                st.sent.insert(req_num as usize - 1, sent);
                st.seen.push(record);
                st.seen
                    .iter()
                    .map(|r| r.request_num.map_or("NaN".to_string(), |n| n.to_string()))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            put(&mut headers, "request-numbers", &numbers);
            if cfg.get("disconnect").and_then(Value::as_bool) == Some(true) {
                return Err(Error::origin(path, "origin closed the connection"));
            }
            let no_body = matches!(status, 204 | 304) || req.method() == Method::HEAD;
            let body = if no_body {
                Bytes::new()
            } else {
                match cfg.get("response_body").and_then(Value::as_str) {
                    Some(b) if !b.is_empty() => Bytes::from(b.to_string()),
                    _ => Bytes::from(token.clone()),
                }
            };
            let mut response = Response::new(body);
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            *response.headers_mut() = headers;
            let interim: Vec<(StatusCode, HeaderMap)> = cfg
                .get("interim_responses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    let code = StatusCode::from_u16(i.get(0)?.as_u64()? as u16).ok()?;
                    let mut h = HeaderMap::new();
                    for pair in i.get(1).and_then(Value::as_array).into_iter().flatten() {
                        if let (Some(n), Some(v)) =
                            (pair.get(0).and_then(Value::as_str), pair.get(1))
                        {
                            if let (Ok(n), Ok(v)) = (
                                HeaderName::from_bytes(n.as_bytes()),
                                HeaderValue::from_str(&js_string(v)),
                            ) {
                                h.append(n, v);
                            }
                        }
                    }
                    Some((code, h))
                })
                .collect();
            if !interim.is_empty() {
                response.extensions_mut().insert(Interim(interim));
            }
            Ok(response)
        }
    })
}

fn build_request(
    cfg: &Value,
    token: &str,
    test: &Value,
    idx: usize,
    prev: Option<&HeaderMap>,
) -> Request<Bytes> {
    let mut url = format!("http://cache.test/test/{token}");
    if let Some(f) = cfg.get("filename") {
        url.push('/');
        url.push_str(&js_string(f));
    }
    if let Some(q) = cfg.get("query_arg") {
        url.push('?');
        url.push_str(&js_string(q));
    }
    let method = cfg
        .get("request_method")
        .and_then(Value::as_str)
        .unwrap_or("GET");
    let mut headers: Vec<(String, String)> = vec![
        ("Pragma".into(), "foo".into()),
        ("Cache-Control".into(), "nothing-to-see-here".into()),
    ];
    let empty = HeaderMap::new();
    for h in cfg
        .get("request_headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = h.get(0).and_then(Value::as_str).unwrap_or("");
        let raw = h.get(1).unwrap_or(&Value::Null);
        let value = if cfg.get("magic_ims").and_then(Value::as_bool) == Some(true)
            && name.eq_ignore_ascii_case("if-modified-since")
        {
            fixup(name, raw, prev.unwrap_or(&empty), cfg)
        } else {
            js_string(raw)
        };
        headers.push((name.to_string(), value));
    }
    headers.push((
        "Test-Name".into(),
        js_string(test.get("name").unwrap_or(&Value::Null)),
    ));
    headers.push((
        "Test-ID".into(),
        js_string(test.get("id").unwrap_or(&Value::Null)),
    ));
    headers.push(("Req-Num".into(), (idx + 1).to_string()));
    let body = cfg.get("request_body").map(js_string).unwrap_or_default();
    let mut req = Request::new(Bytes::from(body));
    *req.method_mut() = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    *req.uri_mut() = url.parse().expect("test URLs are valid");
    for (n, v) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            req.headers_mut().append(n, v);
        }
    }
    req
}

fn check_response(
    test: &Value,
    cfg: &Value,
    idx: usize,
    resp: &Response<Bytes>,
    token: &str,
) -> Result<(), Failure> {
    let req_num = idx as i64 + 1;
    let h = resp.headers();
    let res_num: Option<i64> =
        header_str(h, "server-request-count").and_then(|v| v.trim().parse().ok());
    let status = resp.status().as_u16();
    let _ = test;

    if let Some(numbers) = header_str(h, "request-numbers") {
        let nums: Vec<&str> = numbers.split(' ').collect();
        let mut dedup = nums.clone();
        dedup.sort_unstable();
        dedup.dedup();
        check!(true, dedup.len() == nums.len(), "retry");
    }

    if let Some(t) = cfg.get("expected_type").and_then(Value::as_str) {
        let setup = setup_check(cfg, "expected_type");
        if t == "cached" && !(status == 304 && res_num.is_none()) {
            check!(
                setup,
                res_num.is_some_and(|n| n < req_num),
                "Response {req_num} does not come from cache"
            );
        }
        if t == "not_cached" {
            check!(
                setup,
                res_num == Some(req_num),
                "Response {req_num} comes from cache"
            );
        }
    }

    if has(cfg, "expected_status") {
        if let Some(want) = cfg["expected_status"].as_u64() {
            check!(
                setup_check(cfg, "expected_status"),
                u64::from(status) == want,
                "Response {req_num} status is {status}, not {want}"
            );
        }
    } else if let Some(want) = cfg
        .get("response_status")
        .and_then(|s| s.get(0))
        .and_then(Value::as_u64)
    {
        check!(
            true,
            u64::from(status) == want,
            "Response {req_num} status is {status}, not {want}"
        );
    } else if status == 999 {
        check!(
            setup_check(cfg, "expected_type"),
            false,
            "Request {req_num} should have been conditional, but it was not."
        );
    } else {
        check!(
            true,
            status == 200,
            "Response {req_num} status is {status}, not 200"
        );
    }

    if let Some(list) = cfg
        .get("expected_response_headers")
        .and_then(Value::as_array)
    {
        let setup = setup_check(cfg, "expected_response_headers");
        for item in list {
            if let Some(name) = item.as_str() {
                check!(
                    setup,
                    h.contains_key(name),
                    "Response {req_num} {name} header not present."
                );
                continue;
            }
            let arr = item.as_array().cloned().unwrap_or_default();
            let name = arr.first().and_then(Value::as_str).unwrap_or("");
            let got = header_str(h, name);
            if arr.len() > 2 {
                check!(
                    setup,
                    got.is_some(),
                    "Response {req_num} {name} header not present."
                );
                let got = got.unwrap_or_default();
                match arr[1].as_str() {
                    Some("=") => {
                        let other = header_str(h, arr[2].as_str().unwrap_or(""));
                        check!(
                            setup,
                            Some(&got) == other.as_ref(),
                            "Response {req_num} header {name} is {got}, should match {other:?}"
                        );
                    }
                    Some(">") => {
                        let bound = arr[2].as_i64().unwrap_or(0);
                        let n: Option<i64> = leading_int(&got);
                        check!(
                            setup,
                            n.is_some_and(|n| n > bound),
                            "Response {req_num} header {name} is {got}, should be bigger than {bound}"
                        );
                    }
                    op => panic!("unknown expected-header operator {op:?}"),
                }
            } else {
                let want = fixup(name, arr.get(1).unwrap_or(&Value::Null), h, cfg);
                check!(
                    setup,
                    got.as_deref() == Some(want.as_str()),
                    "Response {req_num} header {name} is {got:?}, not {want:?}"
                );
            }
        }
    }
    if let Some(list) = cfg
        .get("expected_response_headers_missing")
        .and_then(Value::as_array)
    {
        let setup = setup_check(cfg, "expected_response_headers_missing");
        for item in list {
            if let Some(name) = item.as_str() {
                check!(
                    setup,
                    !h.contains_key(name),
                    "Response {req_num} includes unexpected header {name}: {:?}",
                    header_str(h, name)
                );
            } else if let Some([n, v]) = item.as_array().map(Vec::as_slice) {
                let name = n.as_str().unwrap_or("");
                let value = js_string(v);
                let got = header_str(h, name).unwrap_or_default();
                check!(
                    setup,
                    !got.contains(&value),
                    "Response {req_num} header {name} still has value {got:?}"
                );
            }
        }
    }

    if let Some(expected) = cfg
        .get("expected_interim_responses")
        .and_then(Value::as_array)
    {
        let setup = setup_check(cfg, "expected_interim_responses");
        let got = resp
            .extensions()
            .get::<Interim>()
            .cloned()
            .unwrap_or_default()
            .0;
        for (i, want) in expected.iter().enumerate() {
            let code = want.get(0).and_then(Value::as_u64).unwrap_or(0);
            let Some((gcode, gheaders)) = got.get(i) else {
                return Err(fail(
                    setup,
                    format!("Interim response {} not received", i + 1),
                ));
            };
            check!(
                setup,
                u64::from(gcode.as_u16()) == code,
                "Interim response {} status is {gcode}, not {code}",
                i + 1
            );
            for pair in want.get(1).and_then(Value::as_array).into_iter().flatten() {
                let name = pair.get(0).and_then(Value::as_str).unwrap_or("");
                check!(
                    setup,
                    gheaders.contains_key(name),
                    "Interim response {} {name} header not present.",
                    i + 1
                );
            }
        }
    }

    let body = String::from_utf8_lossy(resp.body()).into_owned();
    if cfg.get("check_body").and_then(Value::as_bool) == Some(false) {
        return Ok(());
    }
    if has(cfg, "expected_response_text") {
        if let Some(want) = cfg["expected_response_text"].as_str() {
            check!(
                setup_check(cfg, "expected_response_text"),
                body == want,
                "Response body is {body:?}, not {want:?}"
            );
        }
    } else if let Some(want) = cfg.get("response_body").and_then(Value::as_str) {
        check!(
            true,
            body == want,
            "Response body is {body:?}, not {want:?}"
        );
    } else if !matches!(status, 204 | 304)
        && cfg.get("request_method").and_then(Value::as_str) != Some("HEAD")
    {
        check!(
            true,
            body == token,
            "Response body is {body:?}, not {token:?}"
        );
    }
    Ok(())
}

/// JavaScript's `parseInt`: the leading integer of a string.
fn leading_int(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

fn check_server_requests(
    requests: &[Value],
    responses: &[Response<Bytes>],
    seen: &[ServerRequest],
) -> Result<(), Failure> {
    let mut test_idx = 0;
    for (i, cfg) in requests.iter().enumerate() {
        let req_num = i as u64 + 1;
        let server = seen.get(test_idx);
        let type_setup = setup_check(cfg, "expected_type");
        let mut validating = Vec::new();
        if let Some(t) = cfg.get("expected_type").and_then(Value::as_str) {
            if t == "cached" {
                continue;
            }
            if t == "not_cached" {
                let Some(s) = server else {
                    return Err(fail(false, "TypeError: server request is undefined".into()));
                };
                check!(
                    type_setup,
                    s.request_num == Some(req_num),
                    "Response {req_num} comes from cache ({:?} on server)",
                    s.request_num
                );
            }
            if t == "etag_validated" {
                validating.push("if-none-match");
            }
            if t == "lm_validated" {
                validating.push("if-modified-since");
            }
        }
        test_idx += 1;
        for v in validating {
            check!(
                type_setup,
                server.is_some(),
                "request {req_num} wasn't sent to server"
            );
            check!(
                type_setup,
                server.is_some_and(|s| s.headers.contains_key(v)),
                "request {req_num} doesn't have {v} header"
            );
        }
        let server_or_err =
            || server.ok_or_else(|| fail(false, "TypeError: server request is undefined".into()));
        if let Some(list) = cfg
            .get("expected_request_headers")
            .and_then(Value::as_array)
        {
            let setup = setup_check(cfg, "expected_request_headers");
            let s = server_or_err()?;
            for item in list {
                if let Some(name) = item.as_str() {
                    check!(
                        setup,
                        s.headers.contains_key(name),
                        "Request {req_num} {name} header not present."
                    );
                } else {
                    let name = item.get(0).and_then(Value::as_str).unwrap_or("");
                    let want = js_string(item.get(1).unwrap_or(&Value::Null));
                    let got = header_str(&s.headers, name);
                    check!(
                        setup,
                        got.as_deref() == Some(want.as_str()),
                        "Request {req_num} header {name} is {got:?}, not {want:?}"
                    );
                }
            }
        }
        if let Some(list) = cfg
            .get("expected_request_headers_missing")
            .and_then(Value::as_array)
        {
            let setup = setup_check(cfg, "expected_request_headers_missing");
            let s = server_or_err()?;
            for item in list {
                if let Some(name) = item.as_str() {
                    check!(
                        setup,
                        !s.headers.contains_key(name),
                        "Request {req_num} {name} header present."
                    );
                } else {
                    let name = item.get(0).and_then(Value::as_str).unwrap_or("");
                    let want = js_string(item.get(1).unwrap_or(&Value::Null));
                    let got = header_str(&s.headers, name);
                    check!(
                        setup,
                        got.as_deref() != Some(want.as_str()),
                        "Request {req_num} header {name} is {got:?}"
                    );
                }
            }
        }
        if let (Some(s), Some(resp)) = (server, responses.get(i)) {
            for (name, value) in &s.response_headers {
                if name.eq_ignore_ascii_case("date") {
                    continue;
                }
                let got = header_str(resp.headers(), name);
                check!(
                    true,
                    got.as_deref() == Some(value.as_str()),
                    "Response {req_num} header {name} is {got:?}, not {value:?}"
                );
            }
        }
        if let Some(want) = cfg.get("expected_method").and_then(Value::as_str) {
            let s = server_or_err()?;
            check!(
                setup_check(cfg, "expected_method"),
                s.method == want,
                "Request {req_num} had method {}, not {want}",
                s.method
            );
        }
    }
    Ok(())
}

/// A tier that stores nothing: the negative control.
#[derive(Debug)]
struct NullTier;

#[async_trait::async_trait]
impl edgecache::Tier for NullTier {
    fn name(&self) -> &str {
        "null"
    }
    async fn get(&self, _: &str) -> edgecache::Result<Option<Arc<edgecache::Entry>>> {
        Ok(None)
    }
    async fn insert(&self, _: &str, _: Arc<edgecache::Entry>) -> edgecache::Result<bool> {
        Ok(false)
    }
    async fn remove(&self, _: &str) -> edgecache::Result<bool> {
        Ok(false)
    }
    async fn retain(
        &self,
        _: &(dyn for<'k, 'e> Fn(&'k str, &'e edgecache::Entry) -> bool + Send + Sync),
    ) -> edgecache::Result<u64> {
        Ok(0)
    }
    fn capacity_bytes(&self) -> u64 {
        0
    }
    fn used_bytes(&self) -> u64 {
        0
    }
    fn len(&self) -> usize {
        0
    }
}

/// The tiers an edge under test gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tiers {
    /// The default: one memory tier.
    Memory,
    /// A disk tier only, so every stored response round-trips through a file.
    Disk,
    /// The negative control: a tier that stores nothing.
    Nothing,
}

async fn run_test(test: &Value, n: usize, tiers: Tiers) -> Result<(), Failure> {
    let requests: Arc<Vec<Value>> =
        Arc::new(test["requests"].as_array().cloned().unwrap_or_default());
    let token = format!("{:08x}-0000-4000-8000-{:012x}", n, n * 7919);
    let manual = ManualClock::new();
    let state = Arc::new(Mutex::new(OriginState::default()));
    let origin = scripted_origin(
        requests.clone(),
        token.clone(),
        manual.clone(),
        state.clone(),
    );
    let mut builder = Edge::builder(origin)
        .with_clock(manual.clock())
        .with_origin_timeout(None);
    let dir = tempfile::tempdir().expect("tempdir");
    match tiers {
        Tiers::Memory => {}
        Tiers::Disk => {
            let disk = edgecache::tier::DiskTier::open(dir.path(), Default::default())
                .await
                .expect("disk tier");
            builder = builder.with_tier(disk);
        }
        Tiers::Nothing => builder = builder.with_tier(NullTier),
    }
    let edge = builder.build().expect("edge builds");
    let mut responses: Vec<Response<Bytes>> = Vec::new();
    for (idx, cfg) in requests.iter().enumerate() {
        let prev = responses.last().map(Response::headers);
        let request = build_request(cfg, &token, test, idx, prev);
        let response = match edge.handle(request).await {
            Ok(r) => r,
            Err(_) => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::BAD_GATEWAY;
                r
            }
        };
        edge.background_idle().await;
        let checked = check_response(test, cfg, idx, &response, &token);
        responses.push(response);
        checked?;
        if cfg.get("pause_after").and_then(Value::as_bool) == Some(true) {
            manual.advance(Duration::from_secs(3));
        }
    }
    let seen = state.lock().seen.clone();
    check_server_requests(&requests, &responses, &seen)
}

type Scores = BTreeMap<&'static str, (usize, usize)>;

/// Runs every applicable test; returns the scores per kind and each test's result.
async fn run_suite(tiers: Tiers, verbose: bool) -> (Scores, BTreeMap<String, Value>) {
    let path = shared_dir().join("conformance/http-cache-tests/suite.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let suites: Value = serde_json::from_str(&text).expect("suite.json parses");
    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    let mut score: Scores = BTreeMap::new();
    let mut n = 0;
    for suite in suites.as_array().expect("an array of suites") {
        for test in suite["tests"].as_array().expect("tests") {
            if test.get("browser_only").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            n += 1;
            let id = test["id"].as_str().expect("test id").to_string();
            let kind = match test.get("kind").and_then(Value::as_str) {
                Some("optimal") => "optimal",
                Some("check") => "check",
                _ => "required",
            };
            let outcome = run_test(test, n, tiers).await;
            let slot = score.entry(kind).or_default();
            slot.1 += 1;
            match outcome {
                Ok(()) => {
                    slot.0 += 1;
                    results.insert(id, Value::Bool(true));
                }
                Err((k, msg)) => {
                    if verbose {
                        eprintln!("{kind:8} {id}: {k} {msg}");
                    }
                    results.insert(id, json!([k, msg]));
                }
            }
        }
    }
    (score, results)
}

#[tokio::test]
async fn http_cache_tests_suite() {
    let verbose = std::env::var_os("HTTP_CACHE_TESTS_VERBOSE").is_some();
    let (score, results) = run_suite(Tiers::Memory, verbose).await;
    let get = |k: &str| score.get(k).copied().unwrap_or_default();
    let (rp, rt) = get("required");
    let (op, ot) = get("optimal");
    let (cp, ct) = get("check");
    println!("http-cache-tests: required {rp}/{rt} optimal {op}/{ot} check {cp}/{ct}");
    let out = target_dir().join("http-cache-tests.json");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("target dir");
    }
    let text = serde_json::to_string_pretty(&results).expect("results serialize") + "\n";
    std::fs::write(&out, text).expect("writing results");
    assert_eq!(
        (rt, ot, ct),
        (160, 105, 100),
        "the applicable tests per kind, as the peers count them"
    );
    assert!(
        rp >= REQUIRED_FLOOR,
        "required passes fell to {rp}, below the floor {REQUIRED_FLOOR}"
    );
}

/// The negative control: the same replay against an edge that can store nothing must fail every test that
/// needs a cache hit, so the replay's checks discriminate.
#[tokio::test]
async fn the_replay_fails_an_edge_that_stores_nothing() {
    let (score, results) = run_suite(Tiers::Nothing, false).await;
    let (rp, _) = score["required"];
    let (op, _) = score["optimal"];
    assert!(
        rp < 150,
        "a cache that stores nothing passed {rp} required tests"
    );
    assert!(
        op < 30,
        "a cache that stores nothing passed {op} optimal tests"
    );
    for id in [
        "freshness-max-age",
        "vary-match",
        "304-lm-use-stored-Test-Header",
        "stale-while-revalidate",
    ] {
        assert_ne!(
            results.get(id),
            Some(&Value::Bool(true)),
            "{id} passed without a cache"
        );
    }
    println!("http-cache-tests (no storage): required {rp}/160 optimal {op}/105");
}

/// The same replay with a disk tier as the only tier: every stored response goes through a file and back,
/// and the results are the memory tier's, test by test.
#[tokio::test]
async fn the_replay_scores_the_same_through_the_disk_tier() {
    let (_, memory) = run_suite(Tiers::Memory, false).await;
    let (score, disk) = run_suite(Tiers::Disk, false).await;
    let differing: Vec<_> = memory
        .iter()
        .filter(|(id, r)| disk.get(*id) != Some(r))
        .map(|(id, _)| id)
        .collect();
    assert!(
        differing.is_empty(),
        "results differ through the disk tier: {differing:?}"
    );
    assert!(score["required"].0 >= REQUIRED_FLOOR);
}
