//! A YAML multiline rule (`- state: ... regex: ... next_state: ...`) written as the classic
//! `rule` value `"state" "regex" "next_state"`, which the multiline filter reads with
//! `RuleDef::parse`.
//!
//! `RuleDef::parse` has no escapes: a quoted string ends at the first `"` followed by ASCII
//! whitespace or the end, and everything else (other quotes, backslashes) is kept as written.
//! So a part round-trips exactly unless it holds a `"` followed by whitespace; such a rule is
//! refused with a hint instead of being silently changed.

use super::super::doc::expand_vars;
use super::tree::Node;

/// A rule's classic value, its unset variables, and `(variable, text)` of the set ones.
pub type Expanded = (String, Vec<String>, Vec<(String, String)>);

/// The classic value of one rule, the variables it used that are not set, and what the ones
/// that are set expanded to.
pub fn classic_rule(
    rule: &Node,
    vars: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, String> {
    let Node::Map { pairs, .. } = rule else {
        return Err("each rule must be a map of state, regex and next_state".to_owned());
    };
    let mut parts: [Option<String>; 3] = [None, None, None];
    let (mut unset, mut found) = (Vec::new(), Vec::new());
    for (key, value) in pairs {
        let Some(name) = key.as_text() else {
            return Err("rule keys must be plain text".to_owned());
        };
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "state" => 0,
            "regex" => 1,
            "next_state" => 2,
            other => {
                return Err(format!(
                    "unknown rule key `{other}` (state, regex, next_state)"
                ));
            }
        };
        let Some(text) = value.as_text().filter(|t| !t.trim().is_empty()) else {
            return Err(format!("rule {name}: missing value"));
        };
        parts[slot] = Some(expand_vars(text.trim(), vars, env, &mut unset, &mut found));
    }
    let [Some(state), Some(regex), Some(next_state)] = parts else {
        return Err("a rule needs state, regex and next_state".to_owned());
    };
    for (name, part) in [
        ("state", &state),
        ("regex", &regex),
        ("next_state", &next_state),
    ] {
        if quote_then_space(part) {
            return Err(format!(
                "rule {name} `{part}` has a `\"` followed by a space, which a rule cannot carry: \
                 write the quote as `\\x22` (regex) or drop it"
            ));
        }
    }
    Ok((
        format!("\"{state}\" \"{regex}\" \"{next_state}\""),
        unset,
        found,
    ))
}

/// Whether `text` holds a `"` directly followed by ASCII whitespace (where `RuleDef::parse`
/// would end the quoted string).
fn quote_then_space(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'"' && w[1].is_ascii_whitespace())
}
