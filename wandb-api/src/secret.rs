//! The API key as a secret: never shown in `Debug`, `Display`, errors or logs.

use std::fmt;

/// A W&B API key. Formatting it shows `ApiKey(***)`; only [`ApiKey::expose`] gives the text.
///
/// ```
/// let key = wandb_api::ApiKey::new("local-0123456789012345678901234567890123456789");
/// assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
/// assert!(key.expose().starts_with("local-"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace removed).
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_owned())
    }

    /// The key itself, for the `Authorization` header only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the key has W&B's shape: an optional `prefix-` then at least 40 characters
    /// of `[A-Za-z0-9_]`, or a JWT (three base64url segments).
    #[must_use]
    pub fn looks_valid(&self) -> bool {
        let jwt = self.0.split('.').count() == 3
            && self.0.split('.').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        let secret = self.0.rsplit('-').next().unwrap_or_default();
        jwt || (secret.len() >= 40
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_check() {
        assert!(ApiKey::new("local-0123456789012345678901234567890123456789").looks_valid());
        assert!(ApiKey::new("a".repeat(40)).looks_valid());
        assert!(!ApiKey::new("short").looks_valid());
        assert!(ApiKey::new("aGVhZA.Ym9keQ.c2ln").looks_valid());
    }
}
