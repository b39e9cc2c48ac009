//! `fermyon:spin/key-value@2.0.0`, store `default`: with a runtime config pointing it at
//! Redis (`deploy/spin/runtime-config.toml`), Spin keeps one multiplexed, auto-reconnecting
//! connection for the whole app and reads the raw key (no prefix), so the refresher's
//! `server:status` is read as is. The credentials live in the runtime config, never in the
//! component. There is no TTL in this interface.

use spin_sdk::key_value::{Error, Store};

use crate::store::{StoreError, classify};

/// The label the manifest grants (`key_value_stores = ["default"]`).
pub const STORE_LABEL: &str = "default";

/// One request's handle on the store; `None` when the open failed (already logged).
pub struct KeyValue(Option<Store>);

impl KeyValue {
    pub fn open() -> KeyValue {
        KeyValue(
            Store::open(STORE_LABEL)
                .map_err(|e| log_error("open", &e))
                .ok(),
        )
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0
            .as_ref()
            .ok_or(StoreError::Unavailable)?
            .get(key)
            .map_err(|e| log_error("get", &e))
    }
}

/// Logs a store failure and classifies it. Spin reports a `WRONGTYPE` reply as
/// `other("WRONGTYPE ...")`, which [`classify`] recognises.
fn log_error(operation: &str, error: &Error) -> StoreError {
    let message = match error {
        Error::StoreTableFull => "too many stores open",
        Error::NoSuchStore => "no such store: the host defines no `default` key-value store",
        Error::AccessDenied => {
            "access denied: the component's key_value_stores does not name `default`"
        }
        Error::Other(message) => message.as_str(),
    };
    eprintln!("status-reader: key-value {operation} failed: {message}");
    classify(false, message)
}
