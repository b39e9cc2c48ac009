//! `spin:key-value/key-value@3.0.0` (async), store `default`: as in Spin 3, one shared
//! connection for the app when a runtime config points the store at Redis, raw keys, no TTL
//! in the interface; here the open and every read are raced against the request's
//! [`Deadline`]. Spin 4's Redis store sets no timeout of its own on a stalled server.

use spin_sdk_7::key_value::{Error, Store};

use super::deadline::{Deadline, TimedOut};
use crate::store::{StoreError, classify};

/// The label the manifest grants (`key_value_stores = ["default"]`).
pub const STORE_LABEL: &str = "default";

/// One request's handle on the store; `None` when the open failed (already logged).
pub struct KeyValue(Option<Store>);

impl KeyValue {
    pub fn open(deadline: &Deadline) -> KeyValue {
        KeyValue(settle("open", deadline.run(Store::open(STORE_LABEL))).ok())
    }

    pub fn get(&self, key: &str, deadline: &Deadline) -> Result<Option<Vec<u8>>, StoreError> {
        let store = self.0.as_ref().ok_or(StoreError::Unavailable)?;
        settle("get", deadline.run(store.get(key)))
    }
}

/// A raced call's outcome as the store reports it, logged when it failed.
fn settle<T>(
    operation: &str,
    outcome: Result<Result<T, Error>, TimedOut>,
) -> Result<T, StoreError> {
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(log_error(operation, &e)),
        Err(TimedOut) => {
            eprintln!("status-reader: key-value {operation} timed out (redis_timeout_ms)");
            Err(StoreError::Unavailable)
        }
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
