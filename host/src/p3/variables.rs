//! `spin:variables/variables@3.0.0`: as `fermyon:spin/variables@2.0.0` (`crate::variables`),
//! the component's own variables by name, rendered again on every call and counted.

use wasmtime::component::Accessor;

use super::bindings::spin::variables::variables::{Error, Host, HostWithStore};
use crate::variables::ResolvedVariables;
use crate::view::{Interface, RequestView};

impl Host for RequestView<'_, ResolvedVariables> {}

impl<T: Send> HostWithStore<T> for Interface<ResolvedVariables> {
    async fn get(store: &Accessor<T, Self>, name: String) -> Result<String, Error> {
        Ok(store.with(|mut access| access.get().lookup(&name))?)
    }
}
