//! The spec's parameter limits are the reader's: values at and past each edge.

use integration_tests::contract;
use integration_tests::percent_encode;
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use redis::Commands;

use super::{document, now, repository_spec};

/// The spec's limits are the reader's: for values at and past each edge, the
/// spec's own parameter schema and the real `.wasm` agree. A value the schema accepts is
/// answered (200, or 304 for a matching tag), one it rejects gets a 4xx — so a client
/// generated from the spec is never refused, and schemathesis' negative data never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_specs_parameter_limits_are_the_readers() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    let mut conn = redis.conn();
    let _: () = conn
        .set(&key, document(now(), 1))
        .expect("store a fresh document");
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
    let mut disagreements = query_disagreements(&reader).await;
    disagreements.extend(if_none_match_disagreements(&reader).await);
    assert!(
        disagreements.is_empty(),
        "the spec and the reader disagree:\n{}",
        disagreements.join("\n")
    );
}

/// `what`, when the spec and the reader disagree about it: the spec `accepted` it and the
/// reader refused it, or the other way round.
fn disagreement(what: String, accepted: bool, status: u16) -> Option<String> {
    let answered = status == 200 || status == 304;
    let refused = (400..500).contains(&status);
    (!(accepted && answered || !accepted && refused)).then(|| {
        format!(
            "{what}: the spec {} it, the reader answered {status}",
            if accepted { "accepts" } else { "rejects" }
        )
    })
}

/// The badge's query parameters, each sample on both badge endpoints.
async fn query_disagreements(reader: &ReaderServer) -> Vec<String> {
    let mut disagreements = Vec::new();
    for (name, values) in &query_samples() {
        for value in values {
            let accepted = contract::parameter_accepts(name, value);
            for endpoint in ["badge.svg", "shields.json"] {
                let target = format!("/server/status/{endpoint}?{name}={}", percent_encode(value));
                let status = reader.get(&target).await.status;
                let what = format!("{name}={value:?} on {endpoint}");
                disagreements.extend(disagreement(what, accepted, status));
            }
        }
    }
    disagreements
}

fn long(n: usize, c: char) -> String {
    c.to_string().repeat(n)
}

/// Values at and past each edge of the badge's query parameters.
fn query_samples() -> Vec<(&'static str, Vec<String>)> {
    vec![
        (
            "label",
            vec![
                String::new(),
                "My Realm".into(),
                "<script>".into(),
                long(64, 'a'),
                long(65, 'a'),
                long(64, 'ж'),
                long(65, 'ж'),
                "x\ny".into(),
                "x\u{7f}".into(),
                "x\u{85}".into(),
                "x\u{202e}y".into(),
                "x\u{2066}".into(),
                "x\u{fffe}".into(),
                "x\n".into(),
            ],
        ),
        (
            "style",
            [
                "flat",
                "flat-square",
                "for-the-badge",
                "plastic",
                "",
                "FLAT",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "lang",
            ["en", "ru", "de", "", "EN"].map(String::from).to_vec(),
        ),
        (
            "show",
            [
                "",
                "exp",
                "exp,pvp",
                "color_mob,skill,pve",
                "exp,exp",
                "exp,",
                ",exp",
                ",",
                "exp,,pvp",
                "EXP",
                "gold",
                "exp,gold",
                " exp",
                "exp pvp",
                "exp;pvp",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ]
}

/// If-None-Match: the spec's maxLength is the reader's bound, to the byte.
async fn if_none_match_disagreements(reader: &ReaderServer) -> Vec<String> {
    let mut disagreements = Vec::new();
    let bound = spec_max_length("If-None-Match");
    for value in [
        "*".to_owned(),
        "\"no-such-tag\"".to_owned(),
        long(bound, 'x'),
        long(bound + 1, 'x'),
    ] {
        let accepted = contract::parameter_accepts("If-None-Match", &value);
        for path in [
            "/server/status",
            "/server/status/simple",
            "/server/status/badge.svg",
            "/server/status/shields.json",
            "/server/status/widget.js",
            "/server/status/widget",
            "/server/status/openapi.json",
        ] {
            let status = reader
                .request("GET", path, &[("if-none-match", value.as_str())])
                .await
                .status;
            let what = format!("If-None-Match of {} bytes on {path}", value.len());
            disagreements.extend(disagreement(what, accepted, status));
        }
    }
    disagreements
}

/// `maxLength` of a parameter's schema in the repository's spec.
fn spec_max_length(parameter: &str) -> usize {
    let spec = repository_spec();
    let length = spec["components"]["parameters"][parameter]["schema"]["maxLength"]
        .as_u64()
        .unwrap_or_else(|| panic!("{parameter} has no maxLength"));
    usize::try_from(length).expect("a maxLength that fits in usize")
}
