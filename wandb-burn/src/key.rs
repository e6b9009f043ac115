//! History keys: burn's split as a prefix, burn's metric name as a W&B key.

use burn_train::metric::store::Split;

/// The key prefix of a split: `train`, `valid`, `test`, or `test/<tag>` for a tagged test
/// split (the tag trimmed, lower-cased, spaces as `-`, as burn names its directories).
///
/// ```
/// use std::sync::Arc;
/// use burn_train::metric::store::Split;
/// assert_eq!(wandb_burn::split_prefix(&Split::Valid), "valid");
/// assert_eq!(wandb_burn::split_prefix(&Split::Test(Some(Arc::new(" Hold Out ".into())))), "test/hold-out");
/// ```
#[must_use]
pub fn split_prefix(split: &Split) -> String {
    match split {
        Split::Train => "train".to_owned(),
        Split::Valid => "valid".to_owned(),
        Split::Test(None) => "test".to_owned(),
        Split::Test(Some(tag)) => {
            format!("test/{}", tag.trim().replace(' ', "-").to_lowercase())
        }
    }
}

/// The history key of a burn metric in a split: `<prefix>/<name>`, the name lower-cased with
/// spaces as `_` (`Learning Rate` in `train` is `train/learning_rate`).
///
/// ```
/// use burn_train::metric::store::Split;
/// assert_eq!(wandb_burn::metric_key(&Split::Train, "Learning Rate"), "train/learning_rate");
/// ```
#[must_use]
pub fn metric_key(split: &Split, name: &str) -> String {
    let name: String = name
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!("{}/{}", split_prefix(split), name.to_lowercase())
}
