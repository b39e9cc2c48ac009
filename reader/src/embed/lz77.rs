//! LZ77 codec for the component's static files (LZ4's block format, own code both ways).
//!
//! Why: the OpenAPI document, the widget and its demo page are about 52 KB of the `.wasm`,
//! which has a 300 KB budget; stored compressed they take about a third of that. The
//! decoder is a few hundred bytes of code and runs only when one of those files is served
//! (never on `/server/status`'s path). `build.rs` compresses with [`compress`] and checks
//! that [`decompress`] gives the input back, byte for byte; a unit test checks the same
//! for the embedded copies against the plain files. The encoder lives here too (`build.rs`
//! includes this file), so the format has one definition; in the component it is dead
//! code the linker drops, hence its `dead_code` allows.
//!
//! Format: a sequence of blocks, each a token byte (high nibble: literal count, low
//! nibble: match length − 4; 15 in either means "more in the following bytes", added up
//! while they are 255), the literals, then, unless the input ends there, the match's
//! distance back (2 bytes, little-endian, 1..=65535) and the rest of its length.

/// Shortest match worth a reference (token + 2 distance bytes cost 3).
const MIN_MATCH: usize = 4;
/// How many earlier positions with the same 4-byte prefix the encoder tries.
#[allow(dead_code)]
const MAX_CHAIN: usize = 8192;

/// The first `len` bytes of what `packed` (from [`compress`]) expands to (all of it when
/// it is shorter). Decoding stops once `len` bytes are out, so a file at the front of a
/// packed stream costs only its own share of the work.
pub fn decompress(packed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < packed.len() && out.len() < len {
        let token = packed[i];
        i += 1;
        let literals = read_length(packed, &mut i, usize::from(token >> 4));
        out.extend_from_slice(&packed[i..i + literals]);
        i += literals;
        if i >= packed.len() {
            break;
        }
        let distance = usize::from(u16::from_le_bytes([packed[i], packed[i + 1]]));
        i += 2;
        let length = read_length(packed, &mut i, usize::from(token & 15)) + MIN_MATCH;
        let start = out.len() - distance;
        // A match may overlap the bytes it produces (a run): copy at most `distance`
        // bytes at a time, each piece from bytes already out.
        let mut left = length;
        while left > 0 {
            let piece = left.min(distance);
            out.extend_from_within(start..start + piece);
            left -= piece;
        }
    }
    out.truncate(len);
    out
}

fn read_length(packed: &[u8], i: &mut usize, nibble: usize) -> usize {
    let mut n = nibble;
    if nibble == 15 {
        loop {
            let b = packed[*i];
            *i += 1;
            n += usize::from(b);
            if b != 255 {
                break;
            }
        }
    }
    n
}

/// `data` compressed for [`decompress`]: greedy longest match over hash chains of
/// 4-byte prefixes, with one step of lazy matching.
#[allow(dead_code)]
pub fn compress(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let mut head = vec![usize::MAX; 1 << 16];
    let mut prev = vec![usize::MAX; n];
    let hash = |p: usize| -> usize {
        let v = u32::from_le_bytes([data[p], data[p + 1], data[p + 2], data[p + 3]]);
        (v.wrapping_mul(2_654_435_761) >> 16) as usize
    };
    let mut inserted = 0;
    let mut insert_to = |upto: usize, head: &mut Vec<usize>, prev: &mut Vec<usize>| {
        while inserted < upto && inserted + MIN_MATCH <= n {
            let h = hash(inserted);
            prev[inserted] = head[h];
            head[h] = inserted;
            inserted += 1;
        }
    };
    let longest = |p: usize, head: &Vec<usize>, prev: &Vec<usize>| -> (usize, usize) {
        let mut best = (0, 0);
        if p + MIN_MATCH > n {
            return best;
        }
        let mut cand = head[hash(p)];
        let mut steps = 0;
        while cand != usize::MAX && p - cand <= 65535 && steps < MAX_CHAIN {
            let mut l = 0;
            while p + l < n && data[cand + l] == data[p + l] {
                l += 1;
            }
            if l > best.0 {
                best = (l, p - cand);
            }
            cand = prev[cand];
            steps += 1;
        }
        best
    };
    let mut out = Vec::new();
    let mut lit_start = 0;
    let mut p = 0;
    while p < n {
        insert_to(p, &mut head, &mut prev);
        let (len, dist) = longest(p, &head, &prev);
        if len < MIN_MATCH {
            p += 1;
            continue;
        }
        insert_to(p + 1, &mut head, &mut prev);
        let (next_len, _) = longest(p + 1, &head, &prev);
        if next_len > len + 1 {
            p += 1;
            continue;
        }
        emit(&mut out, &data[lit_start..p], Some((dist, len)));
        p += len;
        lit_start = p;
    }
    emit(&mut out, &data[lit_start..n], None);
    out
}

#[allow(dead_code)]
fn emit(out: &mut Vec<u8>, literals: &[u8], m: Option<(usize, usize)>) {
    let lit_nibble = literals.len().min(15);
    let match_extra = m.map_or(0, |(_, len)| len - MIN_MATCH);
    let match_nibble = match_extra.min(15);
    out.push(((lit_nibble as u8) << 4) | match_nibble as u8);
    write_length(out, literals.len(), lit_nibble);
    out.extend_from_slice(literals);
    if let Some((dist, _)) = m {
        out.extend_from_slice(&(dist as u16).to_le_bytes());
        write_length(out, match_extra, match_nibble);
    }
}

#[allow(dead_code)]
fn write_length(out: &mut Vec<u8>, len: usize, nibble: usize) {
    if nibble == 15 {
        let mut rest = len - 15;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edge_cases_round_trip() {
        let long_run = vec![b'a'; 70_000];
        let mut far = (0..=255u8).cycle().take(66_000).collect::<Vec<u8>>();
        far.extend_from_slice(b"0123456789");
        far.extend_from_within(..300);
        for data in [&b""[..], b"a", b"abcd", b"abcdabcd", &long_run, &far] {
            let packed = compress(data);
            assert_eq!(decompress(&packed, data.len()), data);
            assert_eq!(decompress(&packed, data.len() + 10), data);
            for prefix in [0, 1, 3, 5, data.len() / 2] {
                let prefix = prefix.min(data.len());
                assert_eq!(decompress(&packed, prefix), &data[..prefix]);
            }
        }
        assert!(compress(&long_run).len() < 400);
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(data in proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            let packed = compress(&data);
            let half = data.len() / 2;
            prop_assert_eq!(decompress(&packed, half), &data[..half]);
            prop_assert_eq!(decompress(&packed, data.len()), data);
        }
    }
}
