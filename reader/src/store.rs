//! The reader's one seam to Redis, so the request flow is plain, natively testable Rust.
//!
//! In the component the [`Store`] is Spin's `fermyon:spin/redis@2.0.0` connection (see
//! `component.rs`); in unit tests it is an in-memory map. The real-Redis behaviour is
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
pub trait Store {
    /// `GET key`: the value, or `None` when the key does not exist.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// `TTL key`: seconds left; `-1` when the key never expires, `-2` when it does not exist.
    fn ttl(&self, key: &str) -> Result<i64, StoreError>;
}

/// Classifies a Redis failure reported through Spin's error variant. Spin maps the server's
/// `WRONGTYPE` reply for `GET` to `other("WRONGTYPE: ...")` rather than `type-error`, so
/// both are recognised.
pub fn classify(type_error: bool, message: &str) -> StoreError {
    if type_error || message.contains("WRONGTYPE") {
        StoreError::WrongType
    } else {
        StoreError::Unavailable
    }
}

/// The address the component connects to: `redis_address` with the optional
/// `redis_user`/`redis_password` inserted as URL userinfo (percent-encoded).
///
/// Credentials are separate variables because `redis_address` is also the manifest's
/// `allowed_outbound_hosts` entry, and Spin's allow-list parser does not strip userinfo: a
/// `redis://user:pass@host` entry would allow no host at all (and print the password in
/// its errors). When neither credential is set the address is used as given.
pub fn connection_address(address: &str, user: &str, password: &str) -> String {
    if user.is_empty() && password.is_empty() {
        return address.to_owned();
    }
    let Some(scheme_end) = address.find("://").map(|i| i + 3) else {
        return address.to_owned();
    };
    let mut out = String::with_capacity(address.len() + user.len() + password.len() + 8);
    out.push_str(&address[..scheme_end]);
    percent_encode_into(user, &mut out);
    if !password.is_empty() {
        out.push(':');
        percent_encode_into(password, &mut out);
    }
    out.push('@');
    out.push_str(&address[scheme_end..]);
    out
}

/// Encodes everything but RFC 3986 unreserved characters, which is always valid in
/// userinfo and is decoded again by the Redis client.
fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
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
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.calls.borrow_mut().push(format!("GET {key}"));
            match self.slots.get(key) {
                None => Ok(None),
                Some(Slot::Value(v, _)) => Ok(Some(v.clone())),
                Some(Slot::Fails(e)) => Err(*e),
            }
        }
        fn ttl(&self, key: &str) -> Result<i64, StoreError> {
            self.calls.borrow_mut().push(format!("TTL {key}"));
            match self.slots.get(key) {
                None => Ok(-2),
                Some(Slot::Value(_, t)) => Ok(*t),
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

    #[test]
    fn credentials_go_into_userinfo() {
        let a = "redis://127.0.0.1:6379";
        assert_eq!(connection_address(a, "", ""), a);
        assert_eq!(
            connection_address(a, "status-reader", "p@ss:w/rd"),
            "redis://status-reader:p%40ss%3Aw%2Frd@127.0.0.1:6379"
        );
        assert_eq!(
            connection_address(a, "", "pw"),
            "redis://:pw@127.0.0.1:6379"
        );
        assert_eq!(connection_address(a, "u", ""), "redis://u@127.0.0.1:6379");
        assert_eq!(connection_address("nonsense", "u", "p"), "nonsense");
    }
}
