//! `spin:key-value/key-value@3.0.0` on Redis: `fermyon:spin/key-value@2.0.0`
//! (`crate::key_value`) made async — the same allowed labels, the one shared connection
//! without a response timeout (Spin's), the same commands ([`key_value_commands`]) — with
//! each call a host task the guest may cancel. `get-keys` hands its keys over as a stream
//! and its outcome as a future, as the WASIp3 interface asks.

use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::bindings::spin::key_value::key_value::{Error, Host, HostStore, HostStoreWithStore};
use crate::key_value::{KeyValueStores, OpenStore, key_value_commands};
use crate::limits::Call;
use crate::view::{Interface, RequestView};

type View<'a> = RequestView<'a, KeyValueStores>;

impl Host for View<'_> {}

impl HostStore for View<'_> {
    fn drop(&mut self, handle: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// Writes `spin:key-value@3.0.0`'s method for each row of [`key_value_commands`].
macro_rules! v3_methods {
    ($($name:ident $command:literal($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident;)*) => {$(
        async fn $name(
            store: &Accessor<T, Self>,
            handle: Resource<OpenStore>,
            $($arg: $ty),*
        ) -> Result<$ret, Error> {
            let (backend, c) =
                store.with(|mut access| access.get().command(&handle, Call::$call))?;
            let arguments = |cmd: &mut redis::Cmd| {
                $(cmd.arg(&$arg);)*
            };
            Ok(backend.command(c, $command, arguments).await?)
        }
    )*};
}

impl<T: Send> HostStoreWithStore<T> for Interface<KeyValueStores> {
    async fn open(store: &Accessor<T, Self>, label: String) -> Result<Resource<OpenStore>, Error> {
        let stores = store.with(|mut access| access.get().opening());
        let opened = stores.open(&label).await?;
        Ok(store.with(|mut access| access.get().opened(opened))?)
    }

    key_value_commands!(v3_methods);

    async fn get_keys(
        store: &Accessor<T, Self>,
        handle: Resource<OpenStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let keys = match store.with(|mut access| access.get().command(&handle, Call::Read)) {
            Ok((backend, c)) => backend.keys(c).await.map_err(Error::from),
            Err(e) => Err(Error::from(e)),
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
