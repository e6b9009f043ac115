//! Settings resolved once from explicit values, `WANDB_*` environment variables, netrc and
//! the settings file; the order is documented once, on [`Settings`].

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::error::Error;
use crate::netrc::netrc_password;
use crate::secret::ApiKey;

/// `WANDB_BASE_URL`: the API server.
pub const ENV_BASE_URL: &str = "WANDB_BASE_URL";
/// `WANDB_API_KEY`: the API key.
pub const ENV_API_KEY: &str = "WANDB_API_KEY";
/// `WANDB_ENTITY`: the default entity.
pub const ENV_ENTITY: &str = "WANDB_ENTITY";
/// `WANDB_PROJECT`: the default project.
pub const ENV_PROJECT: &str = "WANDB_PROJECT";
/// The W&B cloud API.
pub const DEFAULT_BASE_URL: &str = "https://api.wandb.ai";
/// The domains of W&B's cloud: only their hosts may use the `api.wandb.ai` netrc entry.
const CLOUD_DOMAINS: [&str; 2] = ["wandb.ai", "forge.coreweave.com"];

/// Where and as whom to talk to W&B.
///
/// # Where each value comes from
///
/// Each field takes the first source that has it, in the order of the official SDK
/// (`wandb/sdk/lib/wbauth`):
///
/// | field | 1 | 2 | 3 | 4 |
/// |---|---|---|---|---|
/// | `api_key` | explicit ([`SettingsBuilder::api_key`]) | `WANDB_API_KEY` | netrc | the settings file's `api_key` |
/// | `base_url` | explicit | `WANDB_BASE_URL` | the settings file's `base_url` | `https://api.wandb.ai` |
/// | `entity`, `project` | explicit | `WANDB_ENTITY`, `WANDB_PROJECT` | the settings file | none |
///
/// * netrc: `$NETRC`, else `~/.netrc`, else `~/_netrc`; the machine is the base URL's
///   `host[:port]`. W&B's own hosts (`wandb.ai`, `forge.coreweave.com` and their
///   subdomains, over https on the default port) fall back to the `api.wandb.ai` entry;
///   every other server gets only its own entry, never the cloud key.
/// * The settings file: `$WANDB_CONFIG_DIR/settings`, else `~/.config/wandb/settings`,
///   section `[default]`. Its `api_key` is used only when its `base_url` (default
///   `https://api.wandb.ai`) is the base URL in use, so netrc wins over it.
///
/// ```
/// use wandb_api::Settings;
/// let env = |k: &str| match k {
///     "WANDB_BASE_URL" => Some("http://127.0.0.1:8080/".to_owned()),
///     "WANDB_API_KEY" => Some("from-env-0123456789012345678901234567890123456789".to_owned()),
///     _ => None,
/// };
/// let s = Settings::builder().entity("team").resolve_with(env, None)?;
/// assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080");
/// assert_eq!(s.entity.as_deref(), Some("team"));
/// assert!(s.api_key.is_some());
/// assert!(!format!("{s:?}").contains("from-env"));
/// # Ok::<(), wandb_api::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The API base URL, normalised (no trailing `/`).
    pub base_url: BaseUrl,
    /// The API key, if one was found.
    pub api_key: Option<ApiKey>,
    /// The default entity.
    pub entity: Option<String>,
    /// The default project.
    pub project: Option<String>,
}

/// A validated API base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(Url);

impl BaseUrl {
    /// Parses and normalises a base URL, rejecting the W&B UI hosts and plain HTTP to W&B.
    ///
    /// ```
    /// use wandb_api::BaseUrl;
    /// assert_eq!(BaseUrl::parse("https://api.wandb.ai/")?.as_str(), "https://api.wandb.ai");
    /// assert!(BaseUrl::parse("https://wandb.ai").is_err());
    /// assert!(BaseUrl::parse("http://api.wandb.ai").is_err());
    /// # Ok::<(), wandb_api::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Configuration`] saying what is wrong.
    pub fn parse(text: &str) -> Result<BaseUrl, Error> {
        let text = text.trim();
        let text = if text.trim_end_matches('/') == "https://forge.coreweave.com/api/wandb" {
            "https://api.forge.coreweave.com"
        } else {
            text
        };
        let bad = |why: &str| {
            Error::Configuration(format!(
                "base URL `{text}` {why}; set WANDB_BASE_URL to the API server, e.g. {DEFAULT_BASE_URL}"
            ))
        };
        let url = Url::parse(text.trim_end_matches('/')).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        let host = url.host_str().unwrap_or_default();
        let wandb = in_domain(host, "wandb.ai");
        if wandb && !host.contains("api.") {
            return Err(bad("is the W&B web app, not the API"));
        }
        if wandb && url.scheme() == "http" {
            return Err(bad("must use https for W&B cloud"));
        }
        Ok(BaseUrl(url))
    }

    /// The URL text without a trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The web app URL for this API (`https://api.wandb.ai` → `https://wandb.ai`, `api.X` →
    /// `app.X`, Forge → `https://forge…/wandb`, a self-hosted server → itself).
    ///
    /// ```
    /// use wandb_api::BaseUrl;
    /// assert_eq!(BaseUrl::parse("https://api.wandb.ai")?.app_url(), "https://wandb.ai");
    /// assert_eq!(BaseUrl::parse("https://api.example.com")?.app_url(), "https://app.example.com");
    /// assert_eq!(BaseUrl::parse("http://127.0.0.1:8080")?.app_url(), "http://127.0.0.1:8080");
    /// # Ok::<(), wandb_api::Error>(())
    /// ```
    #[must_use]
    pub fn app_url(&self) -> String {
        let url = self.as_str();
        if url.contains("forge.coreweave.com") {
            return format!(
                "https://{}/wandb",
                self.0
                    .host_str()
                    .unwrap_or_default()
                    .trim_start_matches("api.")
            );
        }
        if url.contains("://api.wandb.") {
            return url.replacen("://api.", "://", 1);
        }
        if url.contains("://api.") {
            return url.replacen("://api.", "://app.", 1);
        }
        url.to_owned()
    }

    /// `host[:port]`, the netrc machine name.
    #[must_use]
    pub fn netloc(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }

    /// True when `url` has this base URL's scheme, host and port and lies under its path:
    /// only such requests carry the API key.
    #[must_use]
    pub fn owns(&self, url: &Url) -> bool {
        url.scheme() == self.0.scheme()
            && url.host_str() == self.0.host_str()
            && url.port_or_known_default() == self.0.port_or_known_default()
            && url.path().starts_with(self.0.path().trim_end_matches('/'))
    }

    /// The full URL of `path` under the base (e.g. `graphql`).
    #[must_use]
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.as_str(), path.trim_start_matches('/'))
    }

    /// True for W&B's own cloud hosts only: `https`, the default port, no user info, and a
    /// host that is a cloud domain or a `.`-separated subdomain of one (so not
    /// `evilwandb.ai`, `api.wandb.ai.evil.com`, `api.wandb.ai.` or `api.wandb.ai:8443`).
    fn is_wandb_cloud(&self) -> bool {
        let host = self.0.host_str().unwrap_or_default();
        self.0.scheme() == "https"
            && self.0.port().is_none()
            && self.0.username().is_empty()
            && self.0.password().is_none()
            && CLOUD_DOMAINS.iter().any(|domain| in_domain(host, domain))
    }
}

/// True when `host` is `domain` or a `.`-separated subdomain of it (a trailing dot is not
/// the same host here).
fn in_domain(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
}

/// Builds [`Settings`]; explicit values win over everything else.
#[derive(Debug, Clone, Default)]
pub struct SettingsBuilder {
    base_url: Option<String>,
    api_key: Option<ApiKey>,
    entity: Option<String>,
    project: Option<String>,
}

impl Settings {
    /// A builder with nothing set.
    #[must_use]
    pub fn builder() -> SettingsBuilder {
        SettingsBuilder::default()
    }

    /// Settings from the process environment, netrc and the settings file (the order is on
    /// [`Settings`]).
    ///
    /// # Errors
    /// [`Error::Configuration`] for an invalid base URL.
    pub fn from_env() -> Result<Settings, Error> {
        Settings::builder().resolve()
    }
}

impl SettingsBuilder {
    /// The API base URL (else `WANDB_BASE_URL`, the settings file, `https://api.wandb.ai`).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (else `WANDB_API_KEY`, netrc, the settings file).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The default entity (else `WANDB_ENTITY`, the settings file).
    #[must_use]
    pub fn entity(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }

    /// The default project (else `WANDB_PROJECT`, the settings file).
    #[must_use]
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Resolves against the process environment and the user's home directory.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an invalid base URL.
    pub fn resolve(self) -> Result<Settings, Error> {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from);
        self.resolve_with(|k| std::env::var(k).ok(), home.as_deref())
    }

    /// Resolves against an environment given as a function and a home directory (for tests
    /// and embedding), in the order documented on [`Settings`].
    ///
    /// # Errors
    /// [`Error::Configuration`] for an invalid base URL.
    pub fn resolve_with(
        self,
        env: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Settings, Error> {
        let file = settings_file(&env, home);
        let from_file = |key: &str| file.as_deref().and_then(|text| ini_value(text, key));
        let pick = |explicit: Option<String>, var: &str, key: &str| {
            explicit
                .or_else(|| env(var).filter(|v| !v.is_empty()))
                .or_else(|| from_file(key))
        };
        let base_url = BaseUrl::parse(
            &pick(self.base_url, ENV_BASE_URL, "base_url")
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        )?;
        let api_key = self
            .api_key
            .or_else(|| {
                env(ENV_API_KEY)
                    .filter(|v| !v.trim().is_empty())
                    .map(ApiKey::new)
            })
            .or_else(|| netrc_key(&env, home, &base_url))
            .or_else(|| file_key(file.as_deref(), &base_url));
        Ok(Settings {
            api_key,
            entity: pick(self.entity, ENV_ENTITY, "entity"),
            project: pick(self.project, ENV_PROJECT, "project"),
            base_url,
        })
    }
}

/// `$WANDB_CONFIG_DIR/settings`, else `~/.config/wandb/settings`.
fn settings_file(env: &impl Fn(&str) -> Option<String>, home: Option<&Path>) -> Option<String> {
    let path = match env("WANDB_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir).join("settings"),
        None => home?.join(".config/wandb/settings"),
    };
    std::fs::read_to_string(path).ok()
}

/// A value of the `[default]` section of an INI text.
fn ini_value(text: &str, key: &str) -> Option<String> {
    let mut in_default = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_default = line == "[default]";
        } else if in_default
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
    None
}

/// The settings file's `api_key`, only when its `base_url` is the one in use.
fn file_key(file: Option<&str>, base: &BaseUrl) -> Option<ApiKey> {
    let text = file?;
    let file_base = ini_value(text, "base_url").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let same = BaseUrl::parse(&file_base).is_ok_and(|b| b == *base);
    same.then(|| ini_value(text, "api_key"))
        .flatten()
        .map(ApiKey::new)
}

/// The key for the base URL's `host[:port]` in netrc; W&B cloud hosts fall back to
/// `api.wandb.ai` (never other servers: the cloud key must not go elsewhere).
fn netrc_key(
    env: &impl Fn(&str) -> Option<String>,
    home: Option<&Path>,
    base: &BaseUrl,
) -> Option<ApiKey> {
    let path = match env("NETRC") {
        Some(p) => expand_home(&p, home),
        None => {
            let home = home?;
            [".netrc", "_netrc"]
                .iter()
                .map(|n| home.join(n))
                .find(|p| p.exists())?
        }
    };
    let text = std::fs::read_to_string(path).ok()?;
    netrc_password(&text, &base.netloc())
        .or_else(|| {
            base.is_wandb_cloud()
                .then(|| netrc_password(&text, "api.wandb.ai"))
                .flatten()
        })
        .map(ApiKey::new)
}

fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}
