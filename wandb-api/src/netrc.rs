//! Reading API keys from a netrc file, as `wandb login` writes them.

/// The password of `machine`, from netrc text.
///
/// ```
/// let text = "machine api.wandb.ai\n  login user\n  password abc123\n";
/// assert_eq!(wandb_api::netrc_password(text, "api.wandb.ai").as_deref(), Some("abc123"));
/// assert_eq!(wandb_api::netrc_password(text, "localhost:8080"), None);
/// ```
#[must_use]
pub fn netrc_password(text: &str, machine: &str) -> Option<String> {
    let tokens = tokenize(text);
    let mut i = 0;
    let mut current: Option<&str> = None;
    let mut found = None;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "machine" => {
                current = tokens.get(i + 1).map(String::as_str);
                i += 2;
            }
            "default" => {
                current = Some("");
                i += 1;
            }
            "password" => {
                if current == Some(machine) {
                    found = tokens.get(i + 1).cloned();
                }
                i += 2;
            }
            "macdef" => {
                // A macro definition runs to the next blank line; its words are not tokens.
                current = None;
                i += 2;
            }
            _ => i += 1,
        }
    }
    found
}

/// Splits netrc text into words, honouring single and double quotes and `#` comments.
fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut chars = line.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else if c == '\'' || c == '"' {
                chars.next();
                out.push(chars.by_ref().take_while(|&x| x != c).collect());
            } else {
                let mut word = String::new();
                while let Some(&x) = chars.peek() {
                    if x.is_whitespace() {
                        break;
                    }
                    word.push(x);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_and_several_machines() {
        let text = "# comment\nmachine 'localhost:8080' login user password 'a b'\nmachine api.wandb.ai login u password k2\n";
        assert_eq!(
            netrc_password(text, "localhost:8080").as_deref(),
            Some("a b")
        );
        assert_eq!(netrc_password(text, "api.wandb.ai").as_deref(), Some("k2"));
    }
}
