//! One bucket of a series and its stored form: a flat array of whole numbers rather than an
//! object, because the stored history must hold 1 008 of them within
//! [`MAX_HISTORY_BYTES`](super::MAX_HISTORY_BYTES), and the reader parses and serialises them
//! on every request without a `Vec` per bucket.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::State;

/// The column names of a stored bucket, in order (served with the series, so a page can
/// decode them without hard-coding positions). An empty array is a bucket nothing was
/// recorded in; a bucket without player samples has the first five only.
pub const BUCKET_FIELDS: [&str; 9] = [
    "online",
    "offline",
    "maintenance",
    "unknown",
    "samples",
    "player_samples",
    "players_min",
    "players_max",
    "players_sum",
];

fn state_index(state: State) -> usize {
    match state {
        State::Online => 0,
        State::Offline => 1,
        State::Maintenance => 2,
        State::Unknown => 3,
    }
}

/// Player samples of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayerStats {
    pub samples: u64,
    pub min: u64,
    pub max: u64,
    pub sum: u64,
}

impl PlayerStats {
    /// The mean, to one decimal.
    pub fn avg(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        (self.sum as f64 / self.samples as f64 * 10.0).round() / 10.0
    }
}

/// One bucket: seconds per state (online, offline, maintenance, unknown), the number of
/// observations, and the player samples. Stored as a flat array (see [`BUCKET_FIELDS`]):
/// the history must fit 1 008 of them in [`MAX_HISTORY_BYTES`](super::MAX_HISTORY_BYTES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    pub seconds: [u64; 4],
    pub samples: u64,
    pub players: Option<PlayerStats>,
}

impl Bucket {
    pub fn total(&self) -> u64 {
        self.seconds.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        *self == Bucket::default()
    }

    /// Adds up to `secs` of `state`, never past `width` in total.
    pub(super) fn add_seconds(&mut self, state: State, secs: u64, width: u64) {
        let room = width.saturating_sub(self.total());
        self.seconds[state_index(state)] += secs.min(room);
    }

    pub(super) fn add_sample(&mut self, players: Option<u64>) {
        self.samples += 1;
        if let Some(p) = players {
            let s = self.players.get_or_insert(PlayerStats {
                samples: 0,
                min: p,
                max: p,
                sum: 0,
            });
            s.samples += 1;
            s.min = s.min.min(p);
            s.max = s.max.max(p);
            s.sum = s.sum.saturating_add(p);
        }
    }
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // No intermediate Vec: the reader serialises 1 008 of these per request.
        let players = self.players.map(|p| [p.samples, p.min, p.max, p.sum]);
        let len = match (self.is_empty(), players) {
            (true, _) => 0,
            (false, None) => 5,
            (false, Some(_)) => 9,
        };
        let mut seq = serializer.serialize_seq(Some(len))?;
        if len > 0 {
            for v in self.seconds.iter().chain([&self.samples]) {
                seq.serialize_element(v)?;
            }
            for v in players.iter().flatten() {
                seq.serialize_element(v)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Row;
        impl<'de> serde::de::Visitor<'de> for Row {
            type Value = Bucket;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a bucket of 0, 5 or 9 whole numbers")
            }
            // Into a fixed array, not a Vec: the reader parses 1 008 of these per request.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Bucket, A::Error> {
                let mut row = [0u64; 9];
                let mut n = 0;
                while let Some(v) = seq.next_element::<u64>()? {
                    if n == row.len() {
                        return Err(A::Error::custom("a bucket has 0, 5 or 9 numbers"));
                    }
                    row[n] = v;
                    n += 1;
                }
                let [on, off, mnt, unk, samples, pn, min, max, sum] = row;
                let players = match n {
                    0 => return Ok(Bucket::default()),
                    5 => None,
                    9 if pn > 0 && min <= max => Some(PlayerStats {
                        samples: pn,
                        min,
                        max,
                        sum,
                    }),
                    9 => return Err(A::Error::custom("bucket players out of order")),
                    _ => return Err(A::Error::custom("a bucket has 0, 5 or 9 numbers")),
                };
                Ok(Bucket {
                    seconds: [on, off, mnt, unk],
                    samples,
                    players,
                })
            }
        }
        deserializer.deserialize_seq(Row)
    }
}
