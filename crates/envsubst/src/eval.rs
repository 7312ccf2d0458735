//! Template evaluation and the substitution functions of
//! `github.com/fluxcd/pkg/envsubst` (funcs.go, template.go).
//!
//! Go strings are byte strings: lengths and offsets below are in bytes, as in
//! Flux. Where Go could cut a multi-byte character in half (substring offsets
//! inside a character), the invalid bytes become U+FFFD here; pattern trimming
//! only considers whole characters. Both only matter for non-ASCII values.

use crate::parse::{Func, Node};

/// Looks a variable up: its value and whether it counts as set.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> (String, bool) + 'a;

/// Why evaluation stopped.
#[derive(Debug, PartialEq)]
pub(crate) enum EvalError {
    /// A variable referenced without a default operator is not set.
    Missing(String),
}

pub(crate) fn eval(nodes: &[Node], lookup: &Lookup<'_>, out: &mut String) -> Result<(), EvalError> {
    for n in nodes {
        eval_node(n, lookup, out)?;
    }
    Ok(())
}

fn eval_node(node: &Node, lookup: &Lookup<'_>, out: &mut String) -> Result<(), EvalError> {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Func(f) => out.push_str(&eval_func(f, lookup)?),
    }
    Ok(())
}

fn eval_func(f: &Func, lookup: &Lookup<'_>) -> Result<String, EvalError> {
    // Arguments are evaluated first, as Flux does: in strict mode an unset
    // variable inside an unused default still fails.
    let mut args = Vec::with_capacity(f.args.len());
    for a in &f.args {
        let mut buf = String::new();
        eval_node(a, lookup, &mut buf)?;
        args.push(buf);
    }
    let (value, exists) = lookup(&f.param);
    if !exists && !is_default_op(&f.name) {
        return Err(EvalError::Missing(f.param.clone()));
    }
    Ok(apply(&f.name, &value, &args))
}

/// Operators that supply their own fallback and so accept an unset variable.
/// (`-`, `+`, `?` cannot be parsed without a colon; listed as Flux lists them.)
fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Flux's `lookupFunc`: every unknown operator, and all of the default
/// family (including `:+` and `:?`), fall back to "value, else the joined
/// arguments".
fn apply(name: &str, s: &str, args: &[String]) -> String {
    match name {
        "," => to_lower_first(s),
        ",," => map_chars(s, char::to_lowercase),
        "^" => to_upper_first(s),
        "^^" => map_chars(s, char::to_uppercase),
        "#" if args.is_empty() => s.len().to_string(),
        "#" => trim_shortest_prefix(s, args),
        "##" => trim_longest_prefix(s, args),
        "%" => trim_shortest_suffix(s, args),
        "%%" => trim_longest_suffix(s, args),
        ":" => to_substr(s, args),
        "/#" => replace_prefix(s, args),
        "/%" => replace_suffix(s, args),
        "/" => replace_first(s, args),
        "//" => replace_all(s, args),
        _ => to_default(s, args),
    }
}

/// Go's `unicode.ToUpper`/`ToLower` map one rune to one rune; a character
/// whose full case mapping expands (`ß` -> `SS`) is left as it is.
fn simple_case<I: Iterator<Item = char> + ExactSizeIterator>(c: char, f: fn(char) -> I) -> char {
    let mut it = f(c);
    if it.len() == 1 {
        it.next().unwrap_or(c)
    } else {
        c
    }
}

fn map_chars<I: Iterator<Item = char> + ExactSizeIterator>(s: &str, f: fn(char) -> I) -> String {
    s.chars().map(|c| simple_case(c, f)).collect()
}

fn to_lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => {
            let mut out = String::with_capacity(s.len());
            out.push(simple_case(c, char::to_lowercase));
            out.push_str(chars.as_str());
            out
        }
        None => String::new(),
    }
}

fn to_upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => {
            let mut out = String::with_capacity(s.len());
            out.push(simple_case(c, char::to_uppercase));
            out.push_str(chars.as_str());
            out
        }
        None => String::new(),
    }
}

fn to_default(s: &str, args: &[String]) -> String {
    if s.is_empty() && !args.is_empty() {
        args.concat()
    } else {
        s.to_string()
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, 64-bit range.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `${var:pos}` / `${var:pos:len}` on bytes, with bash's negative forms.
fn to_substr(s: &str, args: &[String]) -> String {
    let b = s.as_bytes();
    let n = b.len() as i128;
    let Some(first) = args.first() else {
        return s.to_string();
    };
    // An unparsable position or length returns the value, as bash does.
    let Some(pos) = atoi(first) else {
        return s.to_string();
    };
    let mut pos = pos as i128;
    if pos < 0 {
        pos = (n + pos).max(0);
    }
    let Some(second) = args.get(1) else {
        return if pos < n {
            lossy(&b[pos as usize..])
        } else {
            String::new()
        };
    };
    let Some(length) = atoi(second) else {
        return s.to_string();
    };
    let length = length as i128;
    if length < 0 {
        let end = n + length;
        if end < pos {
            return String::new();
        }
        return lossy(&b[pos as usize..end as usize]);
    }
    if pos + length >= n {
        return if pos < n {
            lossy(&b[pos as usize..])
        } else {
            String::new()
        };
    }
    lossy(&b[pos as usize..(pos + length) as usize])
}

fn replace_all(s: &str, args: &[String]) -> String {
    match args {
        [] => s.to_string(),
        [p] => s.replace(p.as_str(), ""),
        [p, r, ..] => s.replace(p.as_str(), r),
    }
}

fn replace_first(s: &str, args: &[String]) -> String {
    match args {
        [] => s.to_string(),
        [p] => s.replacen(p.as_str(), "", 1),
        [p, r, ..] => s.replacen(p.as_str(), r, 1),
    }
}

/// Needs exactly two arguments (pattern and replacement); else unchanged.
fn replace_prefix(s: &str, args: &[String]) -> String {
    match args {
        [p, r] => match s.strip_prefix(p.as_str()) {
            Some(rest) => format!("{r}{rest}"),
            None => s.to_string(),
        },
        _ => s.to_string(),
    }
}

fn replace_suffix(s: &str, args: &[String]) -> String {
    match args {
        [p, r] => match s.strip_suffix(p.as_str()) {
            Some(rest) => format!("{rest}{r}"),
            None => s.to_string(),
        },
        _ => s.to_string(),
    }
}

fn trim_shortest_prefix(s: &str, args: &[String]) -> String {
    match args.first() {
        Some(p) => trim_shortest(s, p),
        None => s.to_string(),
    }
}

fn trim_longest_prefix(s: &str, args: &[String]) -> String {
    match args.first() {
        Some(p) => trim_longest(s, p),
        None => s.to_string(),
    }
}

/// Suffix trimming reverses the value *and the pattern* (rune by rune) and
/// trims a prefix, as Flux does; bracket patterns therefore read backwards.
fn trim_shortest_suffix(s: &str, args: &[String]) -> String {
    match args.first() {
        Some(p) => reverse(&trim_shortest(&reverse(s), &reverse(p))),
        None => s.to_string(),
    }
}

fn trim_longest_suffix(s: &str, args: &[String]) -> String {
    match args.first() {
        Some(p) => reverse(&trim_longest(&reverse(s), &reverse(p))),
        None => s.to_string(),
    }
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// Non-empty prefix ends, longest first.
fn prefix_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    (1..=s.len()).rev().filter(|&i| s.is_char_boundary(i))
}

/// Removes the shortest non-empty prefix matching `pattern`; a malformed
/// pattern leaves the value unchanged.
fn trim_shortest(s: &str, pattern: &str) -> String {
    let mut shortest = None;
    for end in prefix_ends(s) {
        match glob_match(pattern.as_bytes(), &s.as_bytes()[..end]) {
            Err(()) => return s.to_string(),
            Ok(true) => shortest = Some(end),
            Ok(false) => {}
        }
    }
    match shortest {
        Some(end) => s[end..].to_string(),
        None => s.to_string(),
    }
}

fn trim_longest(s: &str, pattern: &str) -> String {
    for end in prefix_ends(s) {
        match glob_match(pattern.as_bytes(), &s.as_bytes()[..end]) {
            Err(()) => return s.to_string(),
            Ok(true) => return s[end..].to_string(),
            Ok(false) => {}
        }
    }
    s.to_string()
}

/// Decodes one rune like `utf8.DecodeRune` (U+FFFD, 1 on invalid input).
fn decode_rune(b: &[u8]) -> (char, usize) {
    let w = match b.first() {
        None => return (char::REPLACEMENT_CHARACTER, 0),
        Some(0x00..=0x7f) => return (b[0] as char, 1),
        Some(0xc0..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(0xf0..=0xf7) => 4,
        Some(_) => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match b
        .get(..w)
        .and_then(|x| std::str::from_utf8(x).ok())
        .and_then(|x| x.chars().next())
    {
        Some(c) => (c, w),
        None => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Shell pattern matching as in the `path` package vendored by
/// drone/envsubst and Flux: Go's `path.Match`, except that `*` and `?` also
/// match `/`. `Err` is Go's `ErrBadPattern`.
pub(crate) fn glob_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'outer: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches everything left.
            return Ok(true);
        }
        let (t, ok) = match_chunk(chunk, name)?;
        // The last chunk must consume the whole name.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            for i in 0..name.len() {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the literal chunk up to the next star.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches `chunk` at the start of `s`: the rest of `s` and whether it matched.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<(&'a [u8], bool), ()> {
    while !chunk.is_empty() {
        if s.is_empty() {
            return Ok((s, false));
        }
        match chunk[0] {
            b'[' => {
                let (r, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    return Ok((s, false));
                }
            }
            b'?' => {
                let (_, n) = decode_rune(s);
                s = &s[n..];
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&c) => c,
                        None => return Err(()),
                    }
                } else {
                    c
                };
                if c != s[0] {
                    return Ok((s, false));
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Ok((s, true))
}

/// One possibly escaped character of a bracket expression.
fn get_esc(mut chunk: &[u8]) -> Result<(char, &[u8]), ()> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(()),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(());
            }
        }
        _ => {}
    }
    let (r, n) = decode_rune(chunk);
    if r == char::REPLACEMENT_CHARACTER && n == 1 {
        return Err(());
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    // Cases from fluxcd/pkg envsubst funcs_test.go.
    #[test]
    fn funcs() {
        assert_eq!(apply("#", "Hello World", &[]), "11");
        assert_eq!(apply(",,", "Hello World", &[]), "hello world");
        assert_eq!(apply(",", "HELLO WORLD", &[]), "hELLO WORLD");
        assert_eq!(apply(",", "", &[]), "");
        assert_eq!(apply("^^", "Hello World", &[]), "HELLO WORLD");
        assert_eq!(apply("^", "hello world", &[]), "Hello world");
        assert_eq!(apply("^", "", &[]), "");
        assert_eq!(
            to_default("Hello World", &a(&["Hola Mundo"])),
            "Hello World"
        );
        assert_eq!(to_default("", &a(&["Hola Mundo"])), "Hola Mundo");
        assert_eq!(
            to_default(
                "",
                &a(&["Hola Mundo", "-Bonjour le monde", "-Halló heimur"])
            ),
            "Hola Mundo-Bonjour le monde-Halló heimur"
        );
    }

    #[test]
    fn substr() {
        let s = "123456789123456789";
        assert_eq!(to_substr(s, &a(&["0", "8"])), "12345678");
        assert_eq!(to_substr(s, &a(&["1", "8"])), "23456789");
        assert_eq!(to_substr(s, &a(&["9"])), "123456789");
        assert_eq!(to_substr(s, &a(&["9", "50"])), "123456789");
        assert_eq!(to_substr(s, &a(&["-3", "2"])), "78");
        assert_eq!(to_substr(s, &a(&["-300", "3"])), "123");
        assert_eq!(to_substr("12345678", &a(&["9", "1"])), "");
        assert_eq!(to_substr("hello world", &a(&["2", "-1"])), "llo worl");
        assert_eq!(to_substr("hello world", &a(&["0", "-3"])), "hello wo");
        assert_eq!(to_substr("hello world", &a(&["8", "-8"])), "");
        assert_eq!(to_substr("hello world", &a(&["-4", "-1"])), "orl");
        // Unparsable numbers return the value.
        assert_eq!(to_substr("hello", &a(&["x"])), "hello");
        assert_eq!(to_substr("hello", &a(&["1", " 2"])), "hello");
        assert_eq!(to_substr("hello", &a(&["+1"])), "ello");
        assert_eq!(to_substr("hello", &a(&["99"])), "");
    }

    #[test]
    fn case_mapping_is_rune_for_rune() {
        assert_eq!(apply("^^", "straße", &[]), "STRAßE");
        assert_eq!(apply(",,", "ÀÉ", &[]), "àé");
        assert_eq!(apply("^", "élan", &[]), "Élan");
        // Mixed casing operators fall back to the value.
        assert_eq!(apply(",^", "aB", &[]), "aB");
    }

    #[test]
    fn byte_length() {
        assert_eq!(apply("#", "é", &[]), "2");
    }

    #[test]
    fn replace_forms() {
        assert_eq!(replace_all("aXbXc", &a(&["X", "-"])), "a-b-c");
        assert_eq!(replace_all("aXbXc", &a(&["X"])), "abc");
        assert_eq!(replace_first("aXbXc", &a(&["X", "-"])), "a-bXc");
        assert_eq!(replace_prefix("abcabc", &a(&["abc", "X"])), "Xabc");
        assert_eq!(replace_prefix("abcabc", &a(&["bc", "X"])), "abcabc");
        // The one-argument forms of `/#` and `/%` leave the value alone.
        assert_eq!(replace_prefix("abc", &a(&["a"])), "abc");
        assert_eq!(replace_suffix("abc", &a(&["c"])), "abc");
        assert_eq!(replace_suffix("abcabc", &a(&["abc", "X"])), "abcX");
        // An empty pattern matches between every character, as in Go.
        assert_eq!(replace_all("ab", &a(&["", "-"])), "-a-b-");
    }

    #[test]
    fn glob() {
        assert_eq!(glob_match(b"*", b"a/b"), Ok(true));
        assert_eq!(glob_match(b"*/", b"a/b/"), Ok(true));
        assert_eq!(glob_match(b"a?c", b"a/c"), Ok(true));
        assert_eq!(glob_match(b"[a-c]x", b"bx"), Ok(true));
        assert_eq!(glob_match(b"[^a-c]x", b"bx"), Ok(false));
        assert_eq!(glob_match(b"\\*x", b"*x"), Ok(true));
        assert_eq!(glob_match(b"*.txt", b"a.txt"), Ok(true));
        assert_eq!(glob_match(b"*.txt", b"a.txt.gz"), Ok(false));
        assert_eq!(glob_match(b"[", b"a"), Err(()));
        assert_eq!(glob_match(b"a\\", b"a"), Ok(false));
    }

    #[test]
    fn trims() {
        assert_eq!(trim_shortest("bash.string.txt", "*."), "string.txt");
        assert_eq!(trim_longest("bash.string.txt", "*."), "txt");
        assert_eq!(
            trim_shortest_suffix("bash.string.txt", &a(&[".*"])),
            "bash.string"
        );
        assert_eq!(trim_longest_suffix("bash.string.txt", &a(&[".*"])), "bash");
        assert_eq!(trim_shortest("abc", "x*"), "abc");
        // A malformed pattern leaves the value unchanged.
        assert_eq!(trim_shortest("[abc", "[*"), "[abc");
        assert_eq!(trim_shortest("héllo", "h?"), "llo");
    }
}
