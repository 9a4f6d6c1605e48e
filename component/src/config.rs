//! `Config`: the component's settings, read once per request at the edge
//! from the environment the host (or `wasmtime serve --env`) provides.

use std::path::PathBuf;

/// Guest path of the served root; default: the first preopened directory.
pub const ENV_ROOT: &str = "HTTPUPLOADER_ROOT";
/// Guest path of the permissions file; default: none (built-in rules).
pub const ENV_CONFIG: &str = "HTTPUPLOADER_CONFIG";
/// `1`, `true` or `yes` to show and serve hidden (`.name`) entries.
pub const ENV_SHOW_HIDDEN: &str = "HTTPUPLOADER_SHOW_HIDDEN";

/// What the component serves and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The served folder, as a path the component can open.
    pub root: PathBuf,
    /// The permissions file, if any.
    pub permissions_file: Option<PathBuf>,
    /// Whether hidden names are listed and reachable.
    pub show_hidden: bool,
}

impl Config {
    /// Builds the settings from environment variables; `first_preopen`
    /// is the root used when none is named.
    pub fn from_vars<I>(vars: I, first_preopen: Option<String>) -> Result<Config, String>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut root = None;
        let mut permissions_file = None;
        let mut show_hidden = false;
        for (name, value) in vars {
            match name.as_str() {
                ENV_ROOT if !value.is_empty() => root = Some(PathBuf::from(value)),
                ENV_CONFIG if !value.is_empty() => permissions_file = Some(PathBuf::from(value)),
                ENV_SHOW_HIDDEN => show_hidden = is_true(&value),
                _ => {}
            }
        }
        let root = root
            .or_else(|| first_preopen.map(PathBuf::from))
            .ok_or_else(|| format!("no served folder: set {ENV_ROOT} or preopen a directory"))?;
        Ok(Config {
            root,
            permissions_file,
            show_hidden,
        })
    }
}

fn is_true(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_to_the_first_preopen() {
        let config = Config::from_vars(vars(&[]), Some("/srv".into())).unwrap();
        assert_eq!(config.root, PathBuf::from("/srv"));
        assert_eq!(config.permissions_file, None);
        assert!(!config.show_hidden);
    }

    #[test]
    fn environment_overrides() {
        let env = vars(&[
            (ENV_ROOT, "/data"),
            (ENV_CONFIG, "/cfg/p.ini"),
            (ENV_SHOW_HIDDEN, "True"),
        ]);
        let config = Config::from_vars(env, Some("/srv".into())).unwrap();
        assert_eq!(config.root, PathBuf::from("/data"));
        assert_eq!(config.permissions_file, Some(PathBuf::from("/cfg/p.ini")));
        assert!(config.show_hidden);
    }

    #[test]
    fn no_root_at_all_is_an_error() {
        assert!(Config::from_vars(vars(&[(ENV_SHOW_HIDDEN, "0")]), None).is_err());
    }
}
