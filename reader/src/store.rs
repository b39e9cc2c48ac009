//! The reader's one seam to Redis, so the request flow is plain, natively testable Rust.
//!
//! In the component the [`Store`] is [`SpinStore`](crate::spin_store::SpinStore): Spin's
//! outbound Redis connection or its key-value store on a Redis backend, as the `redis_api`
//! variable says, the same code for both builds; in unit tests it is an in-memory map. The real-Redis behaviour is
//! covered by the wasmtime-hosted integration tests in `tests/`.

/// Why a Redis call failed, in the two kinds the responses distinguish. Details (which can
/// name hosts) are logged by the component, never put in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Connection refused, reset, timed out, auth failed, not allowed by the manifest...
    Unavailable,
    /// The key holds a non-string value (a hash, a list, ...), so `GET` cannot read it.
    WrongType,
}

/// The two reads the reader makes.
///
/// Async because Spin 4's Redis interfaces are: the WASIp3 export awaits the request flow,
/// so a request waiting on Redis leaves the instance free for the others it serves at the
/// same time. Spin 3's calls block the guest instead; its store answers with futures that
/// are ready when first polled, and [`crate::ready::now`] drives them without an executor.
///
/// `async fn` in a public trait leaves callers no way to ask for `Send` futures; none need
/// them (a component instance is single-threaded, the native tests poll in place).
#[allow(async_fn_in_trait)]
pub trait Store {
    /// `GET key`: the value, or `None` when the key does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// `TTL key`: seconds left; `-1` when the key never expires, `-2` when it does not exist.
    /// `Ok(None)` when the backend has no way to ask (Spin's key-value API has no TTL).
    async fn ttl(&self, key: &str) -> Result<Option<i64>, StoreError>;
}

/// Classifies a Redis failure reported through Spin's error variant. Spin maps the server's
/// `WRONGTYPE` reply for `GET` to `other("WRONGTYPE: ...")` rather than `type-error`, so
/// both are recognised.
///
/// The search is over bytes, not `str::contains`: a `&str` pattern links core's two-way
/// string searcher (about 3 KB of the `.wasm`, which has a size budget) for this one call.
pub fn classify(type_error: bool, message: &str) -> StoreError {
    const NEEDLE: &[u8] = b"WRONGTYPE";
    if type_error
        || message
            .as_bytes()
            .windows(NEEDLE.len())
            .any(|w| w == NEEDLE)
    {
        StoreError::WrongType
    } else {
        StoreError::Unavailable
    }
}

#[cfg(test)]
pub(crate) mod memory {
    //! An in-memory [`Store`] that records every call, for flow tests.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::{Store, StoreError};

    /// What a key holds in the fake.
    #[derive(Debug, Clone)]
    pub enum Slot {
        Value(Vec<u8>, i64),
        Fails(StoreError),
    }

    #[derive(Debug, Default)]
    pub struct MemoryStore {
        pub slots: HashMap<String, Slot>,
        pub calls: RefCell<Vec<String>>,
        /// Behave like the key-value backend: no TTL to read.
        pub no_ttl: bool,
    }

    impl MemoryStore {
        pub fn with(mut self, key: &str, value: &[u8], ttl: i64) -> Self {
            self.slots
                .insert(key.to_owned(), Slot::Value(value.to_vec(), ttl));
            self
        }
        pub fn failing(mut self, key: &str, e: StoreError) -> Self {
            self.slots.insert(key.to_owned(), Slot::Fails(e));
            self
        }
        pub fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl Store for MemoryStore {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.calls.borrow_mut().push(format!("GET {key}"));
            match self.slots.get(key) {
                None => Ok(None),
                Some(Slot::Value(v, _)) => Ok(Some(v.clone())),
                Some(Slot::Fails(e)) => Err(*e),
            }
        }
        async fn ttl(&self, key: &str) -> Result<Option<i64>, StoreError> {
            self.calls.borrow_mut().push(format!("TTL {key}"));
            if self.no_ttl {
                return Ok(None);
            }
            match self.slots.get(key) {
                None => Ok(Some(-2)),
                Some(Slot::Value(_, t)) => Ok(Some(*t)),
                Some(Slot::Fails(e)) => Err(*e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_spin_errors() {
        assert_eq!(classify(true, ""), StoreError::WrongType);
        assert_eq!(
            classify(
                false,
                "WRONGTYPE: Operation against a key holding the wrong kind of value"
            ),
            StoreError::WrongType
        );
        assert_eq!(
            classify(false, "Connection refused (os error 111)"),
            StoreError::Unavailable
        );
    }

    proptest::proptest! {
        /// The byte search answers exactly as `str::contains` did, wherever the word sits
        /// and whatever surrounds it (Cyrillic included).
        #[test]
        fn byte_search_is_str_contains(
            before in "[a-zA-Z: щ]{0,12}",
            word in proptest::sample::select(vec!["WRONGTYPE", "WRONGTYP", "wrongtype", "RONGTYPE", ""]),
            after in "[A-Z ё]{0,12}",
        ) {
            let message = format!("{before}{word}{after}");
            let expected = if message.contains("WRONGTYPE") {
                StoreError::WrongType
            } else {
                StoreError::Unavailable
            };
            proptest::prop_assert_eq!(classify(false, &message), expected);
        }
    }
}
