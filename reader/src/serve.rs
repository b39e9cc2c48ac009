//! The request flow: route, read Redis through the [`Store`] seam, build the response.
//!
//! [`handle`] is the whole component minus I/O. The wasm handler calls it with a Spin Redis
//! store and the wall clock; unit and property tests call it with an in-memory store and a
//! fixed clock.

use serde::Serialize;
use status_document::servers::server_key;
use status_document::{GameServer, ServerId, State, vouched_state};

use crate::badge::{self, endpoint::Kind};
use crate::cache;
use crate::config::Config;
use crate::embed::{self, Asset};
use crate::error::ServeError;
use crate::fetch::{Fetched, Source, fetch, validate};
use crate::history;
use crate::page;
use crate::request::RequestHead;
use crate::respond::{CacheInfo, Response, splice_cache, with_validators};
use crate::route::{ALLOW, Dispatch, Page, Route, dispatch};
use crate::servers;
use crate::simple;
use crate::store::Store;

/// Answers one request whose store answers at once (the WASIp2 build, whose Redis calls
/// block the guest, and the native tests): [`answer`] driven by one poll. A store that
/// leaves it pending breaks that promise, a bug answered 503 `redis_unavailable` (logged)
/// rather than a hang or a panic.
pub fn handle<S: Store>(req: &RequestHead, config: &Config, store: &S, now: f64) -> Response {
    crate::ready::now(answer(req, config, store, now)).unwrap_or_else(|| {
        eprintln!("status-reader: the store did not answer at once; answering redis_unavailable");
        Response::error(ServeError::RedisUnavailable)
    })
}

/// Whether answering `req` reads the configuration (the CORS list at least): the WASIp3
/// build resolves its variables before the request flow runs, and only then.
pub fn reads_config(req: &RequestHead) -> bool {
    needs_cors(&dispatch(req), req)
}

/// Answers one request. `now` is unix seconds. Never panics on any request or stored value.
pub async fn answer<S: Store>(
    req: &RequestHead,
    config: &Config<'_>,
    store: &S,
    now: f64,
) -> Response {
    let dispatched = dispatch(req);
    let default = ServerId::default_id;
    let mut response = match &dispatched {
        Dispatch::Serve { route } => match route {
            Route::Status => serve_page(req, config, store, now, &default(), Page::Status).await,
            Route::Debug => serve_page(req, config, store, now, &default(), Page::Debug).await,
            Route::Health => health(fetch(store, config.status_key()).await, now),
            Route::Badge => serve_page(req, config, store, now, &default(), Page::Badge).await,
            Route::Shields => serve_page(req, config, store, now, &default(), Page::Shields).await,
            Route::WidgetJs => embed::serve(req, Asset::WidgetJs),
            Route::WidgetPage => embed::serve(req, Asset::DemoPage),
            Route::Simple => serve_page(req, config, store, now, &default(), Page::Simple).await,
            Route::OpenApi => embed::serve(req, Asset::OpenApi),
            Route::History => serve_page(req, config, store, now, &default(), Page::History).await,
            Route::Servers => {
                servers::serve_index(req, servers::read_index(store, config.status_key()).await)
            }
            Route::Server { id, page } => serve_page(req, config, store, now, id, *page).await,
            Route::StatusPage => {
                page::serve(req, page::read(store, config.status_key()).await, now)
            }
        },
        Dispatch::Preflight => {
            let mut r = Response {
                status: 204,
                headers: vec![("allow", ALLOW.to_owned())],
                body: Vec::new(),
            };
            r.headers.extend(config.cors().preflight_headers());
            r
        }
        Dispatch::MethodNotAllowed => {
            let mut r = Response::error(ServeError::MethodNotAllowed);
            r.headers.push(("allow", ALLOW.to_owned()));
            r
        }
        Dispatch::NotFound => Response::error(ServeError::NotFound),
        Dispatch::UnknownServer => Response::error(ServeError::UnknownServer),
        Dispatch::UriTooLong => Response::error(ServeError::UriTooLong),
        Dispatch::HeadersTooLarge => Response::error(ServeError::HeadersTooLarge),
    };
    if needs_cors(&dispatched, req) {
        response
            .headers
            .extend(config.cors().headers(req.origin.as_deref()));
    }
    if req.is_head() {
        // A HEAD response never has a body, whatever its status (RFC 9110 §9.3.2): the
        // same status and headers as GET, no body. No Content-Length either: a host that
        // checks it against the (empty) body would reject the response.
        response.body = Vec::new();
    } else if !response.body.is_empty() {
        response
            .headers
            .push(("content-length", response.body.len().to_string()));
    }
    response
}

/// Whether the answer carries CORS headers, which costs the settings lookup when nothing
/// else needed it. Every endpoint's answer does, whether or not the request has an `Origin`:
/// they may be stored by a shared cache (nginx, a CDN that ignores `Vary`) and handed to a
/// browser's cross-origin request later. The 4xx answers of routing are `no-store`, so they
/// are never handed on: they carry CORS headers only when the request itself is
/// cross-origin, and without an `Origin` cost no variable lookup at all.
fn needs_cors(dispatched: &Dispatch, req: &RequestHead) -> bool {
    match dispatched {
        Dispatch::Serve { .. } | Dispatch::Preflight => true,
        Dispatch::MethodNotAllowed
        | Dispatch::NotFound
        | Dispatch::UnknownServer
        | Dispatch::UriTooLong
        | Dispatch::HeadersTooLarge => req.origin.is_some(),
    }
}

/// One game server's page: `/server/status/...` is `default`'s, `/servers/{id}/...` any
/// server's, the same answer from that server's key (`default`'s is the status key itself).
/// Each costs what it always did: one `GET` on the happy path.
async fn serve_page<S: Store>(
    req: &RequestHead,
    config: &Config<'_>,
    store: &S,
    now: f64,
    id: &ServerId,
    page: Page,
) -> Response {
    let key = server_key(config.status_key(), id);
    match page {
        Page::Status => status(req, servers::known(fetch(store, &key).await, id), now),
        Page::Debug => debug(&key, id, store, now).await,
        Page::Badge => badge::endpoint::serve(req, &key, id, store, now, Kind::Svg).await,
        Page::Shields => badge::endpoint::serve(req, &key, id, store, now, Kind::Shields).await,
        Page::Simple => simple::serve(req, servers::known(fetch(store, &key).await, id), now),
        Page::History => history::serve(req, history::read(store, &key).await, now),
    }
}

/// `/server/status`: the stored document plus `_cache`, or 304.
fn status(req: &RequestHead, fetched: Result<Fetched, ServeError>, now: f64) -> Response {
    let Fetched { bytes, source } = match fetched {
        Ok(f) => f,
        Err(e) => return Response::error(e),
    };
    let (f, updated_at, rewrite_interval, document_state, etag) = match validate(&bytes) {
        Ok(v) => (
            v.freshness(now),
            v.updated_at,
            v.rewrite_interval_s(),
            v.state,
            cache::etag(v.schema_version, v.updated_at, bytes.len(), v.live_stamps()),
        ),
        Err(e) => return Response::error(e),
    };
    let primary = source == Source::Primary;

    let mut headers = Vec::with_capacity(8);
    headers.push((
        "cache-control",
        cache::cache_control(&f, rewrite_interval, primary),
    ));
    let headers = match with_validators(req, headers, updated_at, etag) {
        Ok(headers) => headers,
        Err(not_modified) => return not_modified,
    };

    let info = CacheInfo {
        age_seconds: whole_seconds(f.age_seconds),
        fresh: f.fresh,
        stale: !primary || f.expired,
        source,
        state: vouched_state(document_state, &f, source),
        last_known_state: document_state,
    };
    let Some(body) = splice_cache(bytes, &info) else {
        return Response::error(ServeError::InvalidDocument);
    };
    let mut r = Response::json(200, body);
    r.headers.extend(headers);
    r
}

/// Why `/server/status/debug` has no `ttl` on the key-value backend.
pub const TTL_NOT_IN_API: &str =
    "redis_api=key_value: Spin's key-value API cannot read a key's TTL";

/// `/server/status/debug`: what the reader sees, never cached. `status_key` is the server's.
async fn debug<S: Store>(status_key: &str, id: &ServerId, store: &S, now: f64) -> Response {
    #[derive(Serialize)]
    struct Debug<'a> {
        cached: bool,
        key: &'a str,
        source: &'static str,
        updated_at: f64,
        age_seconds: u64,
        /// Redis `TTL` of `key`: seconds, -1 (no expiry), -2 (gone); null if `TTL` failed
        /// or the backend cannot read it, and then `ttl_unavailable` says which.
        ttl: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ttl_unavailable: Option<&'static str>,
        is_fresh: bool,
        stale: bool,
        /// The state the reader vouches for, as in `_cache.state`.
        state: State,
        /// The document's own state, as in `_cache.last_known_state`.
        last_known_state: State,
        /// The probe's latest word and the player count, as stored: what the state above
        /// was judged from.
        game_server: Option<GameServer>,
        players: Option<u64>,
        max_players: Option<u64>,
        bots: Option<u64>,
        players_at: Option<f64>,
        schema_version: u32,
        refresh_interval_s: u64,
        ttl_s: u64,
        defaulted: &'a [std::borrow::Cow<'a, str>],
    }

    let Fetched { bytes, source } = match servers::known(fetch(store, status_key).await, id) {
        Ok(f) => f,
        Err(e) => return Response::error(e),
    };
    let view = match validate(&bytes) {
        Ok(v) => v,
        Err(e) => return Response::error(e),
    };
    let key = source.key(status_key);
    let f = view.freshness(now);
    let (ttl, ttl_unavailable) = match store.ttl(&key).await {
        Ok(Some(ttl)) => (Some(ttl), None),
        Ok(None) => (None, Some(TTL_NOT_IN_API)),
        Err(_) => (None, Some("the TTL command failed")),
    };
    let body = Debug {
        cached: true,
        key: &key,
        source: source.as_str(),
        updated_at: view.updated_at,
        age_seconds: whole_seconds(f.age_seconds),
        ttl,
        ttl_unavailable,
        is_fresh: f.fresh,
        stale: source == Source::LastGood || f.expired,
        state: vouched_state(view.state, &f, source),
        last_known_state: view.state,
        game_server: view.game_server,
        players: view.players,
        max_players: view.max_players,
        bots: view.bots,
        players_at: view.players_at,
        schema_version: view.schema_version,
        refresh_interval_s: view.refresh_interval_s,
        ttl_s: view.ttl_s,
        defaulted: &view.defaulted,
    };
    no_store(200, serde_json::to_vec(&body))
}

/// `/health`: 200 `ok` while the primary document is fresh; 503 `stale` or `error`.
fn health(fetched: Result<Fetched, ServeError>, now: f64) -> Response {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        age_seconds: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<&'static str>,
        /// The state the reader vouches for (`unknown` when there is no document to judge).
        state: State,
        #[serde(skip_serializing_if = "Option::is_none")]
        last_known_state: Option<State>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'static str>,
    }
    let judged = fetched.and_then(|Fetched { bytes, source }| {
        let v = validate(&bytes)?;
        Ok((v.freshness(now), source, v.state))
    });
    let (status, body) = match judged {
        Ok((f, source, document_state)) => {
            let ok = f.fresh && source == Source::Primary;
            let body = Health {
                status: if ok { "ok" } else { "stale" },
                age_seconds: Some(whole_seconds(f.age_seconds)),
                source: Some(source.as_str()),
                state: vouched_state(document_state, &f, source),
                last_known_state: Some(document_state),
                error: None,
            };
            (if ok { 200 } else { 503 }, body)
        }
        Err(e) => {
            let body = Health {
                status: "error",
                age_seconds: None,
                source: None,
                state: State::Unknown,
                last_known_state: None,
                error: Some(e.code()),
            };
            (503, body)
        }
    };
    no_store(status, serde_json::to_vec(&body))
}

fn no_store(status: u16, body: Result<Vec<u8>, serde_json::Error>) -> Response {
    // Serialising these plain structs cannot fail; map the impossible case to a clean 502.
    let Ok(body) = body else {
        return Response::error(ServeError::InvalidDocument);
    };
    let mut r = Response::json(status, body);
    r.headers.push(("cache-control", "no-store".to_owned()));
    r
}

/// The wall clock as unix seconds, which the glue passes as `now` (0 if the clock is
/// before 1970, which only makes every document look old).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whole seconds, rounded down (ages are never negative after `freshness`).
pub(crate) fn whole_seconds(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        s as u64
    } else {
        0
    }
}

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod budget;
