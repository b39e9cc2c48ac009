//! `spin:redis/redis@3.0.0` on a real Redis: `fermyon:spin/redis@2.0.0` (`crate::redis`)
//! made async — the same allow-list check, a new connection per `open`, the host's own
//! timeout on every connect and command, the same error mapping — with each call a host
//! task the guest may cancel.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use wasmtime::component::{Accessor, Resource};

use super::bindings::spin::redis::redis::{
    Error, Host, HostConnection, HostConnectionWithStore, RedisParameter, RedisResult,
};
use crate::bindings::redis as v2;
use crate::redis::{RedisConnection, RedisOutbound, bounded, other, type_or_other};
use crate::view::{Interface, RequestView};

type View<'a> = RequestView<'a, RedisOutbound>;

impl Host for View<'_> {}

impl HostConnection for View<'_> {
    fn drop(&mut self, handle: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// The WASIp2 interface's error as this one's (the same variants).
fn from_v2(e: v2::Error) -> Error {
    match e {
        v2::Error::InvalidAddress => Error::InvalidAddress,
        v2::Error::TooManyConnections => Error::TooManyConnections,
        v2::Error::TypeError => Error::TypeError,
        v2::Error::Other(text) => Error::Other(text),
    }
}

/// Counts one command (and a read when `read`) and hands out what running it needs: the
/// app-wide part and a handle on the guest's connection.
fn command<T: Send>(
    store: &Accessor<T, Interface<RedisOutbound>>,
    handle: &Resource<RedisConnection>,
    read: bool,
) -> Result<(std::sync::Arc<RedisOutbound>, MultiplexedConnection), Error> {
    store.with(|mut access| {
        let view = access.get();
        let connection = view
            .table
            .get(handle)
            .map(RedisConnection::handle)
            .map_err(|_| Error::Other("could not find connection for resource".into()))?;
        view.counters.redis_commands += 1;
        if read {
            view.counters.redis_reads += 1;
        }
        Ok((view.app.clone(), connection))
    })
}

impl<T: Send> HostConnectionWithStore<T> for Interface<RedisOutbound> {
    async fn open(
        store: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<RedisConnection>, Error> {
        let app = store.with(|mut access| {
            let view = access.get();
            view.counters.redis_opens += 1;
            view.app.clone()
        });
        let connection = app.open(&address).await.map_err(from_v2)?;
        store.with(|mut access| {
            access
                .get()
                .table
                .push(connection)
                .map_err(|_| Error::TooManyConnections)
        })
    }

    async fn publish(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("PUBLISH", c.publish::<_, _, ()>(&channel, &payload), other)
            .await
            .map_err(from_v2)
    }

    async fn get(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let (app, mut c) = command(store, &handle, true)?;
        let value = app
            .run("GET", c.get::<_, Option<Vec<u8>>>(&key), other)
            .await
            .map_err(from_v2)?;
        bounded(value).map_err(Error::Other)
    }

    async fn set(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("SET", c.set::<_, _, ()>(&key, &value), other)
            .await
            .map_err(from_v2)
    }

    async fn incr(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
    ) -> Result<i64, Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("INCR", c.incr(&key, 1), other)
            .await
            .map_err(from_v2)
    }

    async fn del(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("DEL", c.del(&keys), other).await.map_err(from_v2)
    }

    async fn sadd(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("SADD", c.sadd(&key, &values), type_or_other)
            .await
            .map_err(from_v2)
    }

    async fn smembers(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, Error> {
        let (app, mut c) = command(store, &handle, true)?;
        app.run("SMEMBERS", c.smembers(&key), other)
            .await
            .map_err(from_v2)
    }

    async fn srem(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        let (app, mut c) = command(store, &handle, false)?;
        app.run("SREM", c.srem(&key, &values), other)
            .await
            .map_err(from_v2)
    }

    async fn execute(
        store: &Accessor<T, Self>,
        handle: Resource<RedisConnection>,
        command_name: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let arguments = arguments
            .into_iter()
            .map(|a| match a {
                RedisParameter::Int64(v) => v2::RedisParameter::Int64(v),
                RedisParameter::Binary(v) => v2::RedisParameter::Binary(v),
            })
            .collect();
        let (app, c) = command(store, &handle, true)?;
        let results = crate::redis::execute(&app, c, &command_name, arguments)
            .await
            .map_err(from_v2)?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                v2::RedisResult::Nil => RedisResult::Nil,
                v2::RedisResult::Status(s) => RedisResult::Status(s),
                v2::RedisResult::Int64(v) => RedisResult::Int64(v),
                v2::RedisResult::Binary(v) => RedisResult::Binary(v),
            })
            .collect())
    }
}
