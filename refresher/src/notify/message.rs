//! The words: one short line per announcement, in English or Russian, and the colour and
//! state each API's message carries.
//!
//! "🔴 Server offline since 03:12 UTC (unreachable)", "🟢 Back online after 28 min, 150
//! players", "🛠 Maintenance since 03:00 UTC until 05:00 UTC: new map". Times are UTC
//! (`HH:MM`), because a channel's readers live in many time zones.

use status_document::{State, StateReason};

use super::hold::{Announcement, Seen};
use crate::config::Lang;

/// Longest operator message quoted in a notification (the document allows more).
const MAX_QUOTED_CHARS: usize = 300;

/// A message ready for any target.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The one line people read.
    pub line: String,
    /// Discord's embed colour (0xRRGGBB).
    pub color: u32,
    /// `change`, `summary` or `test`, for the webhook's `event`.
    pub event: &'static str,
}

impl Text {
    /// The line with the server's name in front ("Main realm: 🔴 Server offline ..."),
    /// when the refresher publishes several servers.
    pub fn for_server(mut self, server: Option<&str>) -> Text {
        if let Some(name) = server {
            self.line = format!("{name}: {}", self.line);
        }
        self
    }
}

pub const GREEN: u32 = 0x2E_CC_71;
pub const RED: u32 = 0xE7_4C_3C;
pub const AMBER: u32 = 0xF1_C4_0F;
pub const GREY: u32 = 0x95_A5_A6;

/// `HH:MM UTC` of a unix time.
pub fn clock(unix: f64) -> String {
    let s = if unix.is_finite() && unix > 0.0 {
        unix as u64
    } else {
        0
    };
    format!("{:02}:{:02} UTC", (s / 3600) % 24, (s / 60) % 60)
}

/// A duration as people read it, never rounded up past what happened: seconds under a
/// minute ("13 s"), whole minutes under an hour ("28 min"), hours and minutes past it.
pub fn span(seconds: f64, lang: Lang) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.round() as u64
    } else {
        0
    };
    let (hour, min, sec) = match lang {
        Lang::En => ("h", "min", "s"),
        Lang::Ru => ("ч", "мин", "с"),
    };
    if total < 60 {
        return format!("{total} {sec}");
    }
    let minutes = total / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} {min}"),
        (h, 0) => format!("{h} {hour}"),
        (h, m) => format!("{h} {hour} {m} {min}"),
    }
}

fn quoted(message: &Option<String>) -> Option<String> {
    let m = message.as_deref()?.trim();
    if m.is_empty() {
        return None;
    }
    let mut cut: String = m.chars().take(MAX_QUOTED_CHARS).collect();
    if cut.len() < m.len() {
        cut.push('…');
    }
    Some(cut)
}

/// The line for a state people are told about.
fn state_line(to: &Seen, from: Option<&Seen>, lang: Lang) -> (String, u32) {
    let since = clock(to.since);
    let o = &to.now;
    match o.state {
        State::Online => {
            let after = from
                .filter(|f| f.now.state != State::Online)
                .map(|f| span(to.since - f.since, lang));
            let mut line = match (lang, after) {
                (Lang::En, Some(a)) => format!("🟢 Back online after {a}"),
                (Lang::En, None) => "🟢 Server online".to_owned(),
                (Lang::Ru, Some(a)) => format!("🟢 Сервер снова онлайн после {a} простоя"),
                (Lang::Ru, None) => "🟢 Сервер онлайн".to_owned(),
            };
            if let Some(p) = o.players {
                line.push_str(&match lang {
                    Lang::En => format!(", {p} players"),
                    Lang::Ru => format!(", игроков: {p}"),
                });
            }
            (line, GREEN)
        }
        State::Maintenance => {
            let mut line = match lang {
                Lang::En => format!("🛠 Maintenance since {since}"),
                Lang::Ru => format!("🛠 Техническое обслуживание с {since}"),
            };
            if let Some(until) = o.maintenance_until {
                line.push_str(&match lang {
                    Lang::En => format!(" until {}", clock(until)),
                    Lang::Ru => format!(" до {}", clock(until)),
                });
            }
            if let Some(m) = quoted(&o.message) {
                line.push_str(": ");
                line.push_str(&m);
            }
            (line, AMBER)
        }
        // `unknown` is never announced (see hold.rs); say offline rather than nothing.
        State::Offline | State::Unknown => {
            let mut line = match lang {
                Lang::En => format!("🔴 Server offline since {since}"),
                Lang::Ru => format!("🔴 Сервер недоступен с {since}"),
            };
            if let Some(reason) = o.reason {
                line.push_str(&format!(" ({})", reason_words(reason, lang)));
            } else if let Some(m) = quoted(&o.message) {
                line.push_str(": ");
                line.push_str(&m);
            }
            (line, RED)
        }
    }
}

/// What the probe saw, in words.
fn reason_words(reason: StateReason, lang: Lang) -> &'static str {
    let (en, ru) = match reason {
        StateReason::Unreachable => ("unreachable", "не отвечает"),
        StateReason::Timeout => ("no answer in time", "не ответил вовремя"),
        StateReason::BadAnswer => ("answers wrongly", "отвечает не так"),
    };
    match lang {
        Lang::En => en,
        Lang::Ru => ru,
    }
}

/// The words for an announcement.
pub fn render(announcement: &Announcement, lang: Lang) -> Text {
    match announcement {
        Announcement::Change { from, to } => {
            let (line, color) = state_line(to, from.as_ref(), lang);
            Text {
                line,
                color,
                event: "change",
            }
        }
        Announcement::Summary {
            now,
            sent_in_hour,
            quiet_until,
        } => {
            let (state, _) = state_line(now, None, lang);
            let until = clock(*quiet_until);
            let line = match lang {
                Lang::En => format!(
                    "⚠️ The server's state keeps changing ({sent_in_hour} messages in the last \
                     hour); next update at {until} at the latest. Now: {state}"
                ),
                Lang::Ru => format!(
                    "⚠️ Состояние сервера часто меняется ({sent_in_hour} сообщений за час); \
                     следующее сообщение не раньше {until}. Сейчас: {state}"
                ),
            };
            Text {
                line,
                color: GREY,
                event: "summary",
            }
        }
    }
}

/// The `notify-test` message.
pub fn test_text(lang: Lang) -> Text {
    Text {
        line: match lang {
            Lang::En => "✅ Test message from status-refresher: notifications work".to_owned(),
            Lang::Ru => {
                "✅ Тестовое сообщение от status-refresher: уведомления работают".to_owned()
            }
        },
        color: GREY,
        event: "test",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::hold::Observed;

    fn seen(state: State, reason: Option<StateReason>, since: f64) -> Seen {
        Seen {
            now: Observed {
                state,
                reason,
                players: Some(150),
                message: Some("new map".into()),
                maintenance_until: Some(5.0 * 3600.0),
                probe_since: None,
            },
            since,
        }
    }

    // 03:12 UTC on some day.
    const T: f64 = 1_700_000_000.0 - (1_700_000_000 % 86_400) as f64 + 3.0 * 3600.0 + 720.0;

    #[test]
    fn the_lines_of_the_issue() {
        let down = seen(State::Offline, Some(StateReason::Unreachable), T);
        let up = seen(State::Online, None, T + 28.0 * 60.0);
        let change = |from: &Seen, to: &Seen| Announcement::Change {
            from: Some(from.clone()),
            to: to.clone(),
        };
        for (from, to, lang, line) in [
            (
                &up,
                &down,
                Lang::En,
                "🔴 Server offline since 03:12 UTC (unreachable)",
            ),
            (
                &up,
                &down,
                Lang::Ru,
                "🔴 Сервер недоступен с 03:12 UTC (не отвечает)",
            ),
            (
                &down,
                &up,
                Lang::En,
                "🟢 Back online after 28 min, 150 players",
            ),
            (
                &down,
                &up,
                Lang::Ru,
                "🟢 Сервер снова онлайн после 28 мин простоя, игроков: 150",
            ),
        ] {
            assert_eq!(render(&change(from, to), lang).line, line, "{lang:?}");
        }
        let m = seen(State::Maintenance, None, T);
        let text = render(&change(&up, &m), Lang::En);
        assert_eq!(
            text.line,
            "🛠 Maintenance since 03:12 UTC until 05:00 UTC: new map"
        );
        assert_eq!(text.color, AMBER);
    }

    #[test]
    fn spans() {
        assert_eq!(
            span(13.0, Lang::En),
            "13 s",
            "a short outage is not rounded up"
        );
        assert_eq!(span(0.4, Lang::Ru), "0 с");
        assert_eq!(span(f64::NAN, Lang::En), "0 s");
        assert_eq!(span(119.0, Lang::En), "1 min", "whole minutes that passed");
        assert_eq!(span(3600.0, Lang::En), "1 h");
        assert_eq!(span(3.0 * 3600.0 + 300.0, Lang::Ru), "3 ч 5 мин");
    }
}
