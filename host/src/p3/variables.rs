//! `spin:variables/variables@3.0.0`: as `fermyon:spin/variables@2.0.0` (`crate::variables`),
//! the component's own variables by name, rendered again on every call and counted.

use wasmtime::component::Accessor;

use super::bindings::spin::variables::variables::{Error, Host, HostWithStore};
use crate::variables::{ResolvedVariables, validate_name};
use crate::view::{Interface, RequestView};

impl Host for RequestView<'_, ResolvedVariables> {}

impl<T: Send> HostWithStore<T> for Interface<ResolvedVariables> {
    async fn get(store: &Accessor<T, Self>, name: String) -> Result<String, Error> {
        store.with(|mut access| {
            let view = access.get();
            view.counters.variable_lookups += 1;
            if let Err(e) = validate_name(&name) {
                return Err(Error::InvalidName(e.to_string()));
            }
            view.app
                .get(&name)
                .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}")))
        })
    }
}
