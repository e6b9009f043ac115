//! Who the API key belongs to (the credential check).

use crate::client::Client;
use crate::error::Error;
use crate::graphql::{Viewer as ViewerQuery, viewer};
use crate::retry::RetrySafety;

/// The user an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The user's storage id.
    pub id: String,
    /// The default entity (the username), used when a run or sweep names none.
    pub entity: Option<String>,
    /// The username.
    pub username: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// The teams the user belongs to.
    pub teams: Vec<String>,
}

impl Client {
    /// The user the API key belongs to; verifies the key.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the key is refused (or `viewer` is null), and any
    /// transport error.
    pub async fn viewer(&self) -> Result<Viewer, Error> {
        let data = self
            .execute::<ViewerQuery>(viewer::Variables, RetrySafety::Idempotent)
            .await?;
        let v = data.viewer.ok_or(Error::Unauthorized)?;
        let teams = v
            .teams
            .map(|t| {
                t.edges
                    .into_iter()
                    .filter_map(|e| e.node.map(|n| n.name))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Viewer {
            id: v.id,
            entity: v.entity,
            username: v.username,
            email: v.email,
            teams,
        })
    }
}
