//! Extended interpolation, as Python's `configparser.ExtendedInterpolation`
//! does it: `${key}` is a key of the same section (or `DEFAULT`),
//! `${SECTION:key}` a key of another section (or of `DEFAULT`, which it
//! falls back on), and `$$` a literal `$`.
//!
//! A referenced value is expanded in the section it was looked up in, so
//! a `DEFAULT` value that says `${x}` takes each section's own `x`. Every
//! value is expanded in every section that sees it, when the file is read,
//! so a bad reference refuses the file rather than one request later.
//! Errors name the line of the value holding the bad reference. Section
//! names in references are matched as written (`${/a/:x}` does not find
//! `[/a]`), and a name holding `:` cannot be referenced, as in configparser.

use std::collections::HashMap;

use super::ParseError;
use super::sections::{DEFAULT, Key, Section, Sections};

/// How deep references may nest, as configparser's `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

/// The sections with every value expanded, each section holding the
/// `DEFAULT` keys it does not set itself (as configparser's `items()`).
pub fn interpolate(sections: &Sections) -> Result<Sections, ParseError> {
    let mut resolver = Resolver {
        sections,
        done: HashMap::new(),
        stack: Vec::new(),
    };
    let list = (0..sections.all().len())
        .map(|at| resolver.flatten(at))
        .collect::<Result<_, _>>()?;
    Ok(Sections::from_list(list))
}

/// A value expanded in one section, and how deep its references nest.
#[derive(Clone)]
struct Expanded {
    text: String,
    depth: usize,
}

/// Expands values, remembering each one so that it is expanded once.
struct Resolver<'a> {
    sections: &'a Sections,
    /// Values done, by section (index in [`Sections::all`]) and key name.
    done: HashMap<(usize, &'a str), Expanded>,
    /// The values being expanded, outermost first, to catch loops.
    stack: Vec<(usize, &'a str)>,
}

impl<'a> Resolver<'a> {
    /// Section `at` with its own keys and the `DEFAULT` ones, all expanded.
    fn flatten(&mut self, at: usize) -> Result<Section, ParseError> {
        let sections = self.sections;
        let section = &sections.all()[at];
        let inherited = sections
            .default()
            .keys
            .iter()
            .filter(|k| section.get(&k.name).is_none());
        let mut keys = Vec::new();
        for key in section.keys.iter().chain(inherited) {
            let text = self.expand(at, key)?.text;
            keys.push(Key {
                value: text,
                ..key.clone()
            });
        }
        Ok(Section {
            keys,
            ..section.clone()
        })
    }

    /// `key` as seen from section `at`.
    fn expand(&mut self, at: usize, key: &'a Key) -> Result<Expanded, ParseError> {
        if let Some(done) = self.done.get(&(at, key.name.as_str())) {
            return Ok(done.clone());
        }
        self.stack.push((at, &key.name));
        let expanded = self.expand_text(at, key);
        self.stack.pop();
        let expanded = expanded?;
        self.done.insert((at, &key.name), expanded.clone());
        Ok(expanded)
    }

    /// Replaces each `$$` and `${…}` of `key`'s value.
    fn expand_text(&mut self, at: usize, key: &'a Key) -> Result<Expanded, ParseError> {
        let mut out = Expanded {
            text: String::new(),
            depth: 1,
        };
        let mut rest = key.value.as_str();
        while let Some(dollar) = rest.find('$') {
            out.text.push_str(&rest[..dollar]);
            rest = &rest[dollar..];
            if let Some(after) = rest.strip_prefix("$$") {
                out.text.push('$');
                rest = after;
                continue;
            }
            let (reference, after) = split_reference(rest, key.line)?;
            self.substitute(at, key, reference, &mut out)?;
            rest = after;
        }
        out.text.push_str(rest);
        Ok(out)
    }

    /// Appends the value `${reference}` names, seen from section `at`.
    fn substitute(
        &mut self,
        at: usize,
        key: &Key,
        reference: &str,
        out: &mut Expanded,
    ) -> Result<(), ParseError> {
        let (target_at, target) = self.find(at, reference, key.line)?;
        if !target.value.contains('$') {
            out.text.push_str(&target.value);
            return Ok(());
        }
        if let Some(start) = self
            .stack
            .iter()
            .position(|&(s, k)| s == target_at && k == target.name)
        {
            return Err(self.loop_error(start, key.line));
        }
        let inner = self.expand(target_at, target)?;
        out.text.push_str(&inner.text);
        out.depth = out.depth.max(inner.depth + 1);
        if out.depth > MAX_DEPTH {
            let reason = format!("interpolation nested deeper than {MAX_DEPTH} levels");
            return Err(ParseError {
                line: key.line,
                reason,
            });
        }
        Ok(())
    }

    /// The section and key that `reference` (`key` or `SECTION:key`)
    /// names, seen from section `at`.
    fn find(
        &self,
        at: usize,
        reference: &str,
        line: usize,
    ) -> Result<(usize, &'a Key), ParseError> {
        let missing = |reason: String| ParseError {
            line,
            reason: format!("`${{{reference}}}`: {reason}"),
        };
        let parts: Vec<&str> = reference.split(':').collect();
        let (target_at, name) = match parts[..] {
            [name] => (at, name),
            [section, name] => {
                let found = self.sections.position(section);
                (
                    found.ok_or_else(|| missing(format!("no section `[{section}]`")))?,
                    name,
                )
            }
            _ => return Err(missing("more than one `:`".to_owned())),
        };
        let name = name.to_lowercase();
        let key = self
            .lookup(target_at, &name)
            .ok_or_else(|| missing(format!("no key `{name}` in {}", self.scope(target_at))))?;
        Ok((target_at, key))
    }

    /// The key `name` as section `at` sees it: its own, else `DEFAULT`'s.
    fn lookup(&self, at: usize, name: &str) -> Option<&'a Key> {
        let sections = self.sections;
        sections.all()[at]
            .get(name)
            .or_else(|| sections.default().get(name))
    }

    /// Where a key was looked for, for error messages.
    fn scope(&self, at: usize) -> String {
        match self.sections.all()[at].name.as_str() {
            DEFAULT => format!("`[{DEFAULT}]`"),
            name => format!("`[{name}]` or `[{DEFAULT}]`"),
        }
    }

    /// The loop from `stack[start]` back to itself.
    fn loop_error(&self, start: usize, line: usize) -> ParseError {
        let mut chain: Vec<String> = self.stack[start..]
            .iter()
            .map(|&(at, key)| format!("`{}:{key}`", self.sections.all()[at].name))
            .collect();
        chain.push(chain[0].clone());
        ParseError {
            line,
            reason: format!("interpolation loop: {}", chain.join(" → ")),
        }
    }
}

/// Splits `${reference}…` (which starts with `$`) into the reference and
/// the rest.
fn split_reference(text: &str, line: usize) -> Result<(&str, &str), ParseError> {
    let Some(body) = text.strip_prefix("${") else {
        let reason = format!("`$` must be followed by `$` or `{{`, found `{text}`");
        return Err(ParseError { line, reason });
    };
    match body.find('}') {
        Some(end) if end > 0 => Ok((&body[..end], &body[end + 1..])),
        _ => Err(ParseError {
            line,
            reason: format!("bad interpolation reference `{text}`"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::sections::read;

    /// The expanded value of `key` in `section`, or the error text.
    fn value(text: &str, section: &str, key: &str) -> Result<String, String> {
        let sections =
            interpolate(&read(text).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let at = sections.position(section).unwrap();
        Ok(sections.all()[at].get(key).unwrap().value.clone())
    }

    fn refused(text: &str) -> String {
        let sections = read(text).unwrap();
        interpolate(&sections).unwrap_err().to_string()
    }

    #[test]
    fn key_from_same_section() {
        let text = "[/a]\nbase = list\nallow = ${base}, upload\n";
        assert_eq!(value(text, "/a", "allow").unwrap(), "list, upload");
    }

    #[test]
    fn key_from_default() {
        let text = "[DEFAULT]\nbase = list\n[/a]\nallow = ${base}, upload\n";
        assert_eq!(value(text, "/a", "allow").unwrap(), "list, upload");
    }

    #[test]
    fn key_from_named_section_and_default() {
        let text = "[DEFAULT]\nallow = list\n[/a]\nallow = ${DEFAULT:allow}, upload\n\
                    [/b]\nallow = ${/a:allow}, delete\n";
        assert_eq!(value(text, "/b", "allow").unwrap(), "list, upload, delete");
    }

    #[test]
    fn other_section_falls_back_on_default() {
        let text = "[DEFAULT]\nx = 1\n[/a]\n[/b]\ny = ${/a:x}\n";
        assert_eq!(value(text, "/b", "y").unwrap(), "1");
    }

    #[test]
    fn referenced_value_expands_in_its_own_section() {
        let text = "[/a]\nname = a\nsay = ${name}\n[/b]\nname = b\nsay = ${/a:say}\n";
        assert_eq!(value(text, "/b", "say").unwrap(), "a");
    }

    #[test]
    fn default_value_expands_in_each_section() {
        let text = "[DEFAULT]\nextra = \nallow = list${extra}\n[/a]\nextra = , upload\n";
        assert_eq!(value(text, DEFAULT, "allow").unwrap(), "list");
        assert_eq!(value(text, "/a", "allow").unwrap(), "list, upload");
    }

    #[test]
    fn option_names_in_references_are_case_insensitive() {
        let text = "[/a]\nBase = list\nallow = ${BASE}\n";
        assert_eq!(value(text, "/a", "allow").unwrap(), "list");
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        let text = "[/a]\nx = $$5 and $${y}\ny = ${x}$$\n";
        assert_eq!(value(text, "/a", "x").unwrap(), "$5 and ${y}");
        assert_eq!(value(text, "/a", "y").unwrap(), "$5 and ${y}$");
    }

    #[test]
    fn lone_dollar_is_refused_on_its_line() {
        let e = refused("[/a]\nok = 1\nx = costs $5\n");
        assert_eq!(e, "line 3: `$` must be followed by `$` or `{`, found `$5`");
    }

    #[test]
    fn unclosed_or_empty_reference_is_refused() {
        assert_eq!(
            refused("[/a]\nx = ${y\n"),
            "line 2: bad interpolation reference `${y`"
        );
        assert_eq!(
            refused("[/a]\nx = ${}\n"),
            "line 2: bad interpolation reference `${}`"
        );
    }

    #[test]
    fn missing_key_is_refused_with_its_name_and_line() {
        let e = refused("[DEFAULT]\nallow = list\n[/a]\nallow = ${alow}\n");
        assert_eq!(
            e,
            "line 4: `${alow}`: no key `alow` in `[/a]` or `[DEFAULT]`"
        );
        let e = refused("[DEFAULT]\nallow = ${DEFAULT:x}\n");
        assert_eq!(e, "line 2: `${DEFAULT:x}`: no key `x` in `[DEFAULT]`");
    }

    #[test]
    fn missing_section_is_refused_with_its_name_and_line() {
        let e = refused("[/dir_004]\nallow = all\n[/b]\n\nallow = ${/dir_04:allow}\n");
        assert_eq!(e, "line 5: `${/dir_04:allow}`: no section `[/dir_04]`");
        let e = refused("[/a]\nx = 1\n[/b]\nx = ${/a/:x}\n");
        assert!(e.contains("no section `[/a/]`"), "{e}");
    }

    #[test]
    fn more_than_one_colon_is_refused() {
        assert_eq!(
            refused("[/a]\nx = ${a:b:c}\n"),
            "line 2: `${a:b:c}`: more than one `:`"
        );
    }

    #[test]
    fn error_names_the_line_of_the_inner_value() {
        let text = "[/c]\nz = ${/b:y}\n[/b]\ny = ${/a:x}\n[/a]\nx = ${y}\n";
        assert_eq!(
            refused(text),
            "line 6: `${y}`: no key `y` in `[/a]` or `[DEFAULT]`"
        );
    }

    #[test]
    fn reference_loop_is_refused() {
        let e = refused("[/a]\nx = ${y}\ny = ${/b:z}\n[/b]\nz = ${/a:x}\n");
        assert_eq!(
            e,
            "line 5: interpolation loop: `/a:x` → `/a:y` → `/b:z` → `/a:x`"
        );
        assert_eq!(
            refused("[/a]\nx = a${x}\n"),
            "line 2: interpolation loop: `/a:x` → `/a:x`"
        );
    }

    #[test]
    fn loop_through_default_is_refused() {
        let e = refused("[DEFAULT]\nx = ${y}\ny = 1\n[/a]\ny = ${x}\n");
        assert_eq!(e, "line 2: interpolation loop: `/a:y` → `/a:x` → `/a:y`");
    }

    /// `k0 = v`, `k1 = ${k0}$$`, … `k{n} = ${k{n-1}}$$`: each holds a `$`.
    fn chain(n: usize) -> String {
        let mut text = "[/a]\nk0 = $$\n".to_owned();
        for i in 1..=n {
            text += &format!("k{i} = ${{k{}}}\n", i - 1);
        }
        text
    }

    #[test]
    fn nesting_ten_deep_is_allowed_and_eleven_is_refused() {
        assert_eq!(value(&chain(9), "/a", "k9").unwrap(), "$");
        let e = refused(&chain(10));
        assert_eq!(e, "line 12: interpolation nested deeper than 10 levels");
    }

    #[test]
    fn repeated_references_expand_once() {
        let mut text = "[/a]\nk0 = $$\n".to_owned();
        for i in 1..=9 {
            text += &format!("k{i} = ${{k{0}}}${{k{0}}}\n", i - 1);
        }
        assert_eq!(value(&text, "/a", "k9").unwrap().len(), 512);
    }
}
