//! The reader's settings as the Spin variables both servers (`spin up` and `reader-host`)
//! take from the environment; `cargo xtask test`'s contract step starts the reader with the
//! same ones.

use crate::endpoint::ServiceUrl;

/// The reader's Redis settings as Spin variables: `redis_address` is only
/// `redis://host[:port]` (it doubles as the allow-list entry, which takes neither
/// credentials nor a path), credentials go in `redis_user`/`redis_password`. The reader always
/// uses database 0.
pub(crate) fn reader_redis_variables(url: &ServiceUrl) -> Vec<(&'static str, String)> {
    if let Some(db) = url.path().filter(|db| *db != "0") {
        eprintln!(
            "xtask: warning: the reader always uses Redis database 0, but REDIS_URL selects \
             database {db}; the refresher writes there, so the reader will not find the document"
        );
    }
    let mut vars = vec![("SPIN_VARIABLE_REDIS_ADDRESS", url.origin().expose())];
    if let Some(user) = url.user() {
        vars.push(("SPIN_VARIABLE_REDIS_USER", user));
    }
    if let Some(password) = url.password() {
        vars.push(("SPIN_VARIABLE_REDIS_PASSWORD", password));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_variables_split_credentials_from_the_address() {
        let url = ServiceUrl::parse("redis://status-reader:s%3Acret@127.0.0.1:6379/0").unwrap();
        assert_eq!(
            reader_redis_variables(&url),
            vec![
                (
                    "SPIN_VARIABLE_REDIS_ADDRESS",
                    "redis://127.0.0.1:6379".to_owned()
                ),
                ("SPIN_VARIABLE_REDIS_USER", "status-reader".to_owned()),
                ("SPIN_VARIABLE_REDIS_PASSWORD", "s:cret".to_owned()),
            ]
        );
        let plain = ServiceUrl::parse("redis://127.0.0.1:6390").unwrap();
        assert_eq!(
            reader_redis_variables(&plain),
            vec![(
                "SPIN_VARIABLE_REDIS_ADDRESS",
                "redis://127.0.0.1:6390".to_owned()
            )]
        );
    }
}
