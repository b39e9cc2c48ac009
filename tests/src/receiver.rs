//! A local HTTPS receiver standing in for Discord, Telegram and a webhook: it
//! records every request whole (method, path, query, headers, body, when) and answers as
//! the real APIs do (Discord's execute-webhook 204, Telegram's `{"ok":true,...}`, a
//! webhook's 200), unless told to answer something else first (a 429 with `Retry-After`).
//!
//! Its certificate is dev-support's test PKI server certificate (`localhost`,
//! `127.0.0.1`), so the refresher trusts it only through `STATUS_NOTIFY_CA_CERT`. It can be
//! stopped (connections refused) and started again on the same port.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dev_support::certs::TestPki;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Largest request body recorded; anything a notification sends is far smaller.
const MAX_BODY: usize = 64 * 1024;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} sent no JSON body ({e}): {:?}", self.path, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// An answer to give instead of the usual one.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Per path: answers to give, in order, before the usual one.
    scripted: BTreeMap<String, VecDeque<Reply>>,
}

pub struct Receiver {
    addr: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Mutex<Shared>>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on a free loopback port, with `pki`'s server certificate.
    pub async fn start(pki: &TestPki) -> Receiver {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server.cert)
            .expect("server certificate")
            .collect::<Result<_, _>>()
            .expect("server certificate PEM");
        let key = PrivateKeyDer::from_pem_file(&pki.server.key).expect("server key");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server TLS config");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut receiver = Receiver {
            addr: listener.local_addr().expect("local_addr"),
            acceptor: TlsAcceptor::from(Arc::new(config)),
            shared: Arc::default(),
            task: None,
        };
        receiver.serve(listener);
        receiver
    }

    /// `https://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// Answers the next request to `path` with `reply` (before the usual answers).
    pub fn script(&self, path: &str, reply: Reply) {
        let mut s = self.shared.lock().expect("receiver lock");
        s.scripted
            .entry(path.to_owned())
            .or_default()
            .push_back(reply);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("receiver lock").received.clone()
    }

    /// What `path` received so far.
    pub fn to(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits until `path` has received `n` requests (or `limit` passes); returns them.
    pub async fn wait_for(&self, path: &str, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.to(path);
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Closes the listening socket and every connection: connects are refused from now on.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("receiver: rebinding {}: {e}; retrying", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let acceptor = self.acceptor.clone();
        let shared = Arc::clone(&self.shared);
        self.task = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let shared = Arc::clone(&shared);
                // Owned by this task: aborting it (stop) drops every connection too.
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, hyper::Error>(answer(req, &shared).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn answer(req: Request<Incoming>, shared: &Mutex<Shared>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let reply = {
        let mut s = shared.lock().expect("receiver lock");
        s.received.push(Received {
            at: Instant::now(),
            method,
            path: path.clone(),
            query,
            headers,
            body,
        });
        s.scripted.get_mut(&path).and_then(VecDeque::pop_front)
    };
    let reply = reply.unwrap_or_else(|| usual(&path));
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    if !reply.body.is_empty() {
        response = response.header("content-type", "application/json");
    }
    response
        .body(Full::new(Bytes::from(reply.body)))
        .expect("a response")
}

/// What each API answers to a good request.
fn usual(path: &str) -> Reply {
    if path.starts_with("/api/webhooks/") {
        // Execute Webhook without `?wait=true`: 204 No Content.
        Reply {
            status: 204,
            headers: Vec::new(),
            body: String::new(),
        }
    } else if path.starts_with("/bot") {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: r#"{"ok":true,"result":{"message_id":1}}"#.to_owned(),
        }
    } else {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: String::new(),
        }
    }
}
