//! What a Spin interface's implementation sees of one request's store data.
//!
//! `redis.rs`, `key_value.rs` and `variables.rs` each implement their interface on a
//! [`RequestView`] of their own app-wide part (the outbound Redis, the key-value stores,
//! the resolved variables) together with the request's resource table and counters. The
//! runtime hands these views out per interface, as wasmtime-wasi hands out `WasiCtxView`,
//! so the interface modules need nothing of the runtime's: it imports them, never the other
//! way round.

use std::marker::PhantomData;
use std::sync::Arc;

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::limits::{Call, CallTally};

/// One request's view for the interface whose app-wide part is `A`.
pub struct RequestView<'a, A> {
    /// The request's resource table (connections, open stores).
    pub table: &'a mut ResourceTable,
    /// What the interface shares across requests (an `Arc`, so an async WASIp3 call can
    /// clone it and await without holding the store).
    pub app: &'a Arc<A>,
    /// What the store's requests asked the host for (the host-call budget).
    pub counters: &'a CallTally,
}

impl<'a, A> RequestView<'a, A> {
    pub fn new(
        table: &'a mut ResourceTable,
        app: &'a Arc<A>,
        counters: &'a CallTally,
    ) -> RequestView<'a, A> {
        RequestView {
            table,
            app,
            counters,
        }
    }
}

impl<A> RequestView<'_, A> {
    /// An `open` of the interface, counted: the app-wide part to open with (an `Arc`, so
    /// the open can be awaited without the store).
    pub fn opening(&self) -> Arc<A> {
        self.counters.count(Call::Open);
        self.app.clone()
    }

    /// What a command on the guest's resource `handle` needs — `take` of the resource and
    /// the app-wide part, typically clones, so the command runs without a borrow of the
    /// table — with `call` counted; `None` when the handle names nothing.
    pub fn command_on<R: 'static, T>(
        &self,
        handle: &Resource<R>,
        call: Call,
        take: impl FnOnce(&R, &Arc<A>) -> T,
    ) -> Option<T> {
        let taken = take(self.table.get(handle).ok()?, self.app);
        self.counters.count(call);
        Some(taken)
    }
}

/// The `HasData` marker that links an interface to a [`RequestView`] of `A`.
pub struct Interface<A>(PhantomData<fn() -> A>);

impl<A: 'static> HasData for Interface<A> {
    type Data<'a> = RequestView<'a, A>;
}
