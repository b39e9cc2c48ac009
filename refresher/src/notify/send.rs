//! One HTTP POST to a target, and what its answer means for the outbox.
//!
//! reqwest with rustls (the ring provider, as everywhere in the refresher): the system
//! trust store, or only `STATUS_NOTIFY_CA_CERT`'s CA(s) when set. No redirects (a webhook
//! that moved must be reconfigured, not followed with its body and signature), and the
//! whole request under one deadline (STATUS_TIMEOUT).
//!
//! An error never shows the URL: reqwest's own is stripped of it (`without_url`), and the
//! causes below it name the failure (refused, timed out, the certificate), not the address.

use std::time::Duration;

use anyhow::Context;

use crate::config::NotifySettings;

/// Longest part of an answer's body kept (for the log and `notify-test`).
const MAX_BODY_KEPT: usize = 300;
/// Most bytes of an answer read at all.
const MAX_BODY_READ: usize = 4096;
/// Longest `Retry-After` honoured: longer is a misbehaving server, retried by the backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What to send.
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a target answered, as the outbox needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx.
    Delivered { status: u16, body: String },
    /// A time-out, no connection, a 5xx, or 429 (with the wait it asked for).
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Any other 4xx: the request will never work as configured (a revoked webhook, a
    /// wrong chat). Not retried.
    Rejected { status: u16, body: String },
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new(settings: &NotifySettings) -> anyhow::Result<Http> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("status-refresher/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &settings.ca_pem {
            builder = builder.tls_built_in_root_certs(false);
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .context("reading STATUS_NOTIFY_CA_CERT")?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTPS client: {}", causes(&e)))?;
        Ok(Http { client })
    }

    /// POSTs `request`, bounded by the client's timeout.
    pub async fn post(&self, request: Request) -> Answer {
        let mut call = self
            .client
            .post(&request.url)
            .header("content-type", "application/json");
        for (name, value) in request.headers {
            call = call.header(name, value);
        }
        let response = match call.body(request.body).send().await {
            Ok(r) => r,
            Err(e) => {
                let why = if e.is_timeout() {
                    "no answer in time".to_owned()
                } else {
                    causes(&e)
                };
                return Answer::Retry { after: None, why };
            }
        };
        let status = response.status().as_u16();
        let header_wait = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_body(response).await;
        match status {
            200..=299 => Answer::Delivered { status, body },
            429 => Answer::Retry {
                after: header_wait.or_else(|| body_retry_after(&body)),
                why: format!("429 Too Many Requests {body}"),
            },
            408 | 500..=599 => Answer::Retry {
                after: header_wait,
                why: format!("HTTP {status} {body}"),
            },
            _ => Answer::Rejected { status, body },
        }
    }
}

/// The error and its causes, without the URL.
fn causes(e: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut next: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut depth = 0;
    while let Some(cause) = next {
        if depth >= 6 {
            break;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
        next = cause.source();
        depth += 1;
    }
    if out.is_empty() {
        // reqwest's own text, without the URL it would name.
        let kind = if e.is_connect() {
            "cannot connect"
        } else if e.is_request() {
            "request failed"
        } else {
            "failed"
        };
        out.push_str(kind);
    }
    out
}

/// Reads at most [`MAX_BODY_READ`] bytes and keeps a printable excerpt.
async fn read_body(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(MAX_BODY_READ);
    let text = String::from_utf8_lossy(&bytes);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_BODY_KEPT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `Retry-After` in seconds (whole or, as Discord sends, fractional); a date is left to the
/// backoff.
pub fn parse_retry_after(raw: &str) -> Option<Duration> {
    let s: f64 = raw.trim().parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s).min(MAX_RETRY_AFTER))
}

/// Discord's `retry_after` and Telegram's `parameters.retry_after` in a 429's body.
fn body_retry_after(body: &str) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let s = v
        .get("retry_after")
        .or_else(|| v.get("parameters").and_then(|p| p.get("retry_after")))?
        .as_f64()?;
    parse_retry_after(&s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("99999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            body_retry_after(r#"{"ok":false,"error_code":429,"parameters":{"retry_after":3}}"#),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            body_retry_after(r#"{"message":"You are being rate limited.","retry_after":1.5}"#),
            Some(Duration::from_millis(1500))
        );
    }
}
