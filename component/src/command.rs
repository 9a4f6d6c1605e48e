//! The API's command names: what a request asks for, and the word the
//! permissions file must allow for it (contract §3). Both share one list.

use std::fmt;

/// One operation of API v1. The permission word is the command name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    List,
    Archive,
    Mkdir,
    Upload,
    Delete,
    Download,
    Info,
    Compress,
    Checksum,
    Copy,
    Move,
}

impl Command {
    /// Every command, in the order links are listed.
    pub const ALL: [Command; 11] = [
        Command::List,
        Command::Archive,
        Command::Mkdir,
        Command::Upload,
        Command::Delete,
        Command::Download,
        Command::Info,
        Command::Compress,
        Command::Checksum,
        Command::Copy,
        Command::Move,
    ];

    /// The name used in `?cmd=` and in the permissions file.
    pub fn name(self) -> &'static str {
        match self {
            Command::List => "list",
            Command::Archive => "archive",
            Command::Mkdir => "mkdir",
            Command::Upload => "upload",
            Command::Delete => "delete",
            Command::Download => "download",
            Command::Info => "info",
            Command::Compress => "compress",
            Command::Checksum => "checksum",
            Command::Copy => "copy",
            Command::Move => "move",
        }
    }

    /// Parses a command name exactly as written (names are lower-case).
    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of commands: what the permissions file allows on one path.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow(u16);

impl Allow {
    /// No command at all (`allow = none`).
    pub const NONE: Allow = Allow(0);
    /// Every command (`allow = all`).
    pub const ALL: Allow = Allow((1 << Command::ALL.len()) - 1);

    /// Whether `command` is in the set.
    pub fn contains(self, command: Command) -> bool {
        self.0 & command.bit() != 0
    }

    /// The set with `command` added.
    pub fn with(self, command: Command) -> Allow {
        Allow(self.0 | command.bit())
    }

    /// The commands in the set, in [`Command::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Command> {
        Command::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Command> for Allow {
    fn from_iter<I: IntoIterator<Item = Command>>(iter: I) -> Allow {
        iter.into_iter().fold(Allow::NONE, Allow::with)
    }
}

impl fmt::Debug for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for command in Command::ALL {
            assert_eq!(Command::from_name(command.name()), Some(command));
        }
        assert_eq!(Command::from_name("LIST"), None);
        assert_eq!(Command::from_name("rename"), None);
    }

    #[test]
    fn allow_sets() {
        let allow: Allow = [Command::List, Command::Upload].into_iter().collect();
        assert!(allow.contains(Command::List));
        assert!(!allow.contains(Command::Delete));
        assert_eq!(allow.iter().count(), 2);
        assert_eq!(Allow::ALL.iter().count(), 11);
        assert_eq!(Allow::NONE.iter().count(), 0);
    }
}
