//! The numeric entries burn reads back through `MetricLogger::read_numeric`.

use std::collections::HashMap;

use burn_train::metric::NumericEntry;
use burn_train::metric::store::Split;

/// Every numeric entry logged, by metric name, split and epoch (as burn's in-memory logger
/// keeps them), so that burn's checkpointing and early stopping can aggregate an epoch.
#[derive(Debug, Default)]
pub(crate) struct NumericHistory {
    entries: HashMap<(Split, usize), HashMap<String, Vec<NumericEntry>>>,
}

impl NumericHistory {
    /// Keeps `serialized` if it is a numeric entry (burn's serialized form); other entries
    /// (text metrics, `N/A` placeholders) are not numeric and are skipped, as burn skips them.
    pub(crate) fn push(&mut self, name: &str, epoch: usize, split: &Split, serialized: &str) {
        let Ok(entry) = NumericEntry::deserialize(serialized) else {
            return;
        };
        let by_name = self.entries.entry((split.clone(), epoch)).or_default();
        match by_name.get_mut(name) {
            Some(list) => list.push(entry),
            None => {
                by_name.insert(name.to_owned(), vec![entry]);
            }
        }
    }

    /// The entries of `name` in `epoch` of `split`, oldest first (empty when there are none).
    pub(crate) fn read(&self, name: &str, epoch: usize, split: &Split) -> Vec<NumericEntry> {
        self.entries
            .get(&(split.clone(), epoch))
            .and_then(|by_name| by_name.get(name))
            .cloned()
            .unwrap_or_default()
    }
}
