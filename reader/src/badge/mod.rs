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

pub mod endpoint;
pub mod options;
pub mod svg;
pub mod verdana;
pub mod words;

use status_document::{Rates, State};

use options::BadgeOptions;
use svg::Badge;
use words::Lang;

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

/// The message: the state, then the rates asked for with `show`. Rates are only shown
/// beside a state the reader vouches for; next to `unknown` they could be long out of date.
pub fn message(state: State, rates: Option<&Rates>, options: &BadgeOptions) -> String {
    let mut message = state_word(state, options.lang).to_owned();
    if let Some(rates) = rates.filter(|_| state != State::Unknown) {
        for rate in &options.show {
            message.push_str(" · ");
            message.push_str(&rate.phrase(rates, options.lang));
        }
    }
    message
}

/// The SVG for `state`.
pub fn render_svg(state: State, rates: Option<&Rates>, options: &BadgeOptions) -> String {
    let message = message(state, rates, options);
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
    rates: Option<&Rates>,
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
        message: message(state, rates, options),
        color: color_name(state),
        cache_seconds,
        style: options.style.as_str(),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: Rates = Rates {
        exp: 7.5,
        pvp: 2.0,
        pve: 1.0,
        color_mob: 1.0,
        skill: 1.0,
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
