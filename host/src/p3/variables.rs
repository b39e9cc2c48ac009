//! `spin:variables/variables@3.0.0`: as `fermyon:spin/variables@2.0.0` (`crate::variables`),
//! the component's own variables by name, rendered again on every call and counted.

use wasmtime::component::Accessor;

use super::bindings::spin::variables::variables::{Error, Host, HostWithStore};
use crate::bindings::variables as v2;
use crate::variables::ResolvedVariables;
use crate::view::{Interface, RequestView};

impl Host for RequestView<'_, ResolvedVariables> {}

impl<T: Send> HostWithStore<T> for Interface<ResolvedVariables> {
    async fn get(store: &Accessor<T, Self>, name: String) -> Result<String, Error> {
        store
            .with(|mut access| access.get().lookup(&name))
            .map_err(|e| match e {
                v2::Error::InvalidName(text) => Error::InvalidName(text),
                v2::Error::Undefined(text) => Error::Undefined(text),
                v2::Error::Provider(text) => Error::Provider(text),
                v2::Error::Other(text) => Error::Other(text),
            })
    }
}
