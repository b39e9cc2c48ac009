//! `spin:key-value/key-value@3.0.0` on Redis: `fermyon:spin/key-value@2.0.0`
//! (`crate::key_value`) made async — the same allowed labels, the one shared connection,
//! the host's own timeout on every command — with each call a host task the guest may
//! cancel. `get-keys` hands its keys over as a stream and its outcome as a future, as the
//! WASIp3 interface asks.

use std::sync::Arc;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::bindings::spin::key_value::key_value::{Error, Host, HostStore, HostStoreWithStore};
use crate::bindings::key_value as v2;
use crate::key_value::{KeyValueStores, OpenStore, RedisStore};
use crate::redis::{bounded, reply_within_limit};
use crate::view::{Interface, RequestView};

type View<'a> = RequestView<'a, KeyValueStores>;

impl Host for View<'_> {}

impl HostStore for View<'_> {
    fn drop(&mut self, handle: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// The WASIp2 interface's error as this one's (the same variants).
fn from_v2(e: v2::Error) -> Error {
    match e {
        v2::Error::StoreTableFull => Error::StoreTableFull,
        v2::Error::NoSuchStore => Error::NoSuchStore,
        v2::Error::AccessDenied => Error::AccessDenied,
        v2::Error::Other(text) => Error::Other(text),
    }
}

/// Counts one command (and a read when `read`) and hands out the store and a handle on its
/// connection.
fn command<T: Send>(
    store: &Accessor<T, Interface<KeyValueStores>>,
    handle: &Resource<OpenStore>,
    read: bool,
) -> Result<(Arc<RedisStore>, ConnectionManager), Error> {
    store.with(|mut access| {
        let view = access.get();
        let handles = view
            .table
            .get(handle)
            .map(OpenStore::handles)
            .map_err(|_| Error::Other("could not find store for resource".into()))?;
        view.counters.redis_commands += 1;
        if read {
            view.counters.redis_reads += 1;
        }
        Ok(handles)
    })
}

impl<T: Send> HostStoreWithStore<T> for Interface<KeyValueStores> {
    async fn open(store: &Accessor<T, Self>, label: String) -> Result<Resource<OpenStore>, Error> {
        let stores = store.with(|mut access| {
            let view = access.get();
            view.counters.redis_opens += 1;
            view.app.clone()
        });
        let opened = stores.open(&label).await.map_err(from_v2)?;
        store.with(|mut access| {
            let view = access.get();
            view.counters.redis_commands += 1; // the PING
            view.table.push(opened).map_err(|_| Error::StoreTableFull)
        })
    }

    async fn get(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let (backend, mut c) = command(store, &handle, true)?;
        let value = backend
            .run("GET", c.get::<_, Option<Vec<u8>>>(&key))
            .await
            .map_err(from_v2)?;
        bounded(value).map_err(Error::Other)
    }

    async fn set(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let (backend, mut c) = command(store, &handle, false)?;
        backend
            .run("SET", c.set::<_, _, ()>(&key, &value))
            .await
            .map_err(from_v2)
    }

    async fn delete(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<(), Error> {
        let (backend, mut c) = command(store, &handle, false)?;
        backend
            .run("DEL", c.del::<_, ()>(&key))
            .await
            .map_err(from_v2)
    }

    async fn exists(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
        key: String,
    ) -> Result<bool, Error> {
        let (backend, mut c) = command(store, &handle, true)?;
        backend.run("EXISTS", c.exists(&key)).await.map_err(from_v2)
    }

    async fn get_keys(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let keys = match command(store, &handle, true) {
            Ok((backend, mut c)) => backend
                .run("KEYS", c.keys::<_, Vec<String>>("*"))
                .await
                .map_err(from_v2)
                .and_then(|keys| {
                    let size: usize = keys.iter().map(String::len).sum();
                    reply_within_limit(size).map_err(Error::Other)?;
                    Ok(keys)
                }),
            Err(e) => Err(e),
        };
        let (keys, outcome) = match keys {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(e)),
        };
        store.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let done = async move { Ok::<_, wasmtime::Error>(outcome) };
            let future = FutureReader::<Result<(), Error>>::new(&mut access, done)?;
            Ok((stream, future))
        })
    }
}
