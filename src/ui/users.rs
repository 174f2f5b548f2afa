//! User names, read once from /etc/passwd when the view starts (never
//! while drawing).

use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct Users {
    names: HashMap<u32, String>,
}

impl Users {
    /// Reads /etc/passwd; an unreadable file just means numeric uids.
    pub fn load() -> Self {
        match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => Self::from_passwd(&text),
            Err(e) => {
                log::debug!("reading /etc/passwd: {e}; showing numeric uids");
                Self::default()
            }
        }
    }

    /// Parses passwd(5) lines: `name:password:uid:...`. The first entry for
    /// a uid wins, as getpwuid does.
    pub fn from_passwd(text: &str) -> Self {
        let mut names = HashMap::new();
        for line in text.lines() {
            let mut fields = line.split(':');
            let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if name.is_empty() || name.starts_with('#') {
                continue;
            }
            if let Ok(uid) = uid.trim().parse::<u32>() {
                names.entry(uid).or_insert_with(|| name.to_string());
            }
        }
        Users { names }
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.names.get(&uid).map(String::as_str)
    }

    /// The user's name, or the uid as a number.
    pub fn display(&self, uid: u32) -> String {
        self.name(uid)
            .map_or_else(|| uid.to_string(), ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd() {
        let u = Users::from_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# comment\n\nbad line\nalice:x:1000:1000::/home/a:/bin/sh\ndup:x:0:0::/:/bin/sh\n",
        );
        assert_eq!(u.name(0), Some("root"));
        assert_eq!(u.name(1000), Some("alice"));
        assert_eq!(u.display(4242), "4242");
    }
}
