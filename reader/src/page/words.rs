//! What the status page says, in English and Russian, and which of the two a request gets.
//!
//! One table of fixed phrases, each with its English and Russian side by side ([`Words`],
//! [`EN`], [`RU`]), rather than a translation crate: the page has a few dozen phrases and
//! the `.wasm` has a size budget. The language comes from
//! `?lang=` first (a link can pin it), then `Accept-Language` (the browser's choice), then
//! English. The badge's [`Lang`] is reused, so both speak the same two languages.

pub use crate::badge::words::Lang;
use crate::query;

/// Declares [`Words`] and its two tables, [`EN`] and [`RU`], from one list: each phrase
/// once, its English and its Russian side by side (a translation is read beside its
/// original, and neither table can miss a phrase). Lists are phrases in a fixed order.
macro_rules! words {
    (
        phrases {
            $(
                $(#[doc = $phrase_doc:literal])*
                $phrase:ident = $phrase_en:literal, $phrase_ru:literal;
            )*
        }
        lists {
            $(
                $(#[doc = $list_doc:literal])*
                $list:ident: $n:literal = $list_en:expr, $list_ru:expr;
            )*
        }
    ) => {
        /// The fixed phrases of one language.
        pub struct Words {
            $($(#[doc = $phrase_doc])* pub $phrase: &'static str,)*
            $($(#[doc = $list_doc])* pub $list: [&'static str; $n],)*
        }

        pub const EN: Words = Words {
            $($phrase: $phrase_en,)*
            $($list: $list_en,)*
        };

        pub const RU: Words = Words {
            $($phrase: $phrase_ru,)*
            $($list: $list_ru,)*
        };
    };
}

words! {
    phrases {
        lang =
            "en",
            "ru";
        title =
            "Server status",
            "Состояние серверов";
        description =
            "Live status, players, uptime and incidents of the game servers.",
            "Состояние игровых серверов: игроки, доступность и сбои.";
        all_ok =
            "All systems operational",
            "Все системы работают";
        partial =
            "Partial outage",
            "Частичный сбой";
        major =
            "Major outage",
            "Серьёзный сбой";
        maintenance_now =
            "Maintenance in progress",
            "Идут технические работы";
        none_known =
            "Status not known",
            "Состояние неизвестно";
        some_unknown =
            "Some servers' status is not known",
            "Состояние части серверов неизвестно";
        no_servers =
            "No servers are listed",
            "Серверов нет";
        until =
            "until",
            "до";
        was =
            "last known",
            "последнее известное";
        players =
            "Players",
            "Игроки";
        players_24h =
            "Players over the last 24 hours",
            "Игроки за последние 24 часа";
        peak =
            "peak",
            "максимум";
        online =
            "online",
            "без сбоев";
        days =
            "Daily uptime over the last 90 days",
            "Доступность по дням за 90 дней";
        uptime =
            "uptime",
            "доступность";
        outage =
            "outage",
            "сбой";
        maintenance =
            "maintenance",
            "техработы";
        no_data =
            "no data",
            "нет данных";
        incidents =
            "Incidents in the last 14 days",
            "Сбои за последние 14 дней";
        no_incidents =
            "No incidents.",
            "Сбоев не было.";
        ongoing =
            "ongoing",
            "продолжается";
        updated =
            "Updated",
            "Обновлено";
        more_servers =
            "More servers are listed at",
            "Остальные серверы перечислены на";
        not_yet =
            "Status not known yet",
            "Состояние пока неизвестно";
        not_yet_text =
            "The status page has not been published yet. Please try again in a minute.",
            "Страница состояния ещё не опубликована. Попробуйте через минуту.";
        unavailable =
            "Status unavailable",
            "Состояние недоступно";
        unavailable_text =
            "The status store cannot be reached right now. Please try again shortly.",
            "Хранилище состояния сейчас недоступно. Попробуйте чуть позже.";
        unreadable =
            "Status page unreadable",
            "Страница состояния повреждена";
        unreadable_text =
            "The stored status page cannot be shown. The operators have been told in the logs.",
            "Сохранённую страницу состояния нельзя показать. Подробности в журнале сервера.";
    }
    lists {
        /// Online, offline, maintenance, not known (in [`status_document::State`]'s order).
        states: 4 =
            ["Online", "Offline", "Maintenance", "Not known"],
            ["Работает", "Недоступен", "Техработы", "Неизвестно"];
        /// Unreachable, timeout, bad answer.
        reasons: 3 =
            ["unreachable", "timeout", "unexpected answer"],
            ["не отвечает на подключение", "нет ответа вовремя", "непонятный ответ"];
        /// 24 hours, 7, 30 and 90 days.
        windows: 4 =
            ["24 h", "7 days", "30 days", "90 days"],
            ["24 ч", "7 дней", "30 дней", "90 дней"];
        /// Second, minute, hour, day.
        units: 4 =
            ["s", "min", "h", "d"],
            ["с", "мин", "ч", "д"];
    }
}

/// The phrases of `lang`.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
    }
}

/// The page's language: `?lang=en|ru` in `target`, else the most preferred of the two in
/// `accept_language`, else English. An unknown `lang` value is not an error (a person
/// reads this page): it falls through to the header. The query is scanned, not decoded
/// ([`query::pairs`] allocates every pair): `en` and `ru` have nothing to percent-encode.
pub fn choose(target: &str, accept_language: Option<&[u8]>) -> Lang {
    query::query_of(target)
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang=").and_then(Lang::parse))
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or(Lang::En)
}

/// The first of `en` or `ru` with the highest weight in an `Accept-Language` value
/// (RFC 9110 §12.5.4): `ru-RU,ru;q=0.9,en;q=0.8` is Russian, `de,en;q=0.5,ru;q=0.4`
/// English. Entries with `q=0` are refused languages. Weights are read as thousandths
/// without float parsing (the value is already bounded by the request head).
fn from_accept_language(value: &[u8]) -> Option<Lang> {
    let text = std::str::from_utf8(value).ok()?;
    let mut best: Option<(u32, Lang)> = None;
    for entry in text.split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let lang = if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else if primary.eq_ignore_ascii_case("ru") {
            Lang::Ru
        } else {
            continue;
        };
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, thousandths);
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// `1`, `0.8`, `0.125` as thousandths; anything else as 0 (not acceptable).
fn thousandths(q: &str) -> u32 {
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    let whole = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return 0,
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let digits = frac.bytes().chain(std::iter::repeat(b'0')).take(3);
    let frac = digits.fold(0, |n, b| n * 10 + u32::from(b - b'0'));
    (whole + frac).min(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn al(s: &str) -> Option<Lang> {
        from_accept_language(s.as_bytes())
    }

    #[test]
    fn query_first_then_header_then_english() {
        assert_eq!(choose("/status?lang=ru", Some(b"en")), Lang::Ru);
        assert_eq!(choose("/status?lang=en", Some(b"ru")), Lang::En);
        assert_eq!(choose("/status?lang=de", Some(b"ru")), Lang::Ru);
        assert_eq!(choose("/status?lang=%ZZ", Some(b"ru")), Lang::Ru);
        assert_eq!(choose("/status?x=1&lang=ru#f", None), Lang::Ru);
        assert_eq!(choose("/status?xlang=ru", None), Lang::En);
        assert_eq!(choose("/status", Some(b"ru-RU,ru;q=0.9")), Lang::Ru);
        assert_eq!(choose("/status", None), Lang::En);
        assert_eq!(choose("/status", Some(b"de-DE")), Lang::En);
        assert_eq!(choose("/status", Some(&[0xff, 0xfe])), Lang::En);
    }

    #[test]
    fn accept_language_weights() {
        assert_eq!(al("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Lang::Ru));
        assert_eq!(al("de,en;q=0.5,ru;q=0.4"), Some(Lang::En));
        assert_eq!(al("en;q=0.3, RU ;q=0.7"), Some(Lang::Ru));
        assert_eq!(al("ru;q=0,en;q=0.1"), Some(Lang::En));
        assert_eq!(al("ru;q=0"), None);
        assert_eq!(al("en, ru"), Some(Lang::En), "equal weights: the first");
        assert_eq!(al("ru;q=1.0,en"), Some(Lang::Ru));
        assert_eq!(al("en;q=2,ru;q=0.001"), Some(Lang::Ru), "q=2 is malformed");
        assert_eq!(al("english,russian"), None);
        assert_eq!(al(""), None);
        assert_eq!(thousandths("0.125"), 125);
        assert_eq!(thousandths("0.5"), 500);
        assert_eq!(thousandths("0.1234"), 0);
        assert_eq!(thousandths("1"), 1000);
        assert_eq!(thousandths("x"), 0);
    }
}
