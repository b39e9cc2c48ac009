//! What the status page says, in English and Russian, and which of the two a request gets.
//!
//! One table of fixed phrases per language ([`Words`]) rather than a translation crate: the
//! page has a few dozen phrases and the `.wasm` has a size budget. The language comes from
//! `?lang=` first (a link can pin it), then `Accept-Language` (the browser's choice), then
//! English. The badge's [`Lang`] is reused, so both speak the same two languages.

pub use crate::badge::words::Lang;
use crate::query;

/// The fixed phrases of one language.
pub struct Words {
    pub lang: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub all_ok: &'static str,
    pub partial: &'static str,
    pub major: &'static str,
    pub maintenance_now: &'static str,
    pub none_known: &'static str,
    pub some_unknown: &'static str,
    pub no_servers: &'static str,
    /// Online, offline, maintenance, not known (in [`status_document::State`]'s order).
    pub states: [&'static str; 4],
    /// Unreachable, timeout, bad answer.
    pub reasons: [&'static str; 3],
    pub until: &'static str,
    pub was: &'static str,
    pub players: &'static str,
    pub players_24h: &'static str,
    pub peak: &'static str,
    pub online: &'static str,
    pub days: &'static str,
    pub uptime: &'static str,
    pub outage: &'static str,
    pub maintenance: &'static str,
    pub no_data: &'static str,
    /// 24 hours, 7, 30 and 90 days.
    pub windows: [&'static str; 4],
    pub incidents: &'static str,
    pub no_incidents: &'static str,
    pub ongoing: &'static str,
    pub updated: &'static str,
    pub more_servers: &'static str,
    /// Second, minute, hour, day.
    pub units: [&'static str; 4],
    pub not_yet: &'static str,
    pub not_yet_text: &'static str,
    pub unavailable: &'static str,
    pub unavailable_text: &'static str,
    pub unreadable: &'static str,
    pub unreadable_text: &'static str,
}

pub const EN: Words = Words {
    lang: "en",
    title: "Server status",
    description: "Live status, players, uptime and incidents of the game servers.",
    all_ok: "All systems operational",
    partial: "Partial outage",
    major: "Major outage",
    maintenance_now: "Maintenance in progress",
    none_known: "Status not known",
    some_unknown: "Some servers' status is not known",
    no_servers: "No servers are listed",
    states: ["Online", "Offline", "Maintenance", "Not known"],
    reasons: ["unreachable", "timeout", "unexpected answer"],
    until: "until",
    was: "last known",
    players: "Players",
    players_24h: "Players over the last 24 hours",
    peak: "peak",
    online: "online",
    days: "Daily uptime over the last 90 days",
    uptime: "uptime",
    outage: "outage",
    maintenance: "maintenance",
    no_data: "no data",
    windows: ["24 h", "7 days", "30 days", "90 days"],
    incidents: "Incidents in the last 14 days",
    no_incidents: "No incidents.",
    ongoing: "ongoing",
    updated: "Updated",
    more_servers: "More servers are listed at",
    units: ["s", "min", "h", "d"],
    not_yet: "Status not known yet",
    not_yet_text: "The status page has not been published yet. Please try again in a minute.",
    unavailable: "Status unavailable",
    unavailable_text: "The status store cannot be reached right now. Please try again shortly.",
    unreadable: "Status page unreadable",
    unreadable_text: "The stored status page cannot be shown. The operators have been told in the logs.",
};

pub const RU: Words = Words {
    lang: "ru",
    title: "Состояние серверов",
    description: "Состояние игровых серверов: игроки, доступность и сбои.",
    all_ok: "Все системы работают",
    partial: "Частичный сбой",
    major: "Серьёзный сбой",
    maintenance_now: "Идут технические работы",
    none_known: "Состояние неизвестно",
    some_unknown: "Состояние части серверов неизвестно",
    no_servers: "Серверов нет",
    states: ["Работает", "Недоступен", "Техработы", "Неизвестно"],
    reasons: [
        "не отвечает на подключение",
        "нет ответа вовремя",
        "непонятный ответ",
    ],
    until: "до",
    was: "последнее известное",
    players: "Игроки",
    players_24h: "Игроки за последние 24 часа",
    peak: "максимум",
    online: "без сбоев",
    days: "Доступность по дням за 90 дней",
    uptime: "доступность",
    outage: "сбой",
    maintenance: "техработы",
    no_data: "нет данных",
    windows: ["24 ч", "7 дней", "30 дней", "90 дней"],
    incidents: "Сбои за последние 14 дней",
    no_incidents: "Сбоев не было.",
    ongoing: "продолжается",
    updated: "Обновлено",
    more_servers: "Остальные серверы перечислены на",
    units: ["с", "мин", "ч", "д"],
    not_yet: "Состояние пока неизвестно",
    not_yet_text: "Страница состояния ещё не опубликована. Попробуйте через минуту.",
    unavailable: "Состояние недоступно",
    unavailable_text: "Хранилище состояния сейчас недоступно. Попробуйте чуть позже.",
    unreadable: "Страница состояния повреждена",
    unreadable_text: "Сохранённую страницу состояния нельзя показать. Подробности в журнале сервера.",
};

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
