//! The HTTP/1.1 front end (hyper): accepts connections, applies the bounds a public endpoint
//! needs (header size, header read time, request body size), routes by the manifest's HTTP
//! triggers, and hands matching requests to the [`Runtime`].
//!
//! Like Spin's HTTP trigger it adds the `spin-*` request headers (`spin-full-url`,
//! `spin-path-info`, `spin-matched-route`, `spin-component-route`, `spin-raw-component-route`,
//! `spin-base-path`, `spin-client-addr`) and answers paths outside every route itself with a
//! 404, without instantiating the component.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::limits::{Event, Stats};
use crate::routes::{Route, best_match};
use crate::runtime::{ResponseBody, Runtime, plain};

/// Front-end bounds.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Bound on the request head (request line plus headers), in bytes.
    pub max_header_bytes: usize,
    /// Largest number of request headers.
    pub max_headers: usize,
    /// Bound on a request body; larger ones get 413 (by `Content-Length`) or a body error.
    pub max_body_bytes: usize,
    /// Time a client has to send a complete request head.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Everything a connection needs, shared by all of them.
pub(crate) struct App {
    pub(crate) runtime: Runtime,
    pub(crate) routes: Vec<Route>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) options: ServerOptions,
}

impl App {
    async fn handle(
        &self,
        mut request: Request<Incoming>,
        local: SocketAddr,
        client: SocketAddr,
    ) -> Response<ResponseBody> {
        self.stats.count(Event::Request);
        let path = request.uri().path().to_owned();
        let Some(route) = best_match(&self.routes, &path) else {
            self.stats.count(Event::NotFound);
            return plain(404, "Not Found\n");
        };
        let too_long = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > self.options.max_body_bytes as u64);
        if too_long {
            return plain(413, "Payload Too Large\n");
        }

        // The component sees an absolute URL, as under Spin.
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| local.to_string(), str::to_owned);
        let path_and_query = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let full_url = format!("http://{host}{path_and_query}");
        match full_url.parse::<http::Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return plain(400, "Bad Request\n"),
        }
        let route_base = route.as_str().trim_end_matches("/...");
        let spin_headers = [
            ("spin-full-url", full_url.as_str()),
            ("spin-path-info", route.path_info(&path)),
            ("spin-matched-route", route.as_str()),
            ("spin-raw-component-route", route.as_str()),
            ("spin-component-route", route_base),
            ("spin-base-path", "/"),
        ];
        let headers = request.headers_mut();
        for (name, value) in spin_headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(&client.to_string()) {
            headers.insert("spin-client-addr", value);
        }

        let limit = self.options.max_body_bytes;
        let request = request.map(move |body| {
            Limited::new(body, limit).map_err(move |_| {
                wasmtime_wasi_http::Error::HttpRequestBodySize(Some(limit as u64))
            })
        });
        self.runtime.handle(request).await
    }
}

/// Serves `listener` until `shutdown` resolves, then lets in-flight requests finish (up to
/// the grace period).
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(app.options.header_read_timeout)
        .max_buf_size(app.options.max_header_bytes.max(8192))
        .max_headers(app.options.max_headers);
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(request, local, client).await) }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %client, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    if tokio::time::timeout(app.options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
    Ok(())
}
