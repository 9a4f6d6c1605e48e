//! The permissions file (contract §4): which commands are allowed where.
//!
//! The file is INI, read as Python's configparser with extended
//! interpolation reads it (`sections`, `interpolate`). Each section
//! other than `DEFAULT` is named by a path from the served root, and its
//! `allow` says which commands it permits there and below:
//!
//! ```ini
//! [DEFAULT]
//! allow = list, download
//! [/uploads]
//! allow = ${DEFAULT:allow}, upload, mkdir
//! [/uploads/private]
//! allow = none
//! ```
//!
//! This module turns the sections into one [`Allow`] per path section,
//! computed once, and [`Permissions::allowed`] finds the one that decides
//! for a request path.

mod interpolate;
mod sections;

use std::collections::HashMap;
use std::fmt;

use crate::command::{Allow, Command};
use crate::share_path::{PathError, SharePath};
use sections::{DEFAULT, Section};

/// The key that holds a section's commands.
const ALLOW: &str = "allow";

/// Why a permissions file was refused: the line (1-based) and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The effective rules, parsed once.
#[derive(Debug, Clone)]
pub struct Permissions {
    /// The commands of each path section that yields a non-empty `allow`,
    /// by the path's segments (`[/]` has none).
    by_path: HashMap<Vec<String>, Allow>,
    /// What applies where no path section decides.
    default: Allow,
}

impl Permissions {
    /// The rules without a file: `allow = list, download, mkdir, upload`.
    pub fn default_rules() -> Permissions {
        let default = [
            Command::List,
            Command::Download,
            Command::Mkdir,
            Command::Upload,
        ];
        Permissions {
            by_path: HashMap::new(),
            default: default.into_iter().collect(),
        }
    }

    /// Parses the text of a permissions file.
    ///
    /// Every section name other than `DEFAULT` must be a path starting with
    /// `/` and without `..`; `/a/` and `/a` name the same path, so both in
    /// one file is a duplicate. Every value is interpolated and every
    /// `allow` checked here, so a bad file is refused before it is used.
    pub fn parse(text: &str) -> Result<Permissions, ParseError> {
        let raw = sections::read(text)?;
        let paths = section_paths(raw.named())?;
        let resolved = interpolate::interpolate(&raw)?;

        let default = parse_allow(resolved.default())?.unwrap_or(Allow::NONE);
        let mut by_path = HashMap::new();
        for (path, section) in paths.into_iter().zip(resolved.named()) {
            if let Some(allow) = parse_allow(section)? {
                by_path.insert(path.segments().to_vec(), allow);
            }
        }
        Ok(Permissions { by_path, default })
    }

    /// The commands allowed on `path`.
    ///
    /// The section for `path` decides, else the nearest section of a
    /// parent, else `DEFAULT`. A section decides if its `allow` is not
    /// empty, and one without its own `allow` has `DEFAULT`'s (so it
    /// decides too, if `DEFAULT` has one): write `allow =` to leave the
    /// decision to the parents. A `[/]` section decides for the root
    /// itself only: for every other path, the search stops below `/` and
    /// `DEFAULT` speaks for the whole share.
    pub fn allowed(&self, path: &SharePath) -> Allow {
        let segments = path.segments();
        let stop = if path.is_root() { 0 } else { 1 };
        (stop..=segments.len())
            .rev()
            .find_map(|n| self.by_path.get(&segments[..n]))
            .copied()
            .unwrap_or(self.default)
    }

    /// A section strictly below `path` that does not allow `command`, if
    /// any: a tree operation (delete, copy, move) on `path` would reach
    /// into it, so it must be refused. The shallowest such path is named.
    pub fn denied_below(&self, path: &SharePath, command: Command) -> Option<SharePath> {
        let top = path.segments();
        self.by_path
            .iter()
            .filter(|(segments, allow)| {
                segments.len() > top.len() && segments.starts_with(top) && !allow.contains(command)
            })
            .map(|(segments, _)| segments)
            .min_by_key(|segments| (segments.len(), (*segments).clone()))
            .map(|segments| segments.iter().fold(SharePath::root(), |p, s| p.child(s)))
    }
}

/// The path each section names, refusing names that are not paths and
/// two names for one path.
fn section_paths(named: &[Section]) -> Result<Vec<SharePath>, ParseError> {
    let mut seen: HashMap<SharePath, &Section> = HashMap::new();
    let mut paths = Vec::new();
    for section in named {
        let path = section_path(section)?;
        if let Some(first) = seen.insert(path.clone(), section) {
            let reason = format!(
                "section `[{}]` names the same path as `[{}]` on line {}",
                section.name, first.name, first.line
            );
            return Err(ParseError {
                line: section.line,
                reason,
            });
        }
        paths.push(path);
    }
    Ok(paths)
}

/// The path a section names.
fn section_path(section: &Section) -> Result<SharePath, ParseError> {
    let name = &section.name;
    let refuse = |reason: String| ParseError {
        line: section.line,
        reason,
    };
    if !name.starts_with('/') {
        let hint = if name.eq_ignore_ascii_case(DEFAULT) {
            " (write `DEFAULT`)"
        } else {
            ""
        };
        let reason =
            format!("section `[{name}]` is neither `{DEFAULT}` nor a path starting with `/`{hint}");
        return Err(refuse(reason));
    }
    SharePath::from_decoded(name).map_err(|e| match e {
        PathError::Traversal(_) => refuse(format!("`..` in section `[{name}]`")),
        PathError::Nul(_) | PathError::InvalidUtf8(_) | PathError::TooLong(_) => {
            refuse(format!("invalid path `[{name}]`"))
        }
    })
}

/// A section's `allow`, or `None` if it has none or it is empty.
///
/// The value is a comma-separated list of command names, any case, with
/// spaces and empty items ignored; `all` stands for every command and
/// `none` for no command, alone or in a list.
fn parse_allow(section: &Section) -> Result<Option<Allow>, ParseError> {
    let Some(key) = section.get(ALLOW) else {
        return Ok(None);
    };
    if key.value.trim().is_empty() {
        return Ok(None);
    }
    let mut allow = Allow::NONE;
    for item in key
        .value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        allow = match item.to_lowercase().as_str() {
            "all" => Allow::ALL,
            "none" => allow,
            name => match Command::from_name(name) {
                Some(command) => allow.with(command),
                None => return Err(unknown_command(item, key.line)),
            },
        };
    }
    Ok(Some(allow))
}

/// The error for a word in `allow` that names no command.
fn unknown_command(item: &str, line: usize) -> ParseError {
    let known: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
    let reason = format!(
        "unknown command `{item}` in `{ALLOW}` (known: {}, all, none)",
        known.join(", ")
    );
    ParseError { line, reason }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tree_operations_see_stricter_sections_below() {
        let rules = Permissions::parse(
            "[DEFAULT]\nallow = all\n[/a/b/c]\nallow = list\n[/a/x]\nallow = list, delete\n",
        )
        .unwrap();
        let at = |p: &str| SharePath::from_decoded(p).unwrap();
        assert_eq!(
            rules.denied_below(&at("/a"), Command::Delete),
            Some(at("/a/b/c"))
        );
        assert_eq!(
            rules.denied_below(&at("/a"), Command::Move),
            Some(at("/a/x"))
        );
        assert_eq!(rules.denied_below(&at("/a/x"), Command::Delete), None);
        assert_eq!(rules.denied_below(&at("/a/b/c"), Command::Delete), None);
        assert_eq!(rules.denied_below(&at("/z"), Command::Delete), None);
    }

    use super::*;
    use Command::*;

    fn parse(text: &str) -> Permissions {
        Permissions::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn allowed(permissions: &Permissions, path: &str) -> Allow {
        permissions.allowed(&SharePath::from_decoded(path).unwrap())
    }

    fn set(commands: &[Command]) -> Allow {
        commands.iter().copied().collect()
    }

    fn refused(text: &str) -> String {
        Permissions::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn default_rules_allow_list_download_mkdir_upload_everywhere() {
        let rules = Permissions::default_rules();
        for path in ["/", "/a", "/a/b/c"] {
            assert_eq!(
                allowed(&rules, path),
                set(&[List, Download, Mkdir, Upload]),
                "{path}"
            );
        }
    }

    #[test]
    fn nearest_section_decides() {
        let rules = parse("[/a]\nallow = list\n[/a/b]\nallow = upload\n");
        assert_eq!(allowed(&rules, "/a/b"), set(&[Upload]));
        assert_eq!(allowed(&rules, "/a/b/c/d.txt"), set(&[Upload]));
        assert_eq!(allowed(&rules, "/a"), set(&[List]));
    }

    #[test]
    fn parent_section_decides_for_paths_below_it() {
        let rules = parse("[DEFAULT]\nallow = all\n[/a]\nallow = list\n");
        assert_eq!(allowed(&rules, "/a/x/y.txt"), set(&[List]));
        assert_eq!(allowed(&rules, "/ab"), Allow::ALL);
    }

    #[test]
    fn default_decides_outside_sections() {
        let rules = parse("[DEFAULT]\nallow = list, info\n[/a]\nallow = all\n");
        assert_eq!(allowed(&rules, "/"), set(&[List, Info]));
        assert_eq!(allowed(&rules, "/other/x"), set(&[List, Info]));
    }

    #[test]
    fn no_allow_anywhere_means_none() {
        let rules = parse("[DEFAULT]\nx = 1\n[/a]\ny = 2\n");
        assert_eq!(allowed(&rules, "/a"), Allow::NONE);
        assert_eq!(allowed(&rules, "/b"), Allow::NONE);
        assert_eq!(allowed(&parse(""), "/"), Allow::NONE);
    }

    #[test]
    fn section_without_allow_inherits_default_not_its_parent() {
        let rules = parse("[DEFAULT]\nallow = list\n[/a]\nallow = all\n[/a/b]\nnote = x\n");
        assert_eq!(allowed(&rules, "/a/b/c"), set(&[List]));
    }

    #[test]
    fn empty_allow_leaves_the_decision_to_the_parent() {
        let rules = parse("[DEFAULT]\nallow = list\n[/a]\nallow = all\n[/a/b]\nallow =\n");
        assert_eq!(allowed(&rules, "/a/b/c"), Allow::ALL);
    }

    #[test]
    fn all_and_none() {
        let rules = parse("[DEFAULT]\nallow = all\n[/a]\nallow = none\n[/b]\nallow = NONE, list\n");
        assert_eq!(allowed(&rules, "/x"), Allow::ALL);
        assert_eq!(allowed(&rules, "/a/x"), Allow::NONE);
        assert_eq!(allowed(&rules, "/b"), set(&[List]));
    }

    #[test]
    fn spaces_empty_items_and_case_are_ignored() {
        let rules = parse("[DEFAULT]\nallow =   List ,download,, UPLOAD ,\n");
        assert_eq!(allowed(&rules, "/"), set(&[List, Download, Upload]));
    }

    #[test]
    fn multi_line_allow() {
        let rules = parse("[DEFAULT]\nallow = list,\n    download,\n    upload\n");
        assert_eq!(allowed(&rules, "/"), set(&[List, Download, Upload]));
    }

    #[test]
    fn option_names_are_case_insensitive() {
        let rules = parse("[DEFAULT]\nALLOW = list\n[/a]\nAllow = upload\n");
        assert_eq!(allowed(&rules, "/"), set(&[List]));
        assert_eq!(allowed(&rules, "/a"), set(&[Upload]));
    }

    #[test]
    fn unknown_command_is_refused_on_its_line() {
        let e = refused("[DEFAULT]\nallow = list\n[/a]\n\nallow = list, uplaod\n");
        assert_eq!(
            e,
            "line 5: unknown command `uplaod` in `allow` (known: list, archive, mkdir, upload, \
             delete, download, info, compress, checksum, copy, move, all, none)"
        );
    }

    #[test]
    fn unknown_command_in_inherited_default_is_refused() {
        assert_eq!(
            refused("[DEFAULT]\nallow = lst\n[/a]\n").split(':').next(),
            Some("line 2")
        );
    }

    #[test]
    fn interpolated_allow_is_checked_after_expansion() {
        let e = refused("[DEFAULT]\nextra = , bogus\n[/a]\nallow = list${extra}\n");
        assert!(e.starts_with("line 4: unknown command `bogus`"), "{e}");
    }

    #[test]
    fn section_names_are_normalized_paths() {
        let rules = parse("[//a/./b/]\nallow = upload\n");
        assert_eq!(allowed(&rules, "/a/b"), set(&[Upload]));
        let e = refused("[/a]\nallow = all\n[/a/]\nallow = none\n");
        assert_eq!(
            e,
            "line 3: section `[/a/]` names the same path as `[/a]` on line 1"
        );
    }

    #[test]
    fn section_names_are_case_sensitive() {
        let rules = parse("[DEFAULT]\nallow = list\n[/Dir]\nallow = all\n");
        assert_eq!(allowed(&rules, "/Dir"), Allow::ALL);
        assert_eq!(allowed(&rules, "/dir"), set(&[List]));
    }

    #[test]
    fn section_name_must_be_a_path_or_default() {
        let e = refused("[DEFAULT]\nallow = all\n[uploads]\nallow = none\n");
        assert_eq!(
            e,
            "line 3: section `[uploads]` is neither `DEFAULT` nor a path starting with `/`"
        );
        assert!(refused("[default]\nallow = all\n").ends_with("(write `DEFAULT`)"));
    }

    #[test]
    fn dot_dot_in_section_name_is_refused() {
        assert_eq!(
            refused("[/a]\n[/a/../b]\n"),
            "line 2: `..` in section `[/a/../b]`"
        );
    }

    #[test]
    fn root_section_applies_to_the_root_only() {
        let rules = parse("[DEFAULT]\nallow = all\n[/]\nallow = list\n");
        assert_eq!(allowed(&rules, "/"), set(&[List]));
        assert_eq!(allowed(&rules, "/a"), Allow::ALL);
        assert_eq!(allowed(&rules, "/a/b"), Allow::ALL);
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(
            refused("[DEFAULT]\nallow = all\n[/a\n").split(':').next(),
            Some("line 3")
        );
        assert_eq!(
            refused("[DEFAULT]\nallow all\n").split(':').next(),
            Some("line 2")
        );
        assert_eq!(
            refused("[/a]\n[/b]\n\n[/a]\n").split(':').next(),
            Some("line 4")
        );
    }

    #[test]
    fn interpolation_errors_refuse_the_file() {
        assert!(refused("[DEFAULT]\nallow = ${nope}\n").starts_with("line 2: `${nope}`"));
        assert!(refused("[/a]\nallow = ${/b:allow}\n").contains("no section `[/b]`"));
        assert!(refused("[/a]\nx = ${x}\n").contains("interpolation loop"));
        assert!(refused("[/a]\nx = 5$\n").contains("`$` must be followed by"));
    }

    #[test]
    fn example_from_the_original_docs() {
        let rules = parse(
            "[DEFAULT]\n\
             allow = list, download, mkdir, upload, info, checksum\n\
             [/dir_004]\n\
             allow = ${DEFAULT:allow}, compress, archive\n\
             [/dir_003]\n\
             allow = ${/dir_004:allow}\n\
             [/dir_003/dir_025]\n\
             allow = all\n\
             [/dir_003/dir_024/dir_026]\n\
             allow = none\n",
        );
        let base = set(&[List, Download, Mkdir, Upload, Info, Checksum]);
        let extended = base.with(Compress).with(Archive);
        assert_eq!(allowed(&rules, "/dir_003/dir_025/x"), Allow::ALL);
        assert_eq!(allowed(&rules, "/dir_003/dir_024/dir_026"), Allow::NONE);
        assert_eq!(allowed(&rules, "/dir_003/dir_024/dir_026/y/z"), Allow::NONE);
        assert_eq!(allowed(&rules, "/dir_003/dir_024"), extended);
        assert_eq!(allowed(&rules, "/dir_003"), extended);
        assert_eq!(allowed(&rules, "/dir_004/f.txt"), extended);
        assert_eq!(allowed(&rules, "/other"), base);
        assert_eq!(allowed(&rules, "/"), base);
    }

    #[test]
    fn error_display_is_line_then_reason() {
        let e = ParseError {
            line: 7,
            reason: "bad".into(),
        };
        assert_eq!(e.to_string(), "line 7: bad");
    }
}
