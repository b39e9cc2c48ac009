//! `STATUS_NOTIFY*`: where state changes are announced, and how.
//!
//! `STATUS_NOTIFY` is one list, `discord=URL,telegram=URL,webhook=URL`. A URL may hold a
//! comma or an `=` of its own (a webhook's query), so the list is cut only before a comma
//! that is followed by a known kind and `=`; everything else belongs to the URL before it.
//!
//! Every URL is a secret (a Discord webhook's token, a Telegram bot's token): no error here
//! quotes one, and a [`Target`] prints as its name (`discord`, `webhook2`) only.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::{Args, ConfigError, non_empty, parse_count, parse_u64, quote};

/// Most targets in `STATUS_NOTIFY`.
pub const MAX_TARGETS: usize = 16;
/// Longest hold accepted: an hour.
pub const MAX_HOLD_S: u64 = 3600;
/// Most messages per hour and target accepted.
pub const MAX_PER_HOUR: u64 = 1000;
/// The outbox's lifetime, and so the longest give-up age: a day.
pub const OUTBOX_TTL_S: u64 = 86_400;

/// The kind of a target: which API its messages are shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Discord,
    Telegram,
    Webhook,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Discord, Kind::Telegram, Kind::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Discord => "discord",
            Kind::Telegram => "telegram",
            Kind::Webhook => "webhook",
        }
    }
}

/// One place to announce to. Prints as its name only: the URL is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    /// `discord`, `telegram`, `webhook`; `webhook2`, `webhook3` for a kind's later entries.
    /// What logs, `/metrics` and the outbox call it.
    pub name: String,
    /// Where to POST (for Telegram: without the `chat_id` query).
    url: String,
    /// Telegram only: the chat to send to.
    pub chat_id: Option<String>,
}

impl Target {
    /// The secret URL, for the request only.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

/// A secret that prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The notification settings, when `STATUS_NOTIFY` names at least one target.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    pub targets: Vec<Target>,
    /// `STATUS_NOTIFY_SECRET`; required when a webhook is configured.
    pub secret: Option<Secret>,
    /// `STATUS_NOTIFY_CA_CERT`'s PEM (checked at start-up); the system roots otherwise.
    pub ca_pem: Option<Vec<u8>>,
    pub ca_path: Option<PathBuf>,
    pub hold: Duration,
    pub max_per_hour: u32,
    pub lang: Lang,
    pub link: Option<String>,
    pub give_up: Duration,
    /// Each request's deadline (STATUS_TIMEOUT).
    pub timeout: Duration,
}

/// Reads the `STATUS_NOTIFY*` settings; `None` when `STATUS_NOTIFY` is unset or empty.
pub fn parse_notify(args: &Args, timeout: Duration) -> Result<Option<NotifySettings>, ConfigError> {
    let Some(raw) = non_empty(&args.status_notify).map(str::trim) else {
        return Ok(None);
    };
    let targets = parse_targets(raw)?;
    let secret = non_empty(&args.status_notify_secret).map(|s| Secret(s.to_owned()));
    if secret.is_none() && targets.iter().any(|t| t.kind == Kind::Webhook) {
        return Err(ConfigError::new(
            "STATUS_NOTIFY_SECRET",
            "not set; a webhook target's messages are signed with it (X-Signature-256)",
        ));
    }
    let ca_path = non_empty(&args.status_notify_ca_cert).map(PathBuf::from);
    let ca_pem = match &ca_path {
        Some(path) => Some(super::tls::read_certificates(
            "STATUS_NOTIFY_CA_CERT",
            path,
        )?),
        None => None,
    };
    let hold = parse_u64(
        "STATUS_NOTIFY_HOLD",
        &args.status_notify_hold,
        0..=MAX_HOLD_S,
    )?;
    let max_per_hour = parse_count(
        "STATUS_NOTIFY_MAX_PER_HOUR",
        &args.status_notify_max_per_hour,
        1..=MAX_PER_HOUR,
    )? as u32;
    let give_up = parse_u64(
        "STATUS_NOTIFY_GIVE_UP",
        &args.status_notify_give_up,
        1..=OUTBOX_TTL_S,
    )?;
    let lang = parse_lang(&args.status_notify_lang)?;
    let link = parse_link(&args.status_notify_link)?;
    Ok(Some(NotifySettings {
        targets,
        secret,
        ca_pem,
        ca_path,
        hold: Duration::from_secs(hold),
        max_per_hour,
        lang,
        link,
        give_up: Duration::from_secs(give_up),
        timeout,
    }))
}

/// `STATUS_NOTIFY_LANG`: `en` or `ru`, in any case.
fn parse_lang(raw: &str) -> Result<Lang, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "en" => Ok(Lang::En),
        "ru" => Ok(Lang::Ru),
        _ => Err(ConfigError::new(
            "STATUS_NOTIFY_LANG",
            format!("expected en or ru, got {}", quote(raw)),
        )),
    }
}

/// `STATUS_NOTIFY_LINK`: one http(s) URL without spaces, at most 512 characters; unset or
/// empty is none.
fn parse_link(raw: &Option<String>) -> Result<Option<String>, ConfigError> {
    match non_empty(raw).map(str::trim) {
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
            if link.chars().any(|c| c.is_control() || c.is_whitespace()) || link.len() > 512 {
                return Err(ConfigError::new(
                    "STATUS_NOTIFY_LINK",
                    "expected one URL of at most 512 characters, without spaces",
                ));
            }
            Ok(Some(link.to_owned()))
        }
        Some(other) => Err(ConfigError::new(
            "STATUS_NOTIFY_LINK",
            format!("expected an http(s):// URL, got {}", quote(other)),
        )),
        None => Ok(None),
    }
}

/// Cuts the list before every `,<kind>=` (and at its start), so commas and `=` inside a
/// URL stay in it.
fn split_entries(raw: &str) -> Vec<&str> {
    let starts_entry = |at: usize| {
        Kind::ALL.iter().any(|k| {
            raw[at..]
                .strip_prefix(k.as_str())
                .is_some_and(|rest| rest.starts_with('='))
        })
    };
    let mut cuts = vec![0];
    for (i, c) in raw.char_indices() {
        if c == ',' && starts_entry(i + 1) {
            cuts.push(i + 1);
        }
    }
    let mut entries = Vec::with_capacity(cuts.len());
    for (n, start) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).map_or(raw.len(), |next| next - 1);
        entries.push(raw[*start..end].trim());
    }
    entries
}

fn parse_targets(raw: &str) -> Result<Vec<Target>, ConfigError> {
    let bad = |reason: String| ConfigError::new("STATUS_NOTIFY", reason);
    let entries = split_entries(raw);
    if entries.len() > MAX_TARGETS {
        return Err(bad(format!(
            "{} targets given, at most {MAX_TARGETS}",
            entries.len()
        )));
    }
    let mut targets: Vec<Target> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let position = i + 1;
        let Some((kind, url)) = entry.split_once('=').and_then(|(k, url)| {
            Kind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == k.trim())
                .map(|kind| (kind, url.trim()))
        }) else {
            // The entry may hold a URL: quote only what comes before its first `=`.
            let head = entry.split('=').next().unwrap_or("");
            return Err(bad(format!(
                "entry {position} must be discord=URL, telegram=URL or webhook=URL; it \
                 starts with {}",
                quote(head)
            )));
        };
        let (url, chat_id) = check_url(kind, url)
            .map_err(|why| bad(format!("entry {position} ({}): {why}", kind.as_str())))?;
        let same = targets.iter().filter(|t| t.kind == kind).count();
        let name = match same {
            0 => kind.as_str().to_owned(),
            n => format!("{}{}", kind.as_str(), n + 1),
        };
        if targets.iter().any(|t| t.url == url && t.chat_id == chat_id) {
            return Err(bad(format!(
                "entry {position} ({name}) repeats an earlier one"
            )));
        }
        targets.push(Target {
            kind,
            name,
            url,
            chat_id,
        });
    }
    Ok(targets)
}

/// The URL as sent, and Telegram's chat id. The reasons never quote the URL.
fn check_url(kind: Kind, url: &str) -> Result<(String, Option<String>), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| {
            // Plain http only to this machine (a local relay, a test).
            url.strip_prefix("http://").filter(|r| {
                ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .any(|h| r.starts_with(&format!("{h}:")) || r.starts_with(&format!("{h}/")))
            })
        })
        .ok_or("expected an https:// URL (http:// only to this machine)")?;
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("expected one URL of at most 2048 characters, without spaces".into());
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_end == 0 || rest[..host_end].contains('@') {
        return Err("expected a host, without user info".into());
    }
    let path_and_query = &rest[host_end..];
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    match kind {
        Kind::Discord if !path.contains("/api/webhooks/") => Err(
            "expected a Discord incoming-webhook URL: https://discord.com/api/webhooks/<id>/<token>"
                .into(),
        ),
        Kind::Telegram => {
            if !(path.starts_with("/bot") && path.ends_with("/sendMessage")) {
                return Err("expected https://api.telegram.org/bot<token>/sendMessage?chat_id=<id>".into());
            }
            let chat_id = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("chat_id="))
                .filter(|id| !id.is_empty())
                .ok_or("the URL has no ?chat_id=<id>")?;
            let without_query = &url[..url.len() - query.len() - 1];
            Ok((without_query.to_owned(), Some(chat_id.to_owned())))
        }
        _ => Ok((url.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_equals_inside_urls_stay_in_them() {
        let raw = "discord=https://discord.com/api/webhooks/1/tok,\
                   telegram=https://api.telegram.org/bot12:AB/sendMessage?chat_id=-100,\
                   webhook=https://example.org/hook?a=1,b=2&c=webhook=3,webhook=https://x.org/h";
        let t = parse_targets(raw).unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["discord", "telegram", "webhook", "webhook2"]);
        assert_eq!(t[0].url(), "https://discord.com/api/webhooks/1/tok");
        assert_eq!(t[1].url(), "https://api.telegram.org/bot12:AB/sendMessage");
        assert_eq!(t[1].chat_id.as_deref(), Some("-100"));
        assert_eq!(t[2].url(), "https://example.org/hook?a=1,b=2&c=webhook=3");
        assert_eq!(format!("{t:?}"), "[discord, telegram, webhook, webhook2]");
    }

    #[test]
    fn errors_never_quote_a_url() {
        for raw in [
            "discord=https://discord.com/hooks/SECRET",
            "telegram=https://api.telegram.org/botSECRET/sendMessage",
            "slack=https://hooks.slack.com/SECRET",
            "webhook=http://example.org/SECRET",
            "webhook=https://u:SECRET@example.org/h",
            "discord=https://discord.com/api/webhooks/1/SECRET,discord=https://discord.com/api/webhooks/1/SECRET",
        ] {
            let e = parse_targets(raw).unwrap_err().to_string();
            assert!(!e.contains("SECRET"), "{raw}: {e}");
        }
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(parse_targets("webhook=http://127.0.0.1:8080/h").is_ok());
        assert!(parse_targets("webhook=http://localhost/h").is_ok());
        assert!(parse_targets("webhook=http://localhost.example.org/h").is_err());
    }
}
