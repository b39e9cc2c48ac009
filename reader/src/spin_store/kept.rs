//! A handle the component instance keeps between requests: opened by the first request
//! that needs it, shared by later and concurrent ones, dropped after any failure.
//!
//! Spin 4 reuses one WASIp3 instance for many requests (up to 128, 16 at a time) and its
//! outbound Redis connection is multiplexed, so one connection serves them all: the
//! connect and handshake are paid once per instance, not per request. Its lifetime is the
//! reader's, not the host's: a call that fails or times out takes the handle out (see
//! [`Kept::forget`]) and the next request opens a fresh one, so a wedged connection costs
//! at most the one bounded request that found it. Under Spin 3 each WASIp2 instance serves
//! one request, so the kept handle lives exactly as long as the per-request one did.
//!
//! An instance runs one piece of guest code at a time (no threads), so a `RefCell` is the
//! whole synchronisation: no borrow is held across an `await`.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use super::Failure;

/// A kept handle and what it was opened for (the connection URL, the store label): a
/// request whose settings name another is not handed this one.
pub struct Kept<H> {
    slot: RefCell<Option<(String, Rc<H>)>>,
}

impl<H> Default for Kept<H> {
    fn default() -> Self {
        Kept {
            slot: RefCell::new(None),
        }
    }
}

impl<H> Kept<H> {
    /// The kept handle for `target`, or a new one from `open`, kept unless another request
    /// kept one for `target` while this one was opening (then this request uses its own,
    /// dropped when it ends: two opens in a race, not two kept connections).
    pub async fn get_or_open<F>(
        &self,
        target: &str,
        open: impl FnOnce() -> F,
    ) -> Result<Rc<H>, Failure>
    where
        F: Future<Output = Result<H, Failure>>,
    {
        if let Some(handle) = self.current(target) {
            return Ok(handle);
        }
        let handle = Rc::new(open().await?);
        let mut slot = self.slot.borrow_mut();
        if !matches!(&*slot, Some((kept, _)) if kept == target) {
            *slot = Some((target.to_owned(), Rc::clone(&handle)));
        }
        Ok(handle)
    }

    /// Drops `handle` from the instance if it is the kept one; requests still using it
    /// finish with their clone, and the next request opens anew. A handle that is no
    /// longer kept (another request already replaced it) leaves the new one alone.
    pub fn forget(&self, handle: &Rc<H>) {
        let mut slot = self.slot.borrow_mut();
        if matches!(&*slot, Some((_, kept)) if Rc::ptr_eq(kept, handle)) {
            *slot = None;
        }
    }

    fn current(&self, target: &str) -> Option<Rc<H>> {
        match &*self.slot.borrow() {
            Some((kept, handle)) if kept == target => Some(Rc::clone(handle)),
            _ => None,
        }
    }

    /// Whether a handle is kept (tests).
    #[cfg(test)]
    pub fn is_kept(&self) -> bool {
        self.slot.borrow().is_some()
    }
}
