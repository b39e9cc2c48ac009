//! The shared glue's policy against a fake Spin: when it opens, what it keeps and drops,
//! how failures are classified.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::config::Settings;
use crate::ready::now;

/// A Redis that numbers its connections and answers each `GET`/`get` from a script (an
/// empty script answers `Ok(Some(b"v"))`).
#[derive(Default)]
struct FakeSpin {
    opened: Cell<u32>,
    failing_open: Cell<bool>,
    replies: RefCell<VecDeque<Result<Option<Vec<u8>>, Failure>>>,
    /// Connects that stay pending for one poll, to let another request overlap them.
    slow_connect: Cell<bool>,
}

impl FakeSpin {
    fn open(&self) -> Result<u32, Failure> {
        if self.failing_open.get() {
            return Err(Failure::Other("Connection refused (os error 111)".into()));
        }
        self.opened.set(self.opened.get() + 1);
        Ok(self.opened.get())
    }
    fn reply(&self) -> Result<Option<Vec<u8>>, Failure> {
        self.replies
            .borrow_mut()
            .pop_front()
            .unwrap_or(Ok(Some(b"v".to_vec())))
    }
}

/// Pending on its first poll, then ready.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

impl SpinApi for &FakeSpin {
    type Connection = u32;
    type KeyValue = u32;

    async fn connect(&self, _url: &str) -> Result<u32, Failure> {
        if self.slow_connect.get() {
            YieldOnce(false).await;
        }
        self.open()
    }
    async fn get(&self, _: &u32, _key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.reply()
    }
    async fn ttl(&self, _: &u32, _key: &str) -> Result<i64, Failure> {
        self.reply().map(|_| 42)
    }
    async fn open_key_value(&self, label: &str) -> Result<u32, Failure> {
        assert_eq!(label, STORE_LABEL);
        self.open()
    }
    async fn key_value_get(&self, _: &u32, _key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.reply()
    }
}

fn config(api: &str, url: &str) -> Config<'static> {
    Config::resolved(Settings::new(api, "k", "*"), Some(url.to_owned()))
}

/// A fake Spin, a fresh instance and the outbound API's settings for `redis://r`: what
/// most tests start from.
fn outbound<'s>() -> (FakeSpin, Instance<&'s FakeSpin>, Config<'static>) {
    (
        FakeSpin::default(),
        Instance::default(),
        config("outbound", "redis://r"),
    )
}

/// One request's `GET k` through the shared glue.
fn get<'s>(
    spin: &'s FakeSpin,
    config: &Config,
    instance: &Instance<&'s FakeSpin>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let store = SpinStore::new(spin, config, instance);
    now(store.get("k")).expect("the fake answers at once")
}

#[test]
fn later_requests_reuse_the_first_ones_connection() {
    let (spin, instance, c) = outbound();
    for _ in 0..3 {
        assert_eq!(get(&spin, &c, &instance), Ok(Some(b"v".to_vec())));
    }
    assert_eq!(spin.opened.get(), 1, "one connect for the instance");
    // Within a request, GET and TTL share it too.
    let store = SpinStore::new(&spin, &c, &instance);
    assert_eq!(now(store.ttl("k")), Some(Ok(Some(42))));
    assert_eq!(spin.opened.get(), 1);
}

#[test]
fn any_failure_drops_the_connection_and_the_next_request_opens_anew() {
    for failure in [
        Failure::TimedOut,
        Failure::Other("Connection reset by peer".into()),
        Failure::TooManyConnections,
    ] {
        let (spin, instance, c) = outbound();
        assert!(get(&spin, &c, &instance).is_ok());
        spin.replies.borrow_mut().push_back(Err(failure));
        assert_eq!(get(&spin, &c, &instance), Err(StoreError::Unavailable));
        assert!(!instance.connection.is_kept(), "dropped after the failure");
        assert!(get(&spin, &c, &instance).is_ok());
        assert_eq!(spin.opened.get(), 2, "a fresh connection after it");
    }
}

#[test]
fn a_failed_open_is_kept_for_no_one() {
    let (spin, instance, c) = outbound();
    spin.failing_open.set(true);
    assert_eq!(get(&spin, &c, &instance), Err(StoreError::Unavailable));
    assert!(!instance.connection.is_kept());
    spin.failing_open.set(false);
    assert!(get(&spin, &c, &instance).is_ok());
    assert!(instance.connection.is_kept());
}

#[test]
fn wrong_type_is_classified_whichever_way_spin_reports_it() {
    let (spin, instance, c) = outbound();
    spin.replies.borrow_mut().extend([
        Err(Failure::TypeError),
        Err(Failure::Other("WRONGTYPE Operation against a key".into())),
    ]);
    assert_eq!(get(&spin, &c, &instance), Err(StoreError::WrongType));
    assert_eq!(get(&spin, &c, &instance), Err(StoreError::WrongType));
}

#[test]
fn another_address_gets_its_own_connection() {
    let spin = FakeSpin::default();
    let instance = Instance::default();
    assert!(get(&spin, &config("outbound", "redis://a"), &instance).is_ok());
    assert!(get(&spin, &config("outbound", "redis://b"), &instance).is_ok());
    assert!(get(&spin, &config("outbound", "redis://b"), &instance).is_ok());
    assert_eq!(spin.opened.get(), 2);
}

#[test]
fn key_value_store_is_kept_and_has_no_ttl() {
    let spin = FakeSpin::default();
    let instance = Instance::default();
    let c = config("key_value", "");
    assert!(get(&spin, &c, &instance).is_ok());
    assert!(get(&spin, &c, &instance).is_ok());
    assert_eq!(spin.opened.get(), 1);
    let store = SpinStore::new(&spin, &c, &instance);
    assert_eq!(now(store.ttl("k")), Some(Ok(None)));
    spin.replies
        .borrow_mut()
        .push_back(Err(Failure::AccessDenied));
    assert_eq!(get(&spin, &c, &instance), Err(StoreError::Unavailable));
    assert!(!instance.key_value.is_kept());
}

#[test]
fn an_unknown_api_or_no_address_opens_nothing() {
    let spin = FakeSpin::default();
    let instance = Instance::default();
    assert_eq!(
        get(&spin, &config("memcached", "redis://r"), &instance),
        Err(StoreError::Unavailable)
    );
    let no_address = Config::resolved(Settings::new("outbound", "k", "*"), None);
    let store = SpinStore::new(&spin, &no_address, &instance);
    assert_eq!(now(store.ttl("k")), Some(Err(StoreError::Unavailable)));
    assert_eq!(spin.opened.get(), 0);
}

#[test]
fn concurrent_first_requests_keep_one_connection() {
    let (spin, instance, c) = outbound();
    spin.slow_connect.set(true);
    let (a, b) = (
        SpinStore::new(&spin, &c, &instance),
        SpinStore::new(&spin, &c, &instance),
    );
    let mut first = Box::pin(a.get("k"));
    let mut second = Box::pin(b.get("k"));
    let mut cx = Context::from_waker(Waker::noop());
    // Both start connecting before either has a connection to share.
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert!(first.as_mut().poll(&mut cx).is_ready());
    assert!(second.as_mut().poll(&mut cx).is_ready());
    assert_eq!(spin.opened.get(), 2, "two opens in the race");
    // The later request's connection is its own; the first one's stays kept.
    drop((first, second));
    spin.slow_connect.set(false);
    assert!(get(&spin, &c, &instance).is_ok());
    assert_eq!(
        spin.opened.get(),
        2,
        "no third open: one connection was kept"
    );
}

#[test]
fn forgetting_a_replaced_handle_leaves_the_new_one() {
    let kept = Kept::<u32>::default();
    let old = now(kept.get_or_open("a", || async { Ok(1) }))
        .unwrap()
        .unwrap();
    kept.forget(&old);
    let new = now(kept.get_or_open("a", || async { Ok(2) }))
        .unwrap()
        .unwrap();
    kept.forget(&old); // a late failure on the old connection
    assert!(kept.is_kept());
    let again = now(kept.get_or_open("a", || async { Ok(3) }))
        .unwrap()
        .unwrap();
    assert!(Rc::ptr_eq(&new, &again));
}
