//! The reader's side of the schema: validate stored bytes in one pass, borrowing from them.
//!
//! The reader serves the stored bytes as they are (plus `_cache`), so it never needs an
//! owned [`StatusDocument`](crate::StatusDocument). What it needs is proof that the bytes
//! are a v1 document, and the few numbers that drive freshness. [`DocumentView::parse`]
//! gets both from a single pass of `serde_json` over the value, without copying `_meta`.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::freshness::{Freshness, freshness};
use crate::live::GameServer;
use crate::schema::{MAX_DOCUMENT_BYTES, Rates, SCHEMA_VERSION};
use crate::state::State;

/// Why stored bytes are not a servable document. Each maps to its own error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    #[error("stored value is {size} bytes, over the {MAX_DOCUMENT_BYTES}-byte bound")]
    TooLarge { size: usize },
    #[error("stored value is not valid JSON")]
    NotJson,
    #[error("stored value is not a status document: {0}")]
    WrongShape(String),
    #[error("stored document has schema_version {0}, this reader understands {SCHEMA_VERSION}")]
    UnknownSchema(u64),
}

/// A validated v1 document, borrowing from the stored bytes. An `Option` field that the
/// stored JSON leaves out reads as `None` (serde's rule for `Option`); only the fields that
/// may be absent without being an `Option` say `default`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DocumentView<'a> {
    pub schema_version: u32,
    /// Absent, with `rates` and `client_status`, from a refresher without a database.
    pub server_status: Option<f64>,
    /// Absent in documents written before `state` existed: those read as `unknown`.
    #[serde(default)]
    pub state: State,
    /// Any word: a reason a later refresher adds is shown, not refused.
    #[serde(borrow)]
    pub state_reason: Option<Cow<'a, str>>,
    pub game_server: Option<GameServer>,
    pub players: Option<u64>,
    pub max_players: Option<u64>,
    pub bots: Option<u64>,
    pub players_at: Option<f64>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
    pub maintenance_until: Option<f64>,
    pub rates: Option<Rates>,
    pub client_status: Option<f64>,
    pub updated_at: f64,
    pub refresh_interval_s: u64,
    pub ttl_s: u64,
    #[serde(borrow, default)]
    pub defaulted: Vec<Cow<'a, str>>,
    #[serde(rename = "_meta")]
    meta: StringMap,
}

impl<'a> DocumentView<'a> {
    /// Validates `bytes` as a schema-v1 status document.
    pub fn parse(bytes: &'a [u8]) -> Result<DocumentView<'a>, ViewError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(ViewError::TooLarge { size: bytes.len() });
        }
        // One UTF-8 check of the whole value, then `from_str`: reading a `&str`, serde_json
        // trusts it and does not check each string again. The same verdicts (bytes that are
        // not UTF-8 are not JSON), ~6 k fewer instructions per request in the reader than a
        // check per string (docs/performance.md, "Where the last quarter goes").
        let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
            return Err(ViewError::NotJson);
        };
        match serde_json::from_str::<DocumentView<'a>>(text) {
            Ok(view) if view.schema_version == SCHEMA_VERSION => Ok(view),
            Ok(view) => Err(ViewError::UnknownSchema(view.schema_version.into())),
            Err(e) if e.is_data() => {
                // Error path only: a document of another version may differ in shape, and
                // "unknown version" is the more useful thing to say about it.
                match probe_version(text) {
                    Some(v) if v != u64::from(SCHEMA_VERSION) => Err(ViewError::UnknownSchema(v)),
                    _ => Err(ViewError::WrongShape(e.to_string())),
                }
            }
            Err(_) => Err(ViewError::NotJson),
        }
    }
}

impl DocumentView<'_> {
    /// How fresh the document is at `now`, with the game-server probe's clock when it has
    /// one: the function every endpoint judges the document by.
    pub fn freshness(&self, now: f64) -> Freshness {
        freshness(self.updated_at, self.refresh_interval_s, self.ttl_s, now)
            .with_probe(self.game_server.as_ref(), now)
    }

    /// How often a newer document can appear: the probe's interval with a game-server
    /// probe (it rewrites the document), the refresh interval without. What a cache may
    /// serve a stale copy for while it fetches the new one (`stale-while-revalidate`).
    pub fn rewrite_interval_s(&self) -> u64 {
        self.game_server.map_or(self.refresh_interval_s, |g| {
            g.interval_s.min(self.refresh_interval_s)
        })
    }

    /// The stamps of the writes between reads of `constants` (the probe's, the players
    /// count's): with `updated_at` they name one write, so an entity tag built from them
    /// changes whenever the stored bytes do.
    pub fn live_stamps(&self) -> [Option<f64>; 2] {
        [self.game_server.map(|g| g.checked_at), self.players_at]
    }
}

fn probe_version(text: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Probe {
        schema_version: u64,
    }
    serde_json::from_str::<Probe>(text)
        .ok()
        .map(|p| p.schema_version)
}

/// Proof that a value is an object of strings to strings, without keeping any of it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StringMap;

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of constant names to descriptions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                while map.next_key::<AnyString>()?.is_some() {
                    map.next_value::<AnyString>()?;
                }
                Ok(StringMap)
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

/// A string, checked and dropped (no allocation for unescaped strings).
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl Visitor<'_> for StrVisitor {
            type Value = AnyString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildOptions, ConstantRow, RowValue, build};
    use proptest::prelude::*;

    fn stored() -> Vec<u8> {
        let rows = vec![ConstantRow {
            name: "RateExp".into(),
            value: RowValue::Int(3),
            description: Some("Опыт \"x\"".into()),
        }];
        build(&rows, &BuildOptions::default(), 100.0).unwrap().json
    }

    #[test]
    fn accepts_what_the_refresher_writes() {
        let bytes = stored();
        let v = DocumentView::parse(&bytes).unwrap();
        assert_eq!(v.rates.unwrap().exp, 3.0);
        assert_eq!(v.updated_at, 100.0);
        assert_eq!((v.refresh_interval_s, v.ttl_s), (600, 900));
        assert_eq!(v.defaulted.len(), 6);
        assert_eq!(v.state, State::Unknown, "no ServerStatus row");
        assert_eq!((v.message.as_deref(), v.maintenance_until), (None, None));
    }

    #[test]
    fn typed_state_fields() {
        let mut doc: serde_json::Value = serde_json::from_slice(&stored()).unwrap();
        doc["state"] = "maintenance".into();
        doc["message"] = "До 18:00 \"x\"".into();
        doc["maintenance_until"] = 1_764_170_000.5.into();
        let bytes = serde_json::to_vec(&doc).unwrap();
        let v = DocumentView::parse(&bytes).unwrap();
        assert_eq!(v.state, State::Maintenance);
        assert_eq!(v.message.as_deref(), Some("До 18:00 \"x\""));
        assert_eq!(v.maintenance_until, Some(1_764_170_000.5));

        doc["state_reason"] = "unreachable".into();
        doc["players"] = 150.into();
        doc["max_players"] = 1000.into();
        doc["players_at"] = 99.5.into();
        doc["game_server"] = serde_json::json!({"reachable": false, "checked_at": 101.0,
            "latency_ms": null, "since": 90.0, "addr_count": 2, "interval_s": 10,
            "deadline_s": 30});
        let bytes = serde_json::to_vec(&doc).unwrap();
        let v = DocumentView::parse(&bytes).unwrap();
        assert_eq!(v.state_reason.as_deref(), Some("unreachable"));
        assert_eq!(
            (v.players, v.max_players, v.players_at),
            (Some(150), Some(1000), Some(99.5))
        );
        let probe = v.game_server.unwrap();
        assert_eq!(
            (probe.reachable, probe.addr_count, probe.latency_ms),
            (false, 2, None)
        );
        assert_eq!(v.live_stamps(), [Some(101.0), Some(99.5)]);
        assert!(v.freshness(131.5).probe_overdue && !v.freshness(131.0).probe_overdue);

        // A document from before `state` existed is served, and reads as unknown.
        doc.as_object_mut().unwrap().remove("state");
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert_eq!(DocumentView::parse(&bytes).unwrap().state, State::Unknown);

        for (field, bad) in [
            ("state", serde_json::json!("degraded")),
            ("state", serde_json::json!(1)),
            ("message", serde_json::json!(5)),
            ("maintenance_until", serde_json::json!("soon")),
            ("players", serde_json::json!(-1)),
            ("players", serde_json::json!("150")),
            ("max_players", serde_json::json!(1.5)),
            ("game_server", serde_json::json!({"reachable": "yes"})),
            ("game_server", serde_json::json!(true)),
            ("state_reason", serde_json::json!(3)),
        ] {
            let mut d = doc.clone();
            d[field] = bad;
            let bytes = serde_json::to_vec(&d).unwrap();
            let got = DocumentView::parse(&bytes);
            assert!(
                matches!(got, Err(ViewError::WrongShape(_))),
                "{field}: {got:?}"
            );
        }
    }

    #[test]
    fn classifies_bad_values() {
        assert_eq!(DocumentView::parse(b"{not json"), Err(ViewError::NotJson));
        assert_eq!(DocumentView::parse(b""), Err(ViewError::NotJson));
        assert!(matches!(
            DocumentView::parse(b"[1,2]"),
            Err(ViewError::WrongShape(_))
        ));
        assert!(matches!(
            DocumentView::parse(b"{\"schema_version\":1}"),
            Err(ViewError::WrongShape(_))
        ));
        let mut doc: serde_json::Value = serde_json::from_slice(&stored()).unwrap();
        doc["schema_version"] = 2.into();
        doc["rates"] = "renamed".into();
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert_eq!(
            DocumentView::parse(&bytes),
            Err(ViewError::UnknownSchema(2))
        );
        doc["rates"] =
            serde_json::from_slice::<serde_json::Value>(&stored()).unwrap()["rates"].clone();
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert_eq!(
            DocumentView::parse(&bytes),
            Err(ViewError::UnknownSchema(2))
        );
        doc["schema_version"] = 1.into();
        doc["_meta"]["RateExp"] = 5.into();
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert!(matches!(
            DocumentView::parse(&bytes),
            Err(ViewError::WrongShape(_))
        ));
    }

    #[test]
    fn oversized_is_refused_before_parsing() {
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert_eq!(
            DocumentView::parse(&big),
            Err(ViewError::TooLarge {
                size: MAX_DOCUMENT_BYTES + 1
            })
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = DocumentView::parse(&bytes);
        }

        #[test]
        fn mutated_documents_never_panic(cut in 0usize..400, byte in any::<u8>()) {
            let mut bytes = stored();
            let i = cut % bytes.len();
            bytes[i] = byte;
            let _ = DocumentView::parse(&bytes);
        }
    }
}
