//! The request flow's unit tests, by concern: the document endpoint (`document.rs`), the
//! other endpoints and routing (`endpoints.rs`), and the property that every request gets
//! a defined answer (`any_request.rs`). The helpers they share are here.

mod any_request;
mod document;
mod endpoints;

use super::*;
use crate::store::StoreError;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask, config, config_with_cors, live, live_document, probe};
use proptest::prelude::*;
use serde_json::Value;
use status_document::{BuildOptions, ConstantRow, MAX_DOCUMENT_BYTES, RowValue, build};

/// The tag the reader must give `stored`.
pub(super) fn etag_of(stored: &[u8]) -> String {
    let v = status_document::DocumentView::parse(stored).unwrap();
    cache::etag(
        v.schema_version,
        v.updated_at,
        stored.len(),
        v.live_stamps(),
    )
}

pub(super) fn doc_at(updated_at: f64) -> Vec<u8> {
    let rows = vec![ConstantRow {
        name: "RateExp".into(),
        value: RowValue::Int(3),
        description: Some("Опыт \"x\"".into()),
    }];
    build(&rows, &BuildOptions::default(), updated_at)
        .unwrap()
        .json
}

pub(super) fn get(path: &str) -> RequestHead {
    RequestHead::new("GET", path)
}

pub(super) fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}
