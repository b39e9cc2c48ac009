//! Host-side bindings for the Spin interfaces the reader imports, generated from the WIT in
//! `host/wit/` (copied from spin-sdk 5.2; see `host/wit/NOTICE`).
//!
//! All imports are `async` on the host so a Redis round trip yields the tokio thread instead
//! of blocking it. The `connection` resource is backed by [`crate::redis::RedisConnection`]
//! in the store's resource table, the key-value `store` by
//! [`crate::key_value::OpenStore`].

wasmtime::component::bindgen!({
    path: "wit",
    world: "fermyon:spin/reader-imports",
    imports: { default: async },
    with: {
        "fermyon:spin/redis.connection": crate::redis::RedisConnection,
        "fermyon:spin/key-value.store": crate::key_value::OpenStore,
    },
});

pub use fermyon::spin::{key_value, redis, variables};
