//! The generic webhook: `POST` of a JSON body, signed the way GitHub signs its webhooks.
//!
//! - `X-Signature-256: sha256=<hex>`: HMAC-SHA256 of the exact body bytes under
//!   `STATUS_NOTIFY_SECRET`, lowercase hex;
//! - `X-Signature-Timestamp: <unix seconds>`: when this attempt was made. The same number
//!   is the body's `timestamp`, so it is covered by the signature: a receiver that checks
//!   the signature, that the two agree and that the time is recent (say, five minutes)
//!   refuses a replayed request;
//! - `Idempotency-Key: <id>`: the same for every attempt of one message to this target
//!   (also the body's `id`): a receiver drops what it has seen.
//!
//! docs/notifications.md has the receiver's side of it.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::hold::Announcement;
use super::message::Text;
use super::send::Request;
use crate::config::{Secret, Target};

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

pub struct Payload<'a> {
    pub id: &'a str,
    pub text: &'a Text,
    pub announcement: Option<&'a Announcement>,
    pub link: Option<&'a str>,
    /// Unix seconds of this attempt.
    pub timestamp: u64,
}

pub fn request(target: &Target, secret: Option<&Secret>, p: &Payload<'_>) -> Request {
    let (state, from) = match p.announcement {
        Some(Announcement::Change { from, to }) => (Some(to), from.as_ref()),
        Some(Announcement::Summary { now, .. }) => (Some(now), None),
        None => (None, None),
    };
    let body = json!({
        "id": p.id,
        "event": p.text.event,
        "text": p.text.line,
        "state": state.map(|s| s.now.state.as_str()),
        "state_reason": state.and_then(|s| s.now.reason).map(|r| r.as_str()),
        "since": state.map(|s| s.since),
        "previous_state": from.map(|s| s.now.state.as_str()),
        "players": state.and_then(|s| s.now.players),
        "message": state.and_then(|s| s.now.message.clone()),
        "maintenance_until": state.and_then(|s| s.now.maintenance_until),
        "link": p.link,
        "timestamp": p.timestamp,
    })
    .to_string()
    .into_bytes();
    let key = secret.map_or(&[][..], Secret::expose);
    Request {
        url: target.url().to_owned(),
        headers: vec![
            ("x-signature-256", signature(key, &body)),
            ("x-signature-timestamp", p.timestamp.to_string()),
            ("idempotency-key", p.id.to_owned()),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector for `X-Hub-Signature-256`.
    #[test]
    fn signature_matches_githubs_example() {
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
