//! `spin:redis/redis@3.0.0` on a real Redis: `fermyon:spin/redis@2.0.0` (`crate::redis`)
//! made async — the same allow-list check, a new connection per `open`, the host's own
//! timeout on every connect and command, the same commands ([`redis_commands`]) and error
//! mapping — with each call a host task the guest may cancel.

use wasmtime::component::{Accessor, Resource};

use super::bindings::spin::redis::redis::{
    Error, Host, HostConnection, HostConnectionWithStore, RedisParameter, RedisResult,
};
use crate::bindings::redis as v2;
use crate::limits::Call;
use crate::redis::{RedisConnection, RedisOutbound, other, redis_commands, type_or_other};
use crate::view::{Interface, RequestView};

type View<'a> = RequestView<'a, RedisOutbound>;

impl Host for View<'_> {}

impl HostConnection for View<'_> {
    fn drop(&mut self, handle: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// Writes `spin:redis@3.0.0`'s method for each row of [`redis_commands`].
macro_rules! v3_methods {
    ($($name:ident $command:literal($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident, $map:ident;)*) => {$(
        async fn $name(
            store: &Accessor<T, Self>,
            handle: Resource<RedisConnection>,
            $($arg: $ty),*
        ) -> Result<$ret, Error> {
            let (app, c) = store.with(|mut access| access.get().command(&handle, Call::$call))?;
            let arguments = |cmd: &mut redis::Cmd| {
                $(cmd.arg(&$arg);)*
            };
            Ok(app.command(c, $command, arguments, $map).await?)
        }
    )*};
}

impl<T: Send> HostConnectionWithStore<T> for Interface<RedisOutbound> {
    async fn open(
        store: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<RedisConnection>, Error> {
        let app = store.with(|mut access| access.get().opening());
        let connection = app.open(&address).await?;
        Ok(store.with(|mut access| access.get().opened(connection))?)
    }

    redis_commands!(v3_methods);

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
        let (app, c) = store.with(|mut access| access.get().command(&handle, Call::Read))?;
        let results = crate::redis::execute(&app, c, &command_name, arguments).await?;
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
