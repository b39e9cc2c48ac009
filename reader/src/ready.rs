//! Driving a future whose work is already done, without an executor.
//!
//! The request flow is `async` (see [`crate::store::Store`]), but the WASIp2 build's Redis
//! calls block the guest and then hand back a finished answer, and the native tests' store
//! is a map: their futures are ready the first time they are polled. One poll with a waker
//! that does nothing is then the whole executor. A future that is still pending after it
//! has no reason to be is a bug, reported as `None` so the caller can answer with a defined
//! error instead of looping or panicking.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The future's output if it completes on its first poll, `None` if it is still pending.
pub fn now<F: Future>(future: F) -> Option<F::Output> {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_futures_complete_and_pending_ones_are_reported() {
        assert_eq!(now(async { 7 }), Some(7));
        assert_eq!(now(std::future::pending::<u8>()), None);
        // An async fn awaiting only ready work is itself ready on the first poll.
        async fn twice(x: u8) -> u8 {
            std::future::ready(x).await + std::future::ready(x).await
        }
        assert_eq!(now(twice(2)), Some(4));
    }
}
