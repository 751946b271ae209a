//! Strategies that break valid documents: shared by the property tests of
//! every parser of outside input (also the fulfill stage's, by path).

use proptest::prelude::*;

/// `base` with some bytes replaced, some removed and some inserted.
pub fn mutated(base: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    prop::collection::vec((0..len, any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut bytes = base.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        bytes
    })
}

/// JSON-ish text: a valid document with its values swapped for odd ones.
pub fn odd_values(base: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let odd = prop_oneof![
        Just("-1".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e400".to_string()),
        Just("null".to_string()),
        Just("\"\"".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        "\"[^\"\\\\]{0,300}\"".prop_map(|s| s),
    ];
    (any::<prop::sample::Index>(), odd).prop_map(move |(which, value)| {
        // Replace the n-th number or string value after a colon.
        let spots: Vec<usize> = base.match_indices(": ").map(|(i, _)| i + 2).collect();
        let start = spots[which.index(spots.len())];
        let rest = &base[start..];
        let end = rest
            .find([',', '}', ']'])
            .map(|e| start + e)
            .unwrap_or(base.len());
        let mut text = base[..start].to_string();
        text.push_str(&value);
        text.push_str(&base[end..]);
        text.into_bytes()
    })
}
