//! Spin 4's WASIp3 interfaces for the reader's second build: `spin:redis@3.0.0`,
//! `spin:key-value@3.0.0` and `spin:variables@3.0.0`, where every function is `async`.
//!
//! They behave as the WASIp2 ones (`redis.rs`, `key_value.rs`, `variables.rs`), which they
//! reuse: the same allow-list, connections, bounds, counters and error texts. What is new
//! is how a call runs: as a concurrent host task (wasmtime's component-model-async) that
//! the guest may abandon. When the guest's timer wins a race and it drops the call, wasmtime
//! cancels the task and drops its future — the half-open connect or the unanswered read —
//! so an abandoned call keeps nothing open. (On the key-value store the command itself
//! stays queued on the shared connection: Spin's wedge, see `key_value.rs`.)
//!
//! Each implementation reads what it needs out of the store (`Accessor::with`), awaits the
//! Redis call without holding the store, and puts the result back; that is why the views'
//! app-wide parts are `Arc`s (`view.rs`).

mod bindings;
mod key_value;
mod redis;
mod variables;

use wasmtime::component::Linker;

use crate::key_value::KeyValueStores;
use crate::redis::RedisOutbound;
use crate::variables::ResolvedVariables;
use crate::view::{Interface, RequestView};

pub use bindings::spin;

/// `From` the WASIp2 interface's error to the WASIp3 one's: the same variants, those without
/// a payload before the `;`, those carrying a text after it.
macro_rules! same_error {
    ($from:path => $to:path { $($unit:ident),* ; $($text:ident),* }) => {
        impl From<$from> for $to {
            fn from(e: $from) -> $to {
                use $from as From;
                use $to as To;
                match e {
                    $(From::$unit => To::$unit,)*
                    $(From::$text(text) => To::$text(text),)*
                }
            }
        }
    };
}

same_error!(crate::bindings::redis::Error => spin::redis::redis::Error {
    InvalidAddress, TooManyConnections, TypeError; Other
});
same_error!(crate::bindings::key_value::Error => spin::key_value::key_value::Error {
    StoreTableFull, NoSuchStore, AccessDenied; Other
});
same_error!(crate::bindings::variables::Error => spin::variables::variables::Error {
    ; InvalidName, Undefined, Provider, Other
});

/// The parts of a store's data the Spin interfaces see (both versions: the WASIp2 linker in
/// `runtime.rs` takes its views from here too).
pub trait SpinView: Send + 'static {
    fn redis(&mut self) -> RequestView<'_, RedisOutbound>;
    fn key_value(&mut self) -> RequestView<'_, KeyValueStores>;
    fn variables(&mut self) -> RequestView<'_, ResolvedVariables>;
}

/// Adds the three Spin 4 interfaces to `linker`.
pub fn add_to_linker<T: SpinView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    spin::redis::redis::add_to_linker::<_, Interface<RedisOutbound>>(linker, T::redis)?;
    spin::key_value::key_value::add_to_linker::<_, Interface<KeyValueStores>>(
        linker,
        T::key_value,
    )?;
    spin::variables::variables::add_to_linker::<_, Interface<ResolvedVariables>>(
        linker,
        T::variables,
    )?;
    Ok(())
}
