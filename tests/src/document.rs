//! A status document as the refresher writes it, for tests that put one in Redis themselves.

use status_document::{BuildOptions, ConstantRow, RowValue, build};

/// A real document (built by `status_document::build`, the refresher's own builder) stamped
/// `updated_at`: `ServerStatus` 1, `RateExp` 3.5 (sent as text, as a `VARCHAR` column would),
/// `CLIENT_STATUS` 2, descriptions for the first two.
pub fn at(updated_at: f64) -> Vec<u8> {
    let rows = vec![
        ConstantRow {
            name: "ServerStatus".into(),
            value: RowValue::Int(1),
            description: Some("Сервер включён".into()),
        },
        ConstantRow {
            name: "RateExp".into(),
            value: RowValue::Bytes(b"3.5".to_vec()),
            description: Some("Рейт опыта".into()),
        },
        ConstantRow {
            name: "CLIENT_STATUS".into(),
            value: RowValue::Int(2),
            description: None,
        },
    ];
    build(&rows, &BuildOptions::default(), updated_at)
        .expect("the fixture document builds")
        .json
}
