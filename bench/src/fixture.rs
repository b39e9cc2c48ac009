//! The fixture: a `constants` table like the game's, in a database of the harness's own.
//!
//! The default table is the demo one (seven mapped constants and a few dozen others with
//! Cyrillic descriptions, ~4–5 KB of JSON). `generated(n)` makes bigger ones for the
//! refresher's scaling runs.

use status_document::{ConstantRow, RowValue};

/// One row: name, value as stored (text), description.
pub type Row = (String, String, String);

/// Schema of the fixture table: the game's own shape (value as text, so numbers, decimals
/// and words all appear as they do in production), from the one definition in dev-support.
pub fn create_table() -> String {
    dev_support::constants::Columns::default().create_table()
}

const MAPPED: [(&str, &str, &str); 7] = [
    (
        "ServerStatus",
        "1",
        "Статус сервера: 1 — включен, 0 — выключен",
    ),
    ("RateExp", "2.5", "Множитель опыта за убийство монстров"),
    ("RatePvp", "1", "Множитель очков за победы в PvP"),
    ("RatePve", "1.5", "Множитель наград за PvE-активности"),
    (
        "RateColorMob",
        "2",
        "Множитель опыта за цветных (элитных) монстров",
    ),
    ("RateSkill", "3", "Множитель скорости прокачки навыков"),
    (
        "CLIENT_STATUS",
        "256",
        "Минимальная версия клиента, допущенная к входу",
    ),
];

const OTHERS: [&str; 34] = [
    "Максимальное число игроков онлайн",
    "Время до перезагрузки сервера, минут",
    "Шанс выпадения редких предметов, проценты",
    "Множитель выпадения золота с монстров",
    "Максимальный уровень персонажа",
    "Стоимость телепортации между городами",
    "Длительность защиты новичка, часов",
    "Лимит персонажей на аккаунт",
    "Интервал сохранения мира, секунд",
    "Шанс успешной заточки оружия",
    "Шанс успешной заточки брони",
    "Налог на торговлю на аукционе, проценты",
    "Максимальный размер гильдии",
    "Время возрождения рейдовых боссов, часов",
    "Множитель опыта питомцев",
    "Скорость восстановления здоровья вне боя",
    "Скорость восстановления маны вне боя",
    "Штраф опыта при смерти, проценты",
    "Длительность осады замка, минут",
    "День недели осады замка",
    "Максимум предметов в личном магазине",
    "Лимит слотов склада",
    "Шанс дропа камней улучшения",
    "Множитель награды за ежедневные задания",
    "Включены ли сезонные события",
    "Количество каналов на локацию",
    "Таймаут бездействия перед отключением, минут",
    "Максимальная длина сообщения в чате",
    "Задержка между сообщениями в общем чате, секунд",
    "Уровень, с которого доступен PvP",
    "Множитель очков репутации фракции",
    "Стоимость смены имени персонажа",
    "Порог автоматического бана за флуд",
    "Версия протокола игрового клиента",
];

/// The demo table: 7 mapped constants + 34 others (41 rows).
pub fn demo() -> Vec<Row> {
    let mapped = MAPPED
        .iter()
        .map(|(n, v, d)| ((*n).to_owned(), (*v).to_owned(), (*d).to_owned()));
    let others = OTHERS.iter().enumerate().map(|(i, d)| {
        (
            format!("Const{:02}", i + 1),
            ((i * 37) % 1000).to_string(),
            (*d).to_owned(),
        )
    });
    mapped.chain(others).collect()
}

/// The demo table padded with generated constants up to `n` rows.
pub fn generated(n: usize) -> Vec<Row> {
    let mut rows = demo();
    rows.truncate(n);
    let start = rows.len();
    rows.extend((start..n).map(|i| {
        (
            format!("Generated{i:06}"),
            (i % 997).to_string(),
            format!("Сгенерированная константа номер {i}"),
        )
    }));
    rows
}

/// The rows as the document crate reads them from MySQL's text protocol.
pub fn constant_rows(rows: &[Row]) -> Vec<ConstantRow> {
    rows.iter()
        .map(|(name, value, description)| ConstantRow {
            name: name.clone(),
            value: RowValue::Bytes(value.clone().into_bytes()),
            description: Some(description.clone()),
        })
        .collect()
}

/// Multi-row `INSERT` statements of at most `chunk` rows each, values escaped.
pub fn insert_statements(rows: &[Row], chunk: usize) -> Vec<String> {
    rows.chunks(chunk.max(1))
        .map(|chunk| {
            let values: Vec<String> = chunk
                .iter()
                .map(|(n, v, d)| format!("({}, {}, {})", quote(n), quote(v), quote(d)))
                .collect();
            format!(
                "INSERT INTO constants (Name, Value, Description) VALUES {}",
                values.join(", ")
            )
        })
        .collect()
}

/// A MySQL string literal (backslash and quote escaped; the fixture has no other specials).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use status_document::BuildOptions;

    fn document_size(rows: &[Row]) -> usize {
        status_document::build(&constant_rows(rows), &BuildOptions::default(), 0.0)
            .unwrap()
            .json
            .len()
    }

    #[test]
    fn demo_is_a_realistic_document() {
        let rows = demo();
        assert_eq!(rows.len(), 41);
        let size = document_size(&rows);
        assert!((3_000..=5_500).contains(&size), "{size} bytes");
    }

    #[test]
    fn generated_sizes_and_escaping() {
        assert_eq!(generated(1000).len(), 1000);
        assert_eq!(generated(10)[9].0, "Const03");
        assert_eq!(generated(50)[45].0, "Generated000045");
        let statements = insert_statements(&generated(2500), 1000);
        assert_eq!(statements.len(), 3);
        assert_eq!(quote("a'b\\c"), "'a''b\\\\c'");
    }
}
