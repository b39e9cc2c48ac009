//! The reader's contract, `reader/openapi.json`, held against real responses.
//!
//! [`check`] finds what the spec promises for a method, target and status — the operation's
//! response, or the spec's shared `NotFound` / `MethodNotAllowed` / `UriTooLong` /
//! `HeadersTooLarge` answers for what no operation covers — and checks the reply against
//! it: the status is documented, every required header is there and every documented header
//! has a value its schema allows, the `Content-Type` is a documented media type, and a JSON
//! (or plain-text) body validates against the schema (JSON Schema 2020-12, the dialect of
//! OpenAPI 3.1). `reader::try_http_request` calls it for every reply, so every response the
//! reader tests see is checked.
//!
//! Host-generated answers (`reader-host`'s plain-text 500/503 when the component fails or
//! the host is saturated, its 404 for a route the manifest lacks, hyper's bodiless
//! 400/413/431 for requests refused before the component) are not the component's
//! contract and are recognised and skipped; [`counts`] says how many of each there were.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

use crate::binaries::workspace_root;

/// `reader/openapi.json`, read once per test process.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = workspace_root().join("reader/openapi.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("reader/openapi.json: {e}"))
    })
}

/// The value a local `$ref` (`#/components/...`) points at; other values as they are.
fn resolve(value: &Value) -> &Value {
    let mut v = value;
    // Bounded: a `$ref` chain longer than this is a cycle.
    for _ in 0..8 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(pointer) => {
                let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
                v = spec()
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("openapi.json: dangling $ref {pointer}"));
            }
            None => return v,
        }
    }
    panic!("openapi.json: $ref chain too long at {value}");
}

/// A compiled validator for `schema`, whose `#/components/...` references resolve against
/// the spec: the schema is wrapped in a root that carries the spec's `components`.
fn validator(schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let key = schema.to_string();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("validator cache").get(&key) {
        return Arc::clone(v);
    }
    let root = json!({"allOf": [schema], "components": spec()["components"]});
    let compiled = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("openapi.json: schema {schema} does not compile: {e}"));
    let compiled = Arc::new(compiled);
    cache
        .lock()
        .expect("validator cache")
        .insert(key, Arc::clone(&compiled));
    compiled
}

fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    validator(schema)
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Whether the spec's schema of the parameter `name` (`#/components/parameters/<name>`)
/// accepts `value`: what a client generated from the spec will send, and what schemathesis
/// expects the reader to answer rather than refuse.
pub fn parameter_accepts(name: &str, value: &str) -> bool {
    let parameter = spec()["components"]["parameters"]
        .get(name)
        .unwrap_or_else(|| panic!("openapi.json has no parameter {name}"));
    validator(&parameter["schema"]).is_valid(&Value::String(value.to_owned()))
}

static CHECKED: AtomicUsize = AtomicUsize::new(0);
static HOST_GENERATED: AtomicUsize = AtomicUsize::new(0);

/// (responses checked against the spec, host-generated responses skipped) in this process.
pub fn counts() -> (usize, usize) {
    (
        CHECKED.load(Ordering::Relaxed),
        HOST_GENERATED.load(Ordering::Relaxed),
    )
}

/// The host's own answers (see the module doc): its plain-text 4xx/5xx (a line of text), and hyper's
/// bodiless 400/413/431 for requests it refuses before the component sees them (every
/// component answer with a body has a `Content-Type`).
fn host_generated(status: u16, content_type: Option<&str>, body: &[u8]) -> bool {
    // The host's plain texts end in a line break; the component's one plain-text answer
    // (`/server/status/simple`: a bare word) never does.
    let plain = content_type.is_some_and(|t| t.starts_with("text/plain"))
        && status >= 400
        && body.ends_with(b"\n");
    let refused = content_type.is_none() && matches!(status, 400 | 413 | 431);
    plain || refused
}

/// Checks one reply; `Err` lists every way it departs from the spec.
pub fn check(
    method: &str,
    target: &str,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if host_generated(status, header("content-type"), body) {
        HOST_GENERATED.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    let response = documented_response(method, target, status)?;
    let mut problems = header_problems(response, &header);
    problems.extend(body_problems(
        response,
        method,
        header("content-type"),
        body,
    ));
    CHECKED.fetch_add(1, Ordering::Relaxed);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {target} -> {status} departs from reader/openapi.json:\n  {}\nbody: {}",
            problems.join("\n  "),
            String::from_utf8_lossy(&body[..body.len().min(2000)])
        ))
    }
}

/// What the spec documents for `status` of `method` on `target`: the operation's response,
/// or the shared answer of dispatch for what no operation covers.
fn documented_response(method: &str, target: &str, status: u16) -> Result<&'static Value, String> {
    let path = target.split('?').next().unwrap_or(target);
    let shared = |name: &str| &spec()["components"]["responses"][name];
    let item = path_item(path);
    let operation = match method {
        "GET" | "HEAD" => item.get("get"),
        "OPTIONS" => item.get("options"),
        _ => None,
    };
    let documented = operation.and_then(|op| op["responses"].get(status.to_string()));
    Ok(match (documented, status) {
        (Some(r), _) => resolve(r),
        // What dispatch answers before (or instead of) any operation.
        (None, 414) => shared("UriTooLong"),
        (None, 431) => shared("HeadersTooLarge"),
        (None, 404) if item.is_null() => shared("NotFound"),
        // Routing refuses what is not a server id whatever the method (`/servers/{id}...`).
        (None, 404) if fills_a_template(path) => shared("UnknownServer"),
        (None, 405) if operation.is_none() && !item.is_null() => shared("MethodNotAllowed"),
        (None, _) => {
            return Err(format!(
                "{method} {target}: status {status} is not in reader/openapi.json"
            ));
        }
    })
}

/// Every required header that is missing, and every documented one whose value its schema
/// refuses.
fn header_problems<'h>(response: &Value, header: &impl Fn(&str) -> Option<&'h str>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(declared) = response.get("headers").and_then(Value::as_object) else {
        return problems;
    };
    for (name, h) in declared {
        let h = resolve(h);
        match header(&name.to_ascii_lowercase()) {
            None if h["required"] == true => problems.push(format!("header {name} missing")),
            None => {}
            Some(value) => {
                let instance = match h["schema"]["type"].as_str() {
                    Some("integer") => value
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(value)),
                    _ => Value::from(value),
                };
                for e in errors(&h["schema"], &instance) {
                    problems.push(format!("header {name}: {e}"));
                }
            }
        }
    }
    problems
}

/// A body where none is documented, none where one is, a media type the response does not
/// list, and a JSON or plain-text body its schema refuses.
fn body_problems(
    response: &Value,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let content = response.get("content").and_then(Value::as_object);
    let has_body = method != "HEAD" && !body.is_empty();
    match (content, has_body) {
        (None, true) => vec![format!("{} byte body where none is documented", body.len())],
        (Some(_), false) if method != "HEAD" => vec!["documented body missing".into()],
        (Some(content), true) => {
            let media = content_type
                .and_then(|t| t.split(';').next())
                .map(str::trim)
                .unwrap_or("");
            match content.get(media) {
                None => vec![format!(
                    "content-type {media:?} is not one of {:?}",
                    content.keys().collect::<Vec<_>>()
                )],
                Some(m) => media_problems(media, m.get("schema"), body),
            }
        }
        _ => Vec::new(),
    }
}

/// A body of a documented media type against its schema: JSON and plain text are
/// validated; SVG, HTML and script are not (the media type is the contract).
fn media_problems(media: &str, schema: Option<&Value>, body: &[u8]) -> Vec<String> {
    let instance = match media {
        "application/json" => match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return vec![format!("body is not JSON: {e}")],
        },
        "text/plain" => Value::from(String::from_utf8_lossy(body).into_owned()),
        _ => return Vec::new(),
    };
    match schema {
        Some(schema) => errors(schema, &instance)
            .into_iter()
            .map(|e| format!("body: {e}"))
            .collect(),
        None => Vec::new(),
    }
}

/// The spec's path item for `path`: its own, or the templated one it fills
/// (`/servers/{id}` for `/servers/eu-1`); `Null` for neither.
fn path_item(path: &str) -> &'static Value {
    static NULL: Value = Value::Null;
    let paths = &spec()["paths"];
    if let Some(item) = paths.get(path) {
        return item;
    }
    paths
        .as_object()
        .and_then(|all| all.iter().find(|(template, _)| fills(template, path)))
        .map_or(&NULL, |(_, item)| item)
}

/// Whether `path` fills a templated path of the spec (a `{name}` segment matches any one
/// non-empty segment).
fn fills_a_template(path: &str) -> bool {
    spec()["paths"]
        .as_object()
        .is_some_and(|all| all.keys().any(|template| fills(template, path)))
}

fn fills(template: &str, path: &str) -> bool {
    template.contains('{')
        && template.split('/').count() == path.split('/').count()
        && template
            .split('/')
            .zip(path.split('/'))
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

/// The spec's paths (sorted).
pub fn paths() -> Vec<String> {
    spec()["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every `example` of a JSON or plain-text response in the spec, checked against its own
/// schema: `Err` lists those that do not validate (examples are real responses, and must
/// stay true when the schema changes).
pub fn check_examples() -> Result<usize, String> {
    let mut checked = 0;
    let mut problems = Vec::new();
    let responses = spec()["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.iter())
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.iter())
                .flat_map(move |(method, op)| {
                    op["responses"]
                        .as_object()
                        .into_iter()
                        .flat_map(|r| r.iter())
                        .map(move |(status, r)| (format!("{method} {path} {status}"), resolve(r)))
                })
        });
    for (name, response) in responses {
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            continue;
        };
        for (media, m) in content {
            let examples = m.get("example").into_iter().chain(
                m.get("examples")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|e| e.values().map(|v| &v["value"])),
            );
            for example in examples {
                checked += 1;
                for e in errors(&m["schema"], example) {
                    problems.push(format!("{name} {media}: {e}"));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems.join("\n"))
    }
}
