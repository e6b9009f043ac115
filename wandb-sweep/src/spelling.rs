//! "Did you mean" suggestions for misspelled keys and names.

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
///
/// Case differences count as near-misses (`Grid` suggests `grid`).
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    if lower.len() >= 3 {
        let prefixed = candidates
            .iter()
            .find(|c| c.to_lowercase().starts_with(&lower));
        if let Some(c) = prefixed {
            return Some(c);
        }
    }
    candidates
        .iter()
        .map(|&c| (distance(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (c.chars().count() / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// ` did you mean `x`?` or the empty string.
pub(crate) fn hint(word: &str, candidates: &[&str]) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["parameters", "metric", "method"];
        assert_eq!(closest("paramters", &keys), Some("parameters"));
        assert_eq!(closest("Method", &keys), Some("method"));
        assert_eq!(closest("learning_rate", &keys), None);
        assert_eq!(closest("max", &["minimize", "maximize"]), Some("maximize"));
        assert_eq!(
            closest("log_uniform_value", &["log_uniform_values", "uniform"]),
            Some("log_uniform_values")
        );
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
