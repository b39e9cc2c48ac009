//! Any method, target and stored value maps to a defined response.

use super::*;

/// One of `known`: as one arm of `prop_oneof!` weighted by their number, each is as likely
/// as any other arm.
fn one_of(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(known).prop_map(str::to_owned)
}

fn method() -> impl Strategy<Value = String> {
    const KNOWN: [&str; 4] = ["GET", "HEAD", "OPTIONS", "POST"];
    prop_oneof![
        KNOWN.len() as u32 => one_of(&KNOWN),
        1 => "[A-Za-z-]{0,12}",
        1 => any::<String>(),
    ]
}

fn target() -> impl Strategy<Value = String> {
    const KNOWN: [&str; 4] = [
        "/server/status",
        "/server/status/debug",
        "/health",
        "/status",
    ];
    prop_oneof![
        KNOWN.len() as u32 => one_of(&KNOWN),
        1 => "/server/status[?#/]?[ -~]{0,40}",
        1 => "/servers(/[ -~]{0,40})?",
        1 => "/servers/[a-z0-9_:.%-]{0,34}(/(history|simple|badge\\.svg|shields\\.json|debug))?",
        1 => "/[ -~]{0,64}",
        1 => any::<String>(),
        1 => (0usize..5000).prop_map(|n| format!("/server/status?{}", "x".repeat(n))),
    ]
}

/// The pages whose answer is not JSON: the badge (SVG), `simple` (one word) and the status
/// page (HTML, its errors too).
fn target_is_a_drawn_page(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    path.ends_with("/badge.svg") || path.ends_with("/simple") || path == "/status"
}

fn stored() -> impl Strategy<Value = Option<Result<Vec<u8>, StoreError>>> {
    prop_oneof![
        Just(None),
        Just(Some(Err(StoreError::Unavailable))),
        Just(Some(Err(StoreError::WrongType))),
        (0f64..2e9).prop_map(|t| Some(Ok(doc_at(t)))),
        proptest::collection::vec(any::<u8>(), 0..256).prop_map(|b| Some(Ok(b))),
        (0usize..400, any::<u8>()).prop_map(|(i, b)| {
            let mut d = doc_at(T0);
            let i = i % d.len();
            d[i] = b;
            Some(Ok(d))
        }),
    ]
}

fn put(s: MemoryStore, key: &str, v: Option<Result<Vec<u8>, StoreError>>) -> MemoryStore {
    match v {
        None => s,
        Some(Ok(b)) => s.with(key, &b, 100),
        Some(Err(e)) => s.failing(key, e),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_request_maps_to_a_defined_response(
        method in method(),
        target in target(),
        inm in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..4),
        origin in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        primary in stored(),
        last_good in stored(),
        page in stored(),
        accept_language in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        cors in prop_oneof![Just("*"), Just(""), Just("https://a https://b"), Just("https://a")],
        now in prop_oneof![Just(T0), -1e12f64..1e12, Just(f64::NAN)],
    ) {
        let req = RequestHead { method, path_with_query: target, if_none_match: inm, origin, accept_language };
        let store = put(put(MemoryStore::default(), "k", primary), "k:last_good", last_good);
        let store = put(store, "k:page", page);
        let c = config_with_cors(cors);
        let r = handle(&req, &c, &store, now);

        prop_assert!([200, 204, 304, 404, 405, 414, 431, 502, 503].contains(&r.status),
                     "undefined status {}", r.status);
        prop_assert!(store.calls().len() <= 3, "bounded Redis calls: {:?}", store.calls());
        for (name, value) in &r.headers {
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            prop_assert!(value.bytes().all(|b| (b' '..=b'~').contains(&b)), "{name}: {value:?}");
        }
        let head = req.method == "HEAD";
        if head || matches!(r.status, 204 | 304) {
            prop_assert!(r.body.is_empty());
        } else if r.header("content-type") != Some(crate::respond::JSON) {
            // A server's badge or simple page (any valid id reaches one): drawn, never empty.
            prop_assert!(target_is_a_drawn_page(&req.path_with_query), "{}", req.path_with_query);
            prop_assert!(!r.body.is_empty());
        } else {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            prop_assert!(v.is_object());
            let len = r.body.len().to_string();
            prop_assert_eq!(r.header("content-length"), Some(len.as_str()));
            if r.status >= 400 {
                prop_assert!(v["error"].is_string() || v["status"] == "error" || v["status"] == "stale");
            }
        }
    }
}
