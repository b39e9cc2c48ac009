//! One request's bound on Redis: every open and read is raced against a `wasi:clocks`
//! timer that fires at the same instant, `redis_timeout_ms` after the request's first Redis
//! call. So the request's Redis time as a whole, not just each call's, stays within the
//! bound: a slow open leaves less for the read instead of adding to it.
//!
//! The race is a plain future, awaited by the request's task: while both are pending the
//! task is parked in the event loop and the instance serves its other requests. When the
//! timer wins, the call's future is dropped, which cancels the host call: the host drops
//! what it was waiting on (a half-open connection, a read that never answers) instead of
//! keeping it.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use spin_sdk_7::wasip3::clocks::monotonic_clock;

/// The instant (`wasi:clocks/monotonic-clock` nanoseconds) a request's Redis calls must end by.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: monotonic_clock::Mark,
}

/// What a call that did not end in time was.
#[derive(Debug, Clone, Copy)]
pub struct TimedOut;

impl Deadline {
    /// `timeout_ms` from now.
    pub fn after_ms(timeout_ms: u64) -> Deadline {
        Deadline {
            at: monotonic_clock::now().saturating_add(timeout_ms.saturating_mul(1_000_000)),
        }
    }

    /// `call`'s output, or [`TimedOut`] if the deadline comes first.
    pub async fn run<T>(&self, call: impl Future<Output = T>) -> Result<T, TimedOut> {
        let mut call = pin!(call);
        let mut timer = pin!(monotonic_clock::wait_until(self.at));
        poll_fn(|cx| {
            // The call first: an answer that is ready when the timer fires still counts.
            if let Poll::Ready(value) = call.as_mut().poll(cx) {
                return Poll::Ready(Ok(value));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(TimedOut));
            }
            Poll::Pending
        })
        .await
    }
}
