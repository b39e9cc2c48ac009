//! Per-request resource limits and the counters that make them visible.
//!
//! Every store gets a [`MemoryLimiter`]: it refuses to grow a linear memory past the cap (so
//! one bad request cannot take the host's memory) and remembers the largest size any memory
//! reached. When a request ends, the peak its store has reached goes into [`Stats`], which is
//! how the benchmarks measure "peak linear memory per request" (a WASIp2 store serves one
//! request; a WASIp3 one up to `--max-instance-reuse-count`, as Spin 4 reuses instances, so
//! there it is the instance's peak so far).
//!
//! What each request asked the host for is tallied in its store's [`CallTally`] and reported
//! when the request ends, so the per-request budget holds with reused instances too.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default cap on one request's linear memory.
pub const DEFAULT_MAX_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Default cap on one table's elements (a Rust component has one small table).
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;

/// A [`wasmtime::ResourceLimiter`] that caps and records linear memory per store.
#[derive(Debug, Clone)]
pub struct MemoryLimiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    /// Shared with the end of each request (a reused WASIp3 store outlives its requests).
    peak_memory_bytes: Arc<AtomicUsize>,
    refused_growths: u64,
}

impl MemoryLimiter {
    pub fn new(max_memory_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_memory_bytes,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            peak_memory_bytes: Arc::default(),
            refused_growths: 0,
        }
    }

    /// The largest size any linear memory of the store reached, in bytes.
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes.load(Ordering::Relaxed)
    }

    /// A handle on the peak, read when a request of the store ends.
    pub fn peak_handle(&self) -> Arc<AtomicUsize> {
        self.peak_memory_bytes.clone()
    }

    pub fn refused_growths(&self) -> u64 {
        self.refused_growths
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_memory_bytes && maximum.is_none_or(|m| desired <= m);
        if allowed {
            self.peak_memory_bytes.fetch_max(desired, Ordering::Relaxed);
        } else {
            self.refused_growths += 1;
        }
        // Refusing (rather than trapping) lets the guest's allocator see a failed
        // `memory.grow`, which for Rust ends in an abort: the request fails with a 500.
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements && maximum.is_none_or(|m| desired <= m))
    }
}

/// What one request asked the host for: the per-request host-call budget is held against
/// these. Tallied in the store ([`CallTally`]), added to [`Stats`] when the request ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounters {
    /// `fermyon:spin/variables.get` calls.
    pub variable_lookups: u64,
    /// Outbound `connection.open` and key-value `store.open` calls.
    pub redis_opens: u64,
    /// Commands sent to Redis on the request's behalf (a key-value open's `PING` included).
    pub redis_commands: u64,
    /// Of those, reads of a key (`GET`, `EXISTS`, `KEYS`; `execute` counts as one).
    pub redis_reads: u64,
}

/// One host call a request makes, as the budget counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// A variable lookup.
    Lookup,
    /// An outbound `open` or a key-value `open`.
    Open,
    /// A command that reads no key (`SET`, `DEL`, `PUBLISH`, a key-value open's `PING`).
    Command,
    /// A command that reads a key (`GET`, `EXISTS`, `KEYS`, `execute`).
    Read,
}

/// The host calls a store's requests made, shared by the store's interfaces (which add to
/// it) and the requests' ends (which report what was added since the last report). A store
/// that serves one request at a time reports each request exactly; when a reused WASIp3
/// instance serves several at once, a request's report may include calls of one that
/// overlapped it (the totals stay exact).
#[derive(Debug, Default)]
pub struct CallTally {
    /// (everything so far, what has been reported).
    book: Mutex<(RequestCounters, RequestCounters)>,
}

impl CallTally {
    pub fn count(&self, call: Call) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let total = &mut book.0;
        match call {
            Call::Lookup => total.variable_lookups += 1,
            Call::Open => total.redis_opens += 1,
            Call::Command => total.redis_commands += 1,
            Call::Read => {
                total.redis_commands += 1;
                total.redis_reads += 1;
            }
        }
    }

    /// What was counted since the previous call (or since the store was made).
    pub fn since_last_report(&self) -> RequestCounters {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let (total, reported) = *book;
        book.1 = total;
        RequestCounters {
            variable_lookups: total.variable_lookups - reported.variable_lookups,
            redis_opens: total.redis_opens - reported.redis_opens,
            redis_commands: total.redis_commands - reported.redis_commands,
            redis_reads: total.redis_reads - reported.redis_reads,
        }
    }
}

/// Host-wide counters, updated lock-free by every request.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    /// Requests that reached the component (matched a route).
    component_requests: AtomicU64,
    not_found: AtomicU64,
    guest_failures: AtomicU64,
    instantiate_nanos_total: AtomicU64,
    instantiate_nanos_max: AtomicU64,
    handle_nanos_total: AtomicU64,
    peak_memory_bytes_max: AtomicU64,
    peak_memory_bytes_total: AtomicU64,
    memory_growths_refused: AtomicU64,
    redis_connections_opened: AtomicU64,
    redis_open_refused: AtomicU64,
    redis_errors: AtomicU64,
    redis_timeouts: AtomicU64,
    redis_nanos_total: AtomicU64,
    outgoing_http_refused: AtomicU64,
    requests_finished: AtomicU64,
    variable_lookups: AtomicU64,
    variable_lookups_max: AtomicU64,
    redis_opens: AtomicU64,
    redis_opens_max: AtomicU64,
    redis_commands: AtomicU64,
    redis_commands_max: AtomicU64,
    redis_reads: AtomicU64,
    redis_reads_max: AtomicU64,
}

/// A copy of [`Stats`] at one moment, with the derived per-request means.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub component_requests: u64,
    pub not_found: u64,
    pub guest_failures: u64,
    /// Mean time to create the store and instantiate the pre-linked component.
    pub instantiate_mean_us: f64,
    pub instantiate_max_us: f64,
    /// Mean time from instantiation to the response head (includes the Redis round trips).
    pub handle_mean_us: f64,
    /// Largest linear memory any request reached.
    pub peak_memory_bytes_max: u64,
    pub peak_memory_bytes_mean: f64,
    pub memory_growths_refused: u64,
    pub redis_connections_opened: u64,
    /// `open` calls refused because the address is not in `allowed_outbound_hosts`.
    pub redis_open_refused: u64,
    pub redis_errors: u64,
    pub redis_timeouts: u64,
    /// Mean time per component request spent in Redis connects and commands (host side),
    /// so that `handle_mean_us - redis_mean_us` is roughly the guest's own cost.
    pub redis_mean_us: f64,
    pub outgoing_http_refused: u64,
    /// Requests whose store has been dropped: their counters below are complete.
    pub requests_finished: u64,
    /// Totals of [`RequestCounters`] over finished requests, and the largest value any one
    /// request reached (`*_max`).
    pub variable_lookups: u64,
    pub variable_lookups_max: u64,
    pub redis_opens: u64,
    pub redis_opens_max: u64,
    pub redis_commands: u64,
    pub redis_commands_max: u64,
    pub redis_reads: u64,
    pub redis_reads_max: u64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A host-wide event counted one at a time in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A request arrived.
    Request,
    /// It matched no route.
    NotFound,
    /// The guest trapped, failed or answered nothing.
    GuestFailure,
    /// A Redis connection was made.
    RedisOpened,
    /// A Redis `open` was refused before connecting.
    RedisRefused,
    /// A Redis connect or command failed.
    RedisError,
    /// A Redis connect or command ran out of time.
    RedisTimeout,
    /// An outgoing HTTP request was refused.
    OutgoingHttpRefused,
}

impl Stats {
    pub(crate) fn count(&self, event: Event) {
        let counter = match event {
            Event::Request => &self.requests,
            Event::NotFound => &self.not_found,
            Event::GuestFailure => &self.guest_failures,
            Event::RedisOpened => &self.redis_connections_opened,
            Event::RedisRefused => &self.redis_open_refused,
            Event::RedisError => &self.redis_errors,
            Event::RedisTimeout => &self.redis_timeouts,
            Event::OutgoingHttpRefused => &self.outgoing_http_refused,
        };
        add(counter, 1);
    }
    /// A request reached the component; [`Stats::request_finished`] follows exactly once.
    pub(crate) fn request_started(&self) {
        add(&self.component_requests, 1);
    }
    /// An instance was made (once per request for WASIp2; once per reused instance for
    /// WASIp3, so the mean per request is what instantiating costs a request on average).
    pub(crate) fn instantiated(&self, took: Duration) {
        add(&self.instantiate_nanos_total, nanos(took));
        self.instantiate_nanos_max
            .fetch_max(nanos(took), Ordering::Relaxed);
    }
    pub(crate) fn handled(&self, took: Duration) {
        add(&self.handle_nanos_total, nanos(took));
    }
    /// A request ended: its host calls are in, and the peak its store's memory has reached.
    pub(crate) fn request_finished(&self, counters: &RequestCounters, peak_memory_bytes: usize) {
        let peak = peak_memory_bytes as u64;
        self.peak_memory_bytes_max
            .fetch_max(peak, Ordering::Relaxed);
        add(&self.peak_memory_bytes_total, peak);
        for (total, max, n) in [
            (
                &self.variable_lookups,
                &self.variable_lookups_max,
                counters.variable_lookups,
            ),
            (
                &self.redis_opens,
                &self.redis_opens_max,
                counters.redis_opens,
            ),
            (
                &self.redis_commands,
                &self.redis_commands_max,
                counters.redis_commands,
            ),
            (
                &self.redis_reads,
                &self.redis_reads_max,
                counters.redis_reads,
            ),
        ] {
            add(total, n);
            max.fetch_max(n, Ordering::Relaxed);
        }
        // Last, so that a reader who sees the request finished sees all of its counters.
        self.requests_finished.fetch_add(1, Ordering::Release);
    }
    /// A store was dropped: its refused memory growths are in.
    pub(crate) fn store_dropped(&self, limiter: &MemoryLimiter) {
        add(&self.memory_growths_refused, limiter.refused_growths());
    }
    pub(crate) fn redis_time(&self, took: Duration) {
        add(&self.redis_nanos_total, nanos(took));
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let component_requests = get(&self.component_requests);
        let per_request = |total: u64| {
            if component_requests == 0 {
                0.0
            } else {
                total as f64 / component_requests as f64
            }
        };
        StatsSnapshot {
            requests: get(&self.requests),
            component_requests,
            not_found: get(&self.not_found),
            guest_failures: get(&self.guest_failures),
            instantiate_mean_us: per_request(get(&self.instantiate_nanos_total)) / 1000.0,
            instantiate_max_us: get(&self.instantiate_nanos_max) as f64 / 1000.0,
            handle_mean_us: per_request(get(&self.handle_nanos_total)) / 1000.0,
            peak_memory_bytes_max: get(&self.peak_memory_bytes_max),
            peak_memory_bytes_mean: per_request(get(&self.peak_memory_bytes_total)),
            memory_growths_refused: get(&self.memory_growths_refused),
            redis_connections_opened: get(&self.redis_connections_opened),
            redis_open_refused: get(&self.redis_open_refused),
            redis_errors: get(&self.redis_errors),
            redis_timeouts: get(&self.redis_timeouts),
            redis_mean_us: per_request(get(&self.redis_nanos_total)) / 1000.0,
            outgoing_http_refused: get(&self.outgoing_http_refused),
            requests_finished: self.requests_finished.load(Ordering::Acquire),
            variable_lookups: get(&self.variable_lookups),
            variable_lookups_max: get(&self.variable_lookups_max),
            redis_opens: get(&self.redis_opens),
            redis_opens_max: get(&self.redis_opens_max),
            redis_commands: get(&self.redis_commands),
            redis_commands_max: get(&self.redis_commands_max),
            redis_reads: get(&self.redis_reads),
            redis_reads_max: get(&self.redis_reads_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn limiter_caps_and_records_peak() {
        let mut l = MemoryLimiter::new(1 << 20);
        assert!(l.memory_growing(0, 65536, None).unwrap());
        assert!(l.memory_growing(65536, 1 << 20, None).unwrap());
        assert!(!l.memory_growing(1 << 20, (1 << 20) + 65536, None).unwrap());
        assert!(!l.memory_growing(0, 65536, Some(1)).unwrap());
        assert_eq!(l.peak_memory_bytes(), 1 << 20);
        assert_eq!(l.refused_growths(), 2);
    }

    #[test]
    fn snapshot_means() {
        let s = Stats::default();
        for took in [100, 300] {
            s.request_started();
            s.instantiated(Duration::from_micros(took));
        }
        let mut l = MemoryLimiter::new(1 << 30);
        l.memory_growing(0, 2 << 20, None).unwrap();
        let tally = CallTally::default();
        for call in [
            Call::Lookup,
            Call::Lookup,
            Call::Open,
            Call::Command,
            Call::Read,
        ] {
            tally.count(call);
        }
        s.request_finished(&tally.since_last_report(), l.peak_memory_bytes());
        s.store_dropped(&l);
        s.request_finished(&tally.since_last_report(), l.peak_memory_bytes());
        s.store_dropped(&l);
        let snap = s.snapshot();
        assert_eq!(snap.component_requests, 2);
        assert!((snap.instantiate_mean_us - 200.0).abs() < 1e-6);
        assert_eq!(snap.peak_memory_bytes_max, 2 << 20);
        assert_eq!(snap.requests_finished, 2);
        assert_eq!((snap.variable_lookups, snap.variable_lookups_max), (2, 2));
        assert_eq!((snap.redis_commands, snap.redis_reads_max), (2, 1));
    }
}
