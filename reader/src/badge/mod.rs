//! The badge endpoints: `/server/status/badge.svg` and `/server/status/shields.json`.
//!
//! Both say one thing, the state the reader vouches for (see
//! [`status_document::vouched_state`]): a document read from the primary key within its TTL
//! speaks for itself, anything else is `unknown`. They are drawn from the same Redis read
//! and carry the same `Cache-Control` as `/server/status`; their `ETag` adds the vouched
//! state to the document's tag, because a badge changes (to `unknown`) when the document
//! outlives its TTL even though its bytes do not.
//!
//! * [`verdana`]: text widths (Verdana 11 px metrics, as shields measures);
//! * [`svg`]: layout and escaping of the SVG;
//! * [`options`]: the `label` / `style` / `lang` / `show` query, refused with 400 when it
//!   cannot be drawn honestly;
//! * [`words`]: English and Russian texts.
//!
//! `show=players` appends the players count, only beside a vouched `online`: beside
//! `offline` (a crash the database has not noticed yet) or `maintenance` a count of
//! "players online" would contradict the state, and beside `unknown` it could be long out of
//! date. A document without a count (no `STATUS_PLAYERS_QUERY`) shows nothing extra rather
//! than a placeholder, so the option is harmless on any server.

pub mod endpoint;
pub mod options;
pub mod svg;
pub mod verdana;
pub mod words;

use status_document::{DocumentView, Rates, State};

use options::BadgeOptions;
use svg::Badge;
use words::{Lang, Shown};

/// What the message can show beside the state, taken from the document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extras {
    /// `None` from a refresher without a database: a rate asked for is then left out.
    pub rates: Option<Rates>,
    /// The players count, when the document has one fit to show ([`players_to_show`]).
    pub players: Option<u64>,
    /// The 30-day uptime from the history, when `show=uptime` asked for it and there is one.
    pub uptime: Option<f64>,
}

impl Extras {
    pub fn of(view: &DocumentView<'_>) -> Extras {
        Extras {
            rates: view.rates,
            players: players_to_show(view.players, view.players_at, view.updated_at, view.ttl_s),
            uptime: None,
        }
    }
}

/// The players count, unless it was already older than the document's TTL when the
/// refresher last read the table (`updated_at - players_at > ttl_s`): the players query has
/// then been failing for longer than a document may be believed, and the refresher only
/// kept the last good count. Judged from the document alone, so the badge's tag (the
/// document's, plus the state) still names its bytes; the widget applies the same rule.
pub fn players_to_show(
    players: Option<u64>,
    players_at: Option<f64>,
    updated_at: f64,
    ttl_s: u64,
) -> Option<u64> {
    let at = players_at.unwrap_or(updated_at);
    // A NaN difference (never written by the refresher) is not shown.
    players.filter(|_| updated_at - at <= ttl_s as f64)
}

/// Badge colour of a state (shields' brightgreen, red, yellow, lightgrey).
pub fn color(state: State) -> &'static str {
    match state {
        State::Online => "#4c1",
        State::Offline => "#e05d44",
        State::Maintenance => "#dfb317",
        State::Unknown => "#9f9f9f",
    }
}

/// The same colours by shields' names, for `shields.json`.
pub fn color_name(state: State) -> &'static str {
    match state {
        State::Online => "brightgreen",
        State::Offline => "red",
        State::Maintenance => "yellow",
        State::Unknown => "lightgrey",
    }
}

/// The state as the badge says it.
pub fn state_word(state: State, lang: Lang) -> &'static str {
    match (state, lang) {
        (State::Online, Lang::En) => "online",
        (State::Offline, Lang::En) => "offline",
        (State::Maintenance, Lang::En) => "maintenance",
        (State::Unknown, Lang::En) => "unknown",
        (State::Online, Lang::Ru) => "онлайн",
        (State::Offline, Lang::Ru) => "офлайн",
        (State::Maintenance, Lang::Ru) => "техработы",
        (State::Unknown, Lang::Ru) => "неизвестно",
    }
}

/// The message: the state, then what `show` asks for. Rates are only shown beside a state
/// the reader vouches for; next to `unknown` they could be long out of date. The players
/// count only beside `online` (see the module comment).
pub fn message(state: State, extras: Option<&Extras>, options: &BadgeOptions) -> String {
    let mut message = state_word(state, options.lang).to_owned();
    if let Some(extras) = extras.filter(|_| state != State::Unknown) {
        for shown in &options.show {
            let phrase = match *shown {
                Shown::Rate(rate) => match &extras.rates {
                    Some(rates) => rate.phrase(rates, options.lang),
                    None => continue,
                },
                Shown::Players => match extras.players.filter(|_| state == State::Online) {
                    Some(count) => words::players_phrase(count, options.lang),
                    None => continue,
                },
                Shown::Uptime => match extras.uptime {
                    Some(percent) => words::uptime_phrase(percent, options.lang),
                    None => continue,
                },
            };
            message.push_str(" · ");
            message.push_str(&phrase);
        }
    }
    message
}

/// The SVG for `state`.
pub fn render_svg(state: State, extras: Option<&Extras>, options: &BadgeOptions) -> String {
    let message = message(state, extras, options);
    svg::render(&Badge {
        label: options.label(),
        message: &message,
        color: color(state),
        style: options.style,
    })
}

/// The shields.io endpoint document (schema version 1) for `state`. `cache_seconds` is
/// the `max-age` of the response (shields enforces its own minimum of 300).
pub fn shields_json(
    state: State,
    extras: Option<&Extras>,
    options: &BadgeOptions,
    cache_seconds: u64,
) -> Vec<u8> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Endpoint<'a> {
        schema_version: u8,
        label: &'a str,
        message: String,
        color: &'static str,
        cache_seconds: u64,
        style: &'static str,
    }
    // Plain strings and numbers always serialise.
    serde_json::to_vec(&Endpoint {
        schema_version: 1,
        label: options.label(),
        message: message(state, extras, options),
        color: color_name(state),
        cache_seconds,
        style: options.style.as_str(),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: Extras = Extras {
        rates: Some(Rates {
            exp: 7.5,
            pvp: 2.0,
            pve: 1.0,
            color_mob: 1.0,
            skill: 1.0,
        }),
        players: None,
        uptime: None,
    };

    const PLAYERS: Extras = Extras {
        players: Some(150),
        ..RATES
    };

    fn opts(q: &str) -> BadgeOptions {
        BadgeOptions::from_target(&format!("/b?{q}")).unwrap()
    }

    #[test]
    fn messages() {
        assert_eq!(message(State::Online, Some(&RATES), &opts("")), "online");
        assert_eq!(
            message(State::Online, Some(&RATES), &opts("show=exp,pvp")),
            "online · EXP ×7.5 · PvP ×2"
        );
        assert_eq!(
            message(State::Maintenance, Some(&RATES), &opts("lang=ru&show=exp")),
            "техработы · Опыт ×7.5"
        );
        assert_eq!(
            message(State::Unknown, Some(&RATES), &opts("show=exp")),
            "unknown",
            "no rates beside a state nobody vouches for"
        );
        let no_database = Extras {
            rates: None,
            ..PLAYERS
        };
        assert_eq!(
            message(State::Online, Some(&no_database), &opts("show=exp,players")),
            "online · 150 players",
            "no rates without a database: the rest is still shown"
        );
    }

    #[test]
    fn players_beside_online_only() {
        assert_eq!(
            message(State::Online, Some(&PLAYERS), &opts("show=players")),
            "online · 150 players"
        );
        assert_eq!(
            message(
                State::Online,
                Some(&PLAYERS),
                &opts("lang=ru&show=exp,players")
            ),
            "онлайн · Опыт ×7.5 · 150 игроков"
        );
        let one = Extras {
            players: Some(21),
            ..RATES
        };
        assert_eq!(
            message(State::Online, Some(&one), &opts("lang=ru&show=players")),
            "онлайн · 21 игрок"
        );
        for state in [State::Offline, State::Maintenance, State::Unknown] {
            assert_eq!(
                message(state, Some(&PLAYERS), &opts("show=players")),
                state_word(state, Lang::En),
                "no count beside {state}"
            );
        }
        assert_eq!(
            message(State::Online, Some(&RATES), &opts("show=players,pvp")),
            "online · PvP ×2",
            "no count in the document: nothing extra"
        );
    }

    #[test]
    fn a_count_older_than_a_ttl_at_the_last_read_is_not_shown() {
        let t = 1000.0;
        assert_eq!(players_to_show(Some(5), Some(t), t, 900), Some(5));
        assert_eq!(
            players_to_show(Some(5), Some(t + 55.0), t, 900),
            Some(5),
            "counted after the table was read"
        );
        assert_eq!(players_to_show(Some(5), Some(t - 900.0), t, 900), Some(5));
        assert_eq!(players_to_show(Some(5), Some(t - 900.5), t, 900), None);
        assert_eq!(players_to_show(Some(5), None, t, 900), Some(5));
        assert_eq!(players_to_show(Some(5), Some(f64::NAN), t, 900), None);
        assert_eq!(players_to_show(None, Some(t), t, 900), None);
    }

    #[test]
    fn every_state_has_its_own_colour_and_word() {
        let states = [
            State::Online,
            State::Offline,
            State::Maintenance,
            State::Unknown,
        ];
        for (i, a) in states.iter().enumerate() {
            for b in &states[i + 1..] {
                assert_ne!(color(*a), color(*b));
                assert_ne!(color_name(*a), color_name(*b));
                for lang in [Lang::En, Lang::Ru] {
                    assert_ne!(state_word(*a, lang), state_word(*b, lang));
                }
            }
        }
    }

    #[test]
    fn shields_endpoint_schema() {
        let body = shields_json(
            State::Offline,
            Some(&RATES),
            &opts("label=realm&show=exp"),
            300,
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"schemaVersion": 1, "label": "realm", "message": "offline · EXP ×7.5",
                               "color": "red", "cacheSeconds": 300, "style": "flat"})
        );
    }

    #[test]
    fn svg_carries_state_and_colour() {
        let svg = render_svg(State::Online, Some(&RATES), &opts("lang=ru"));
        assert!(svg.contains("сервер: онлайн"));
        assert!(svg.contains("#4c1"));
    }
}
