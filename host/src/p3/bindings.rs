//! Host-side bindings for the WASIp3 Spin interfaces, generated from `host/wit-p3/` (copied
//! from spin-sdk 7.0.0; see `host/wit-p3/NOTICE`). Every function of these interfaces is a
//! WIT `async func`, which wasmtime binds as a concurrent host task (`...WithStore` traits
//! taking an `Accessor`). The resources are the WASIp2 host's own types.

wasmtime::component::bindgen!({
    path: "wit-p3",
    world: "reader-host:p3/reader-imports",
    // Its stream and future are made in the store, which can fail: a trap, not a panic.
    imports: {
        "spin:key-value/key-value.[method]store.get-keys": trappable,
    },
    with: {
        "spin:redis/redis.connection": crate::redis::RedisConnection,
        "spin:key-value/key-value.store": crate::key_value::OpenStore,
    },
    require_store_data_send: true,
});
