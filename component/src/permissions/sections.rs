//! Reading the INI structure of a permissions file: text → sections of
//! keys, each with the line it was written on, as Python's configparser
//! reads them (the original httpuploader used it).
//!
//! rust-ini splits `key = value` lines and joins continuation lines, but it
//! reports no line numbers for keys and reads several configparser forms
//! differently (indented comments and keys, `]` in section names, a line
//! ending in `\`, a stray line without `=`). So a line scan comes first: it
//! classifies each line the way configparser does, refuses what configparser
//! refuses, and hands rust-ini a normalized text with the same line count,
//! where comments are blank, keys start at column 0, continuation lines are
//! indented and each section header is replaced by its index (`[0]`, `[1]`…)
//! so that rust-ini never sees a section name.
//!
//! Differences from configparser: text after a header's `]` must be a
//! comment, a line starting with `[` must be a header, a line may not end
//! with `\`, and a key name may not contain `\` (all refused, where
//! configparser reads on); section names are trimmed (`[ /a ]` is `/a`);
//! and a comment line inside a multi-line value leaves an empty line in the
//! value where configparser drops it (which changes no `allow`).

use std::collections::HashMap;

use ini::{Ini, ParseOption};

use super::ParseError;

/// The section whose keys every other section sees, as in configparser.
pub const DEFAULT: &str = "DEFAULT";

/// One `key = value` of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key name, lower-cased (configparser's option names are
    /// case-insensitive).
    pub name: String,
    /// The value, trimmed; continuation lines are joined with `\n`.
    pub value: String,
    /// The 1-based line of the key.
    pub line: usize,
}

/// One `[section]` and its keys, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets, trimmed; case-sensitive.
    pub name: String,
    /// The 1-based line of the header; 0 for a `DEFAULT` the file lacks.
    pub line: usize,
    /// The keys, in file order, no two with the same name.
    pub keys: Vec<Key>,
}

impl Section {
    /// The key called `name` (lower-case), if this section has one.
    pub fn get(&self, name: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.name == name)
    }
}

/// Every section of a file: `DEFAULT` first, then the others in file order.
#[derive(Debug, Clone)]
pub struct Sections {
    list: Vec<Section>,
    index: HashMap<String, usize>,
}

impl Sections {
    /// Sections from a list whose first item is `DEFAULT`.
    pub fn from_list(list: Vec<Section>) -> Sections {
        debug_assert_eq!(list.first().map(|s| s.name.as_str()), Some(DEFAULT));
        let index = list
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        Sections { list, index }
    }

    /// Every section, `DEFAULT` first (index 0).
    pub fn all(&self) -> &[Section] {
        &self.list
    }

    /// The `DEFAULT` section, empty if the file has none.
    pub fn default(&self) -> &Section {
        &self.list[0]
    }

    /// The sections other than `DEFAULT`, in file order.
    pub fn named(&self) -> &[Section] {
        &self.list[1..]
    }

    /// Where the section called `name` is in [`Sections::all`].
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// Reads the sections of an INI text, refusing duplicates.
pub fn read(text: &str) -> Result<Sections, ParseError> {
    let outline = Outline::scan(text)?;
    let ini = Ini::load_from_str_opt(&outline.normalized, rust_ini_options()).map_err(|e| {
        ParseError {
            line: e.line,
            reason: format!("cannot read this line: {}", e.msg),
        }
    })?;
    collect(&outline.headers, &ini)
}

/// configparser's reading: no quoting, no escapes, indented continuations.
fn rust_ini_options() -> ParseOption {
    ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    }
}

/// A section header as written, with the keys under it.
#[derive(Debug)]
struct Header {
    name: String,
    line: usize,
    /// Each key name as written, and its line.
    keys: Vec<(String, usize)>,
}

/// What the line scan found: the headers, and the text for rust-ini.
#[derive(Debug)]
struct Outline {
    headers: Vec<Header>,
    normalized: String,
}

impl Outline {
    /// Classifies each line as configparser does.
    fn scan(text: &str) -> Result<Outline, ParseError> {
        // Python reads text with universal newlines and the BOM Notepad adds
        // is no part of the first line's text.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let text = text.replace("\r\n", "\n").replace('\r', "\n");

        let mut outline = Outline {
            headers: Vec::new(),
            normalized: String::new(),
        };
        // The indentation of the key whose value may continue, if any.
        let mut key_indent = None;
        for (i, raw) in text.lines().enumerate() {
            let line = outline.scan_line(raw, i + 1, &mut key_indent)?;
            outline.normalized.push_str(&line);
            outline.normalized.push('\n');
        }
        Ok(outline)
    }

    /// One line: returns its normalized form and updates `key_indent`.
    fn scan_line(
        &mut self,
        raw: &str,
        line: usize,
        key_indent: &mut Option<usize>,
    ) -> Result<String, ParseError> {
        let trimmed = raw.trim();

        // Blank lines and comments do not end a multi-line value.
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            return Ok(String::new());
        }
        if trimmed.ends_with('\\') {
            return error(line, "a line may not end with `\\`");
        }

        // A line indented deeper than the key above continues its value.
        let indent = raw.chars().take_while(|c| c.is_whitespace()).count();
        if key_indent.is_some_and(|k| indent > k) {
            return Ok(format!(" {trimmed}"));
        }

        if trimmed.starts_with('[') {
            *key_indent = None;
            let name = header_name(trimmed, line)?;
            self.headers.push(Header {
                name,
                line,
                keys: Vec::new(),
            });
            return Ok(format!("[{}]", self.headers.len() - 1));
        }

        let Some(header) = self.headers.last_mut() else {
            return error(line, "a key before the first `[section]` header");
        };
        header
            .keys
            .push((key_name(trimmed, line)?.to_owned(), line));
        *key_indent = Some(indent);
        Ok(trimmed.to_owned())
    }
}

/// The name in a `[name]` header line (trimmed), which may hold `]`.
fn header_name(trimmed: &str, line: usize) -> Result<String, ParseError> {
    let Some(end) = trimmed.rfind(']') else {
        return error(line, "a section header without a closing `]`");
    };
    let after = trimmed[end + 1..].trim_start();
    if !after.is_empty() && !after.starts_with(['#', ';']) {
        return error(line, format!("unexpected `{after}` after a section header"));
    }
    let name = trimmed[1..end].trim();
    if name.is_empty() {
        return error(line, "an empty section name");
    }
    Ok(name.to_owned())
}

/// The key in a `key = value` or `key: value` line: up to the first `=`
/// or `:`, trimmed.
fn key_name(trimmed: &str, line: usize) -> Result<&str, ParseError> {
    let Some(at) = trimmed.find(['=', ':']) else {
        return error(
            line,
            format!("expected `key = value`, a `[section]` or a comment, found `{trimmed}`"),
        );
    };
    let name = trimmed[..at].trim();
    if name.is_empty() {
        return error(line, "a value without a key name");
    }
    // rust-ini would read `\=` as part of the name.
    if name.contains('\\') {
        return error(line, format!("`\\` in key name `{name}`"));
    }
    Ok(name)
}

/// Builds the sections from the headers and rust-ini's values: repeated
/// `DEFAULT` headers merge, as in configparser; other repeats are errors.
fn collect(headers: &[Header], ini: &Ini) -> Result<Sections, ParseError> {
    let mut list = vec![Section {
        name: DEFAULT.to_owned(),
        line: 0,
        keys: Vec::new(),
    }];
    let mut seen: HashMap<&str, usize> = HashMap::new();

    for (i, header) in headers.iter().enumerate() {
        let at = match seen.get(header.name.as_str()) {
            Some(&at) if header.name == DEFAULT => at,
            Some(&at) => {
                let first = list[at].line;
                let reason = format!(
                    "duplicate section `[{}]` (first on line {first})",
                    header.name
                );
                return error(header.line, reason);
            }
            None if header.name == DEFAULT => 0,
            None => {
                list.push(Section {
                    name: header.name.clone(),
                    line: header.line,
                    keys: Vec::new(),
                });
                list.len() - 1
            }
        };
        seen.insert(&header.name, at);
        if header.name == DEFAULT && list[0].line == 0 {
            list[0].line = header.line;
        }
        add_keys(&mut list[at], header, ini.section(Some(i.to_string())))?;
    }
    Ok(Sections::from_list(list))
}

/// Adds the keys under `header` to `section`, with rust-ini's values.
fn add_keys(
    section: &mut Section,
    header: &Header,
    values: Option<&ini::Properties>,
) -> Result<(), ParseError> {
    for (written, line) in &header.keys {
        let name = written.to_lowercase();
        if let Some(first) = section.get(&name) {
            let reason = format!(
                "duplicate key `{name}` in `[{}]` (first on line {})",
                section.name, first.line
            );
            return error(*line, reason);
        }
        let Some(value) = values.and_then(|v| v.get(written)) else {
            return error(*line, format!("cannot read the value of `{written}`"));
        };
        section.keys.push(Key {
            name,
            value: value.to_owned(),
            line: *line,
        });
    }
    Ok(())
}

/// A [`ParseError`] on `line`.
fn error<T>(line: usize, reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(section, key, value, line)` for every key, DEFAULT first.
    fn keys(text: &str) -> Vec<(String, String, String, usize)> {
        let sections = read(text).unwrap();
        let mut out = Vec::new();
        for section in sections.all() {
            for key in &section.keys {
                out.push((
                    section.name.clone(),
                    key.name.clone(),
                    key.value.clone(),
                    key.line,
                ));
            }
        }
        out
    }

    fn one(section: &str, key: &str, value: &str, line: usize) -> (String, String, String, usize) {
        (section.into(), key.into(), value.into(), line)
    }

    fn refused(text: &str) -> ParseError {
        read(text).unwrap_err()
    }

    #[test]
    fn reads_equals_and_colon_keys_with_their_lines() {
        let text = "[/a]\nallow = all\n\nother: x = y\n";
        assert_eq!(
            keys(text),
            [one("/a", "allow", "all", 2), one("/a", "other", "x = y", 4)]
        );
    }

    #[test]
    fn key_names_are_lower_cased_and_section_names_are_not() {
        let sections = read("[/Dir]\nAllow = all\n").unwrap();
        assert_eq!(sections.named()[0].name, "/Dir");
        assert_eq!(sections.named()[0].get("allow").unwrap().value, "all");
        assert_eq!(sections.position("/Dir"), Some(1));
        assert_eq!(sections.position("/dir"), None);
    }

    #[test]
    fn full_line_comments_may_be_indented() {
        let text = "# top\n[/a]\n  # note\n\t; other\nallow = all\n";
        assert_eq!(keys(text), [one("/a", "allow", "all", 5)]);
    }

    #[test]
    fn inline_comment_marks_stay_in_values_as_in_configparser() {
        assert_eq!(
            keys("[/a]\nallow = all ; no\n"),
            [one("/a", "allow", "all ; no", 2)]
        );
    }

    #[test]
    fn comment_after_header_is_ignored() {
        assert_eq!(
            keys("[/a] ; uploads\nallow = all\n"),
            [one("/a", "allow", "all", 2)]
        );
    }

    #[test]
    fn deeper_indented_lines_continue_a_value() {
        let text = "[/a]\nallow = list,\n    upload,\n\n  mkdir\nnext = 1\n";
        assert_eq!(
            keys(text),
            [
                one("/a", "allow", "list,\nupload,\n\nmkdir", 2),
                one("/a", "next", "1", 6)
            ]
        );
    }

    #[test]
    fn comment_inside_a_value_leaves_an_empty_line() {
        // configparser would give "a\nb"; see the module doc.
        assert_eq!(
            keys("[/a]\nx = a\n  # note\n  b\n"),
            [one("/a", "x", "a\n\nb", 2)]
        );
    }

    #[test]
    fn equally_indented_keys_are_keys_not_continuations() {
        let text = "[/a]\n  x = 1\n  y = 2\n    more\n";
        assert_eq!(
            keys(text),
            [one("/a", "x", "1", 2), one("/a", "y", "2\nmore", 3)]
        );
    }

    #[test]
    fn indented_line_after_header_is_a_key() {
        assert_eq!(
            keys("[/a]\n    allow = all\n"),
            [one("/a", "allow", "all", 2)]
        );
    }

    #[test]
    fn quotes_and_backslashes_are_kept() {
        let text = "[/a]\nx = \"q\" 'r' C:\\tmp\n";
        assert_eq!(keys(text), [one("/a", "x", "\"q\" 'r' C:\\tmp", 2)]);
    }

    #[test]
    fn empty_value_is_allowed() {
        assert_eq!(keys("[/a]\nallow =\n"), [one("/a", "allow", "", 2)]);
    }

    #[test]
    fn section_names_are_trimmed_and_may_hold_brackets() {
        let text = "[ /Photos [2020] ]\nallow = all\n";
        assert_eq!(keys(text), [one("/Photos [2020]", "allow", "all", 2)]);
    }

    #[test]
    fn crlf_cr_and_bom_are_read() {
        let text = "\u{feff}[/a]\r\nx = 1\r\n  more\r\ny = 2\rz = 3";
        assert_eq!(
            keys(text),
            [
                one("/a", "x", "1\nmore", 2),
                one("/a", "y", "2", 4),
                one("/a", "z", "3", 5)
            ]
        );
    }

    #[test]
    fn repeated_default_headers_merge() {
        let text = "[DEFAULT]\nx = 1\n[/a]\n[DEFAULT]\ny = 2\n";
        let sections = read(text).unwrap();
        assert_eq!(sections.default().line, 1);
        assert_eq!(
            keys(text),
            [one("DEFAULT", "x", "1", 2), one("DEFAULT", "y", "2", 5)]
        );
    }

    #[test]
    fn missing_default_is_empty() {
        let sections = read("[/a]\n").unwrap();
        assert_eq!(sections.default().name, DEFAULT);
        assert_eq!(sections.default().line, 0);
        assert!(sections.default().keys.is_empty());
        assert_eq!(sections.named().len(), 1);
    }

    #[test]
    fn duplicate_section_is_refused_on_its_line() {
        let e = refused("[/a]\nx = 1\n\n[/a]\n");
        assert_eq!(
            e.to_string(),
            "line 4: duplicate section `[/a]` (first on line 1)"
        );
    }

    #[test]
    fn duplicate_key_is_refused_whatever_its_case() {
        let e = refused("[/a]\nallow = all\nALLOW = none\n");
        assert_eq!(
            e.to_string(),
            "line 3: duplicate key `allow` in `[/a]` (first on line 2)"
        );
        let e = refused("[DEFAULT]\nx = 1\n[DEFAULT]\nx = 2\n");
        assert_eq!(e.line, 4);
    }

    #[test]
    fn key_before_any_header_is_refused() {
        assert_eq!(refused("\nallow = all\n[/a]\n").line, 2);
    }

    #[test]
    fn line_without_delimiter_is_refused_on_its_line() {
        let e = refused("[/a]\nallow = all\n\nuplaod\n");
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("`uplaod`"), "{e}");
    }

    #[test]
    fn malformed_headers_and_keys_are_refused() {
        assert_eq!(
            refused("[/a\nx = 1\n").reason,
            "a section header without a closing `]`"
        );
        assert_eq!(refused("[/a]\n[]\n").line, 2);
        assert_eq!(
            refused("[/a] allow = all\n").reason,
            "unexpected `allow = all` after a section header"
        );
        assert_eq!(
            refused("[/a]\n= all\n").reason,
            "a value without a key name"
        );
        assert_eq!(refused("[/a]\na\\b = 1\n").line, 2);
    }

    #[test]
    fn trailing_backslash_is_refused() {
        assert_eq!(refused("[/a]\nx = a\\\ny = 1\n").line, 2);
    }
}
