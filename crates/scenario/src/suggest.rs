//! "Did you mean …?": the closest valid name to a misspelt key, variant or
//! built-in scenario, by Jaro similarity (strsim), with the threshold clap
//! uses for misspelt subcommands, so the two kinds of hint agree.

/// The least Jaro similarity a candidate needs to be suggested (clap's).
const MIN_SIMILARITY: f64 = 0.7;

/// The candidate most similar to `word`, if any is similar enough; the
/// first of equally similar ones, so the answer depends only on the input.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro(word, c);
        if score >= MIN_SIMILARITY && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// A hint for serde's "unknown field `x`, expected one of `a`, `b`" and
/// "unknown variant `x`, expected one of …" messages: the closest of the
/// expected names, phrased as "did you mean `a`?".
pub fn hint_for_unknown(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))?;
    let (word, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected ")?.1;
    let names = expected.split('`').skip(1).step_by(2);
    closest(word, names).map(|name| format!("did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_name_finds_its_closest_and_nonsense_finds_none() {
        let keys = ["ring_size", "queues", "line_rate_gbps", "coalesce"];
        assert_eq!(closest("queus", keys), Some("queues"));
        assert_eq!(closest("colaesce", keys), Some("coalesce"));
        assert_eq!(closest("zzzzzzzz", keys), None);
        assert_eq!(closest("queus", []), None);
    }

    #[test]
    fn serde_messages_give_their_hint() {
        let m = "unknown field `queus`, expected one of `queues`, `ring_size`, `affinity`";
        assert_eq!(hint_for_unknown(m).as_deref(), Some("did you mean `queues`?"));
        let m = "unknown variant `poison`, expected one of `fixed`, `poisson`";
        assert_eq!(hint_for_unknown(m).as_deref(), Some("did you mean `poisson`?"));
        let m = "unknown variant `poison`, expected `poisson` or `fixed`";
        assert_eq!(hint_for_unknown(m).as_deref(), Some("did you mean `poisson`?"));
        assert_eq!(hint_for_unknown("expected a positive number"), None);
        assert_eq!(hint_for_unknown("unknown field `xqxqxq`, expected `queues`"), None);
    }
}
