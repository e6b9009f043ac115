//! Settings resolution with temporary files and an isolated environment.

use std::collections::HashMap;
use std::path::PathBuf;

use wandb_api::{ApiKey, Settings};

struct TempHome(PathBuf);

impl TempHome {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wandb-api-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".config/wandb")).expect("mkdir");
        TempHome(dir)
    }
    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.0.join(rel), text).expect("write");
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

const NETRC: &str = "machine api.wandb.ai\n  login user\n  password netrc-cloud-000000000000000000000000000000000000\nmachine localhost:8080 login user password netrc-local-000000000000000000000000000000000000\n";

#[test]
fn explicit_beats_env_beats_settings_file() {
    let home = TempHome::new("precedence");
    home.write(".netrc", NETRC);
    home.write(
        ".config/wandb/settings",
        "[default]\nentity = from-file\nproject = file-proj\n",
    );
    let key = |s: &Settings| s.api_key.as_ref().map(|k| k.expose().to_owned());

    let s = Settings::builder()
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert_eq!(s.base_url.as_str(), "https://api.wandb.ai");
    assert_eq!(
        key(&s).as_deref(),
        Some("netrc-cloud-000000000000000000000000000000000000")
    );
    assert_eq!(s.entity.as_deref(), Some("from-file"));

    let e = env(&[
        (
            "WANDB_API_KEY",
            "env-key-00000000000000000000000000000000000000",
        ),
        ("WANDB_ENTITY", "from-env"),
    ]);
    let s = Settings::builder()
        .resolve_with(e, Some(&home.0))
        .expect("ok");
    assert_eq!(
        key(&s).as_deref(),
        Some("env-key-00000000000000000000000000000000000000")
    );
    assert_eq!(
        (s.entity.as_deref(), s.project.as_deref()),
        (Some("from-env"), Some("file-proj"))
    );

    let e = env(&[("WANDB_API_KEY", "env-key"), ("WANDB_ENTITY", "from-env")]);
    let s = Settings::builder()
        .api_key("explicit")
        .entity("explicit")
        .resolve_with(e, Some(&home.0))
        .expect("ok");
    assert_eq!(
        (key(&s).as_deref(), s.entity.as_deref()),
        (Some("explicit"), Some("explicit"))
    );
}

#[test]
fn netrc_machine_is_host_and_port_and_the_cloud_key_stays_on_the_cloud() {
    let home = TempHome::new("netrc");
    home.write(".netrc", NETRC);
    let local = Settings::builder()
        .base_url("http://localhost:8080")
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert_eq!(
        local.api_key.map(|k| k.expose().to_owned()).as_deref(),
        Some("netrc-local-000000000000000000000000000000000000")
    );
    let other = Settings::builder()
        .base_url("http://localhost:9999")
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert_eq!(
        other.api_key, None,
        "a server without an entry gets no key, least of all the cloud's"
    );
    let forge = Settings::builder()
        .base_url("https://api.forge.coreweave.com")
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert!(
        forge.api_key.is_some(),
        "W&B cloud hosts fall back to api.wandb.ai"
    );
}

#[test]
fn netrc_env_var_and_underscore_netrc() {
    let home = TempHome::new("netrc-path");
    home.write("custom-netrc", NETRC);
    let s = Settings::builder()
        .resolve_with(env(&[("NETRC", "~/custom-netrc")]), Some(&home.0))
        .expect("ok");
    assert!(s.api_key.is_some());
    let home2 = TempHome::new("underscore");
    home2.write("_netrc", NETRC);
    assert!(
        Settings::builder()
            .resolve_with(env(&[]), Some(&home2.0))
            .expect("ok")
            .api_key
            .is_some()
    );
}

#[test]
fn settings_file_key_only_for_its_base_url() {
    let home = TempHome::new("filekey");
    home.write(".config/wandb/settings", "[default]\nbase_url = http://localhost:8080\napi_key = file-key-0000000000000000000000000000000000000\n");
    let s = Settings::builder()
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert_eq!(s.base_url.as_str(), "http://localhost:8080");
    assert!(s.api_key.is_some());
    let other = Settings::builder()
        .base_url("https://api.wandb.ai")
        .resolve_with(env(&[]), Some(&home.0))
        .expect("ok");
    assert_eq!(other.api_key, None);
}

#[test]
fn base_url_rejections_and_forge_normalisation() {
    for bad in [
        "https://wandb.ai",
        "https://app.wandb.ai/",
        "http://api.wandb.ai",
        "ftp://x",
        "not a url",
    ] {
        let err = Settings::builder()
            .base_url(bad)
            .resolve_with(env(&[]), None)
            .expect_err(bad);
        assert!(err.to_string().contains("WANDB_BASE_URL"), "{err}");
    }
    let s = Settings::builder()
        .base_url("https://forge.coreweave.com/api/wandb/")
        .resolve_with(env(&[]), None)
        .expect("ok");
    assert_eq!(s.base_url.as_str(), "https://api.forge.coreweave.com");
}

#[test]
fn the_key_never_shows() {
    let s = Settings::builder()
        .api_key("secret-0000000000000000000000000000000000000")
        .resolve_with(env(&[]), None)
        .expect("ok");
    assert!(!format!("{s:?}").contains("secret-"));
    assert_eq!(format!("{}", ApiKey::new("secret-x")), "***");
}

#[test]
fn the_cloud_key_never_goes_to_look_alike_hosts() {
    let home = TempHome::new("look-alike");
    home.write(".netrc", NETRC);
    let key_for = |url: &str| {
        Settings::builder()
            .base_url(url)
            .resolve_with(env(&[]), Some(&home.0))
            .map(|s| s.api_key.is_some())
    };
    for own in [
        "https://api.wandb.ai",
        "https://API.WANDB.AI",
        "https://api.eu.wandb.ai",
        "https://api.forge.coreweave.com",
        "https://qa.forge.coreweave.com",
    ] {
        assert_eq!(key_for(own).ok(), Some(true), "{own} is W&B's own host");
    }
    for evil in [
        "https://api.evilwandb.ai",
        "http://evilwandb.ai",
        "https://notwandb.ai",
        "https://api.wandb.ai.evil.com",
        "https://wandb.ai.evil.com",
        "https://API.EVILWANDB.AI",
        "https://api.wandb.ai.",
        "https://api.wandb.ai@evil.com",
        "https://api.wandb.ai:8443",
        "https://api.wandb.ai:443@evil.com",
        "https://evil.com/api.wandb.ai",
        "https://evil.com/?host=api.wandb.ai",
        "https://evil.com#.wandb.ai",
        "https://api-wandb.ai",
        "https://api.w\u{0430}ndb.ai",
        "https://xn--wandb-xxx.ai",
        "https://evilforge.coreweave.com",
        "https://forge.coreweave.com.evil.com",
        "https://notcoreweave.com",
        "http://127.0.0.1:8080",
    ] {
        assert_ne!(
            key_for(evil).ok(),
            Some(true),
            "{evil} must not get the api.wandb.ai key"
        );
    }
}

#[test]
fn api_key_order_is_explicit_then_env_then_netrc_then_settings_file() {
    // The official SDK's order (wbauth): explicit, WANDB_API_KEY, netrc, then the settings
    // file's api_key (only for its own base_url).
    let home = TempHome::new("key-order");
    let file = "[default]\nbase_url = https://api.wandb.ai\napi_key = file-key-0000000000000000000000000000000000000\n";
    let env_key = "env-key-00000000000000000000000000000000000000";
    let resolve = |explicit: bool, with_env: bool| {
        let vars: &[(&str, &str)] = if with_env {
            &[("WANDB_API_KEY", env_key)]
        } else {
            &[]
        };
        let builder = Settings::builder();
        let builder = if explicit {
            builder.api_key("explicit-key-000000000000000000000000000000000")
        } else {
            builder
        };
        let s = builder.resolve_with(env(vars), Some(&home.0)).expect("ok");
        s.api_key.map(|k| k.expose()[..4].to_owned())
    };
    home.write(".config/wandb/settings", file);
    home.write(".netrc", NETRC);
    assert_eq!(resolve(true, true).as_deref(), Some("expl"));
    assert_eq!(resolve(false, true).as_deref(), Some("env-"));
    assert_eq!(resolve(false, false).as_deref(), Some("netr"));
    std::fs::remove_file(home.0.join(".netrc")).expect("rm");
    assert_eq!(resolve(false, false).as_deref(), Some("file"));
}
