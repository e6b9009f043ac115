//! Metric keys interned to small ids on the logging side, so that logging a row allocates
//! no key strings; the writer learns each new name once, in id order.

use std::collections::HashMap;

/// The id of an interned key (ids count up from 0 in first-use order).
pub(crate) type KeyId = u32;

/// The logging side's key table.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    /// foldhash: keys are the caller's own metric names, not attacker input, and SipHash
    /// cost a tenth of a `log` call.
    ids: HashMap<Box<str>, KeyId, foldhash::fast::RandomState>,
    /// Every name, by id.
    names: Vec<Box<str>>,
    /// Names before this index were shipped to the writer.
    shipped: usize,
}

impl Keys {
    /// The id of `key`, interning it on first use.
    pub(crate) fn id(&mut self, key: &str) -> KeyId {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = KeyId::try_from(self.ids.len()).unwrap_or(KeyId::MAX);
        self.ids.insert(key.into(), id);
        self.names.push(key.into());
        id
    }

    /// The id of `key` if it was interned.
    pub(crate) fn get(&self, key: &str) -> Option<KeyId> {
        self.ids.get(key).copied()
    }

    /// The name of key `id` (empty for an unknown id).
    pub(crate) fn name(&self, id: KeyId) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// Appends the names interned since the last call to `names`.
    pub(crate) fn ship(&mut self, names: &mut Vec<Box<str>>) {
        if self.shipped < self.names.len() {
            names.extend(self.names[self.shipped..].iter().cloned());
            self.shipped = self.names.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_new_names_ship_once_in_order() {
        let mut keys = Keys::default();
        assert_eq!(
            (keys.id("loss"), keys.id("acc"), keys.id("loss")),
            (0, 1, 0)
        );
        let mut names = Vec::new();
        keys.ship(&mut names);
        keys.ship(&mut names);
        assert_eq!(names, [Box::from("loss"), Box::from("acc")]);
        assert_eq!(
            (keys.get("acc"), keys.get("lr"), keys.name(1)),
            (Some(1), None, "acc")
        );
    }
}
