//! What the badge and `shields.json` say, in English and Russian.
//!
//! The site is Russian, so `ru` is a first-class language rather than a translation of the
//! English badge: its own default label and state words. Rates keep the document's field
//! names in the query (`show=exp`) and get a short, translated prefix in the message.
//! `show=players` appends the players count, with the noun in its plural form
//! (`150 players`, `1 игрок`, `2 игрока`, `5 игроков`).

use status_document::Rates;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    pub fn default_label(self) -> &'static str {
        match self {
            Lang::En => "server",
            Lang::Ru => "сервер",
        }
    }
}

/// A rate the badge can show, named as in the document's `rates` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateName {
    Exp,
    Pvp,
    Pve,
    Skill,
    ColorMob,
}

impl RateName {
    pub fn parse(s: &str) -> Option<RateName> {
        match s {
            "exp" => Some(RateName::Exp),
            "pvp" => Some(RateName::Pvp),
            "pve" => Some(RateName::Pve),
            "skill" => Some(RateName::Skill),
            "color_mob" => Some(RateName::ColorMob),
            _ => None,
        }
    }

    fn value(self, rates: &Rates) -> f64 {
        match self {
            RateName::Exp => rates.exp,
            RateName::Pvp => rates.pvp,
            RateName::Pve => rates.pve,
            RateName::Skill => rates.skill,
            RateName::ColorMob => rates.color_mob,
        }
    }

    fn word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (RateName::Exp, Lang::En) => "EXP",
            (RateName::Exp, Lang::Ru) => "Опыт",
            (RateName::Pvp, _) => "PvP",
            (RateName::Pve, _) => "PvE",
            (RateName::Skill, Lang::En) => "Skill",
            (RateName::Skill, Lang::Ru) => "Навыки",
            (RateName::ColorMob, Lang::En) => "Mobs",
            (RateName::ColorMob, Lang::Ru) => "Мобы",
        }
    }

    /// `EXP ×7.5`.
    pub fn phrase(self, rates: &Rates, lang: Lang) -> String {
        format!("{} ×{}", self.word(lang), number(self.value(rates)))
    }
}

/// What `show` can append to the message: a rate, the players count, or the uptime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Rate(RateName),
    Players,
    Uptime,
}

impl Shown {
    pub fn parse(s: &str) -> Option<Shown> {
        match s {
            "players" => Some(Shown::Players),
            "uptime" => Some(Shown::Uptime),
            _ => RateName::parse(s).map(Shown::Rate),
        }
    }
}

/// `99.7% 30d`, `99,7% за 30 дн.`: the 30-day uptime, cut (not rounded) to one decimal so
/// 99.97 % never reads as 100 %.
pub fn uptime_phrase(percent: f64, lang: Lang) -> String {
    let tenths = (percent * 10.0 + 1e-6).floor() / 10.0;
    let shown = number(tenths);
    match lang {
        Lang::En => format!("{shown}% 30d"),
        Lang::Ru => format!("{}% за 30 дн.", shown.replace('.', ",")),
    }
}

/// `150 players`, `21 игрок`: the count with its noun in the plural form the number takes.
pub fn players_phrase(count: u64, lang: Lang) -> String {
    let noun = match lang {
        Lang::En if count == 1 => "player",
        Lang::En => "players",
        Lang::Ru => ["игрок", "игрока", "игроков"][russian_plural(count)],
    };
    format!("{count} {noun}")
}

/// The Russian plural form of a count: 0 for 1, 21, 101 (`игрок`), 1 for 2–4, 22–24
/// (`игрока`), 2 for 0, 5–20, 25–30, 111–114 (`игроков`). The teens take the third form
/// whatever their last digit.
pub fn russian_plural(n: u64) -> usize {
    match (n % 10, n % 100) {
        (_, 11..=14) => 2,
        (1, _) => 0,
        (2..=4, _) => 1,
        _ => 2,
    }
}

/// A rate as people write it: `7.5`, `3`, `0.25`; at most two decimals, no trailing zeros,
/// and no runaway digits for absurd values (documents are validated, not trusted to be
/// sane). Integer formatting only: float formatting would add tens of KB to the `.wasm`.
pub fn number(v: f64) -> String {
    const LIMIT: f64 = 1e9;
    if !v.is_finite() || v.abs() >= LIMIT {
        return if v < 0.0 { "-∞" } else { "∞" }.to_owned();
    }
    let hundredths = (v * 100.0).round() as i64;
    let (sign, h) = if hundredths < 0 {
        ("-", -hundredths)
    } else {
        ("", hundredths)
    };
    let (whole, frac) = (h / 100, h % 100);
    match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(7.5), "7.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.33");
        assert_eq!(number(-0.001), "0");
        assert_eq!(number(-1.25), "-1.25");
        assert_eq!(number(0.05), "0.05");
        assert_eq!(number(1e300), "∞");
        assert_eq!(number(100.0), "100");
    }

    #[test]
    fn phrases() {
        let rates = Rates {
            exp: 7.5,
            pvp: 2.0,
            pve: 1.0,
            color_mob: 1.0,
            skill: 1.5,
        };
        assert_eq!(RateName::Exp.phrase(&rates, Lang::En), "EXP ×7.5");
        assert_eq!(RateName::Exp.phrase(&rates, Lang::Ru), "Опыт ×7.5");
        assert_eq!(RateName::Skill.phrase(&rates, Lang::Ru), "Навыки ×1.5");
    }

    #[test]
    fn players_in_both_languages() {
        for (n, en, ru) in [
            (0, "0 players", "0 игроков"),
            (1, "1 player", "1 игрок"),
            (2, "2 players", "2 игрока"),
            (4, "4 players", "4 игрока"),
            (5, "5 players", "5 игроков"),
            (11, "11 players", "11 игроков"),
            (12, "12 players", "12 игроков"),
            (14, "14 players", "14 игроков"),
            (21, "21 players", "21 игрок"),
            (22, "22 players", "22 игрока"),
            (111, "111 players", "111 игроков"),
            (112, "112 players", "112 игроков"),
            (150, "150 players", "150 игроков"),
            (1001, "1001 players", "1001 игрок"),
            (4_294_967_296, "4294967296 players", "4294967296 игроков"),
        ] {
            assert_eq!(players_phrase(n, Lang::En), en);
            assert_eq!(players_phrase(n, Lang::Ru), ru);
        }
    }

    #[test]
    fn show_items() {
        assert_eq!(Shown::parse("players"), Some(Shown::Players));
        assert_eq!(Shown::parse("exp"), Some(Shown::Rate(RateName::Exp)));
        assert_eq!(Shown::parse("player"), None);
        assert_eq!(Shown::parse("max_players"), None);
    }
}
