//! Kubernetes label selector strings (`a=b,c!=d,e in (x,y),!f`).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn parse(selector: &str) -> Result<Vec<Req>, String> {
    let mut reqs = Vec::new();
    let s = selector.trim();
    if s.is_empty() {
        return Ok(reqs);
    }
    // Split on commas outside parentheses.
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for part in parts {
        let p = part.trim();
        if p.is_empty() {
            return Err(format!(
                "invalid label selector {selector:?}: empty requirement"
            ));
        }
        if let Some(k) = p.strip_prefix('!') {
            reqs.push(Req::NotExists(check_key(k.trim(), selector)?));
            continue;
        }
        if let Some((k, v)) = p.split_once("!=") {
            reqs.push(Req::NotEq(
                check_key(k.trim(), selector)?,
                v.trim().to_string(),
            ));
            continue;
        }
        if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            reqs.push(Req::Eq(
                check_key(k.trim(), selector)?,
                v.trim().to_string(),
            ));
            continue;
        }
        let words: Vec<&str> = p.splitn(2, char::is_whitespace).collect();
        if words.len() == 2 {
            let key = check_key(words[0], selector)?;
            let rest = words[1].trim();
            let (neg, list) = if let Some(l) = rest.strip_prefix("notin") {
                (true, l)
            } else if let Some(l) = rest.strip_prefix("in") {
                (false, l)
            } else {
                return Err(format!("invalid label selector {selector:?}"));
            };
            let list = list.trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| format!("invalid label selector {selector:?}: expected (values)"))?;
            let values: Vec<String> = inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            reqs.push(if neg {
                Req::NotIn(key, values)
            } else {
                Req::In(key, values)
            });
            continue;
        }
        reqs.push(Req::Exists(check_key(p, selector)?));
    }
    Ok(reqs)
}

fn check_key(k: &str, selector: &str) -> Result<String, String> {
    if k.is_empty()
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(format!(
            "invalid label selector {selector:?}: bad key {k:?}"
        ));
    }
    Ok(k.to_string())
}

/// Whether `labels` satisfy `selector`.
pub fn matches(selector: &str, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    for r in parse(selector)? {
        let ok = match &r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::NotEq(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let mut l = BTreeMap::new();
        l.insert("app".to_string(), "web".to_string());
        l.insert("tier".to_string(), "fe".to_string());
        assert_eq!(matches("app=web", &l), Ok(true));
        assert_eq!(matches("app=web,tier!=fe", &l), Ok(false));
        assert_eq!(matches("tier in (fe, be)", &l), Ok(true));
        assert_eq!(matches("tier notin (fe)", &l), Ok(false));
        assert_eq!(matches("!missing,app", &l), Ok(true));
        assert!(matches("a b c", &l).is_err());
    }
}
