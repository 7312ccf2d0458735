//! Template parsing, following the scanner and parser of
//! `github.com/fluxcd/pkg/envsubst/parse` rule for rule.
//!
//! The Go scanner works on UTF-8 bytes, measures operator positions in bytes
//! and removes escape characters from its buffer as it goes; this port keeps
//! those mechanics (including their corner cases) so that the same input is
//! split into the same nodes and rejected with the same errors.

/// A parsed template node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// Literal text, already unescaped.
    Text(String),
    /// `${...}`: a variable reference with an optional operator.
    Func(Func),
}

/// One `${param<name>args}` expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Func {
    /// The variable name.
    pub param: String,
    /// The operator text (`""`, `":="`, `"#"`, `"//"`, ...).
    pub name: String,
    /// Operator arguments; each is a text or a nested expression.
    pub args: Vec<Node>,
}

/// Parse errors, with the messages Flux reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    BadSubstitution,
    MissingClosingBrace,
    VariableName,
    FuncSubstitution,
    DefaultFunction,
    TooDeep,
}

impl ParseError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            ParseError::BadSubstitution => "bad substitution",
            ParseError::MissingClosingBrace => "missing closing brace",
            ParseError::VariableName => "unable to parse variable name",
            ParseError::FuncSubstitution => "unable to parse substitution within function",
            ParseError::DefaultFunction => "unable to parse default function",
            ParseError::TooDeep => "substitutions nested too deeply",
        }
    }
}

/// Deepest accepted nesting of `${...}` inside operator arguments. Go grows
/// its stack; a fixed bound keeps hostile input from overflowing ours.
const MAX_DEPTH: usize = 256;

/// Parses a whole template into its top-level node list.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut p = Parser {
        s: Scanner {
            buf: text.as_bytes().to_vec(),
            pos: 0,
            start: 0,
            width: 0,
            mode: 0,
            escape: 0,
            accept: Accept::Rune,
        },
        depth: 0,
    };
    p.parse_any()
}

// Token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    Illegal,
    Eof,
    Ident,
    Lbrack,
    Rbrack,
}

// Scan mode bits.
const SCAN_IDENT: u8 = 1;
const SCAN_LBRACK: u8 = 2;
const SCAN_RBRACK: u8 = 4;
const SCAN_ESCAPE: u8 = 8;

// Escape character bits.
const DOLLAR: u8 = 1;
const BACKSLASH: u8 = 2;
const ESCAPE_ALL: u8 = DOLLAR | BACKSLASH;

/// Go's scanner returns rune 0 at the end of input, so a literal NUL also
/// ends a token stream; kept for fidelity.
const EOF: char = '\0';

/// The rune filters of the Go scanner; `i` is the byte offset just past the
/// rune within the current token (1 for the first one-byte rune).
#[derive(Clone, Copy, Debug)]
enum Accept {
    Rune,
    Ident,
    Colon,
    OneHash,
    NotClosing,
    HashFunc,
    PercentFunc,
    DefaultFunc,
    ReplaceFunc,
    OneEqual,
    OneColon,
    RejectColonClose,
    Slash,
    NotSlash,
    CasingFunc,
}

impl Accept {
    fn accepts(self, r: char, i: usize) -> bool {
        match self {
            Accept::Rune => true,
            Accept::Ident => r.is_alphabetic() || r.is_numeric() || r == '_',
            Accept::Colon => r == ':',
            Accept::OneHash => r == '#' && i == 1,
            Accept::NotClosing => r != '}',
            Accept::HashFunc => r == '#' && i < 3,
            Accept::PercentFunc => r == '%' && i < 3,
            Accept::DefaultFunc => {
                (i == 1 && r == ':') || (i == 2 && matches!(r, '=' | '-' | '?' | '+'))
            }
            Accept::ReplaceFunc => (i == 1 && r == '/') || (i == 2 && matches!(r, '/' | '#' | '%')),
            Accept::OneEqual => i == 1 && r == '=',
            Accept::OneColon => i == 1 && r == ':',
            Accept::RejectColonClose => r != ':' && r != '}',
            Accept::Slash => r == '/',
            Accept::NotSlash => r != '/',
            Accept::CasingFunc => matches!(r, ',' | '^') && i < 3,
        }
    }
}

struct Scanner {
    buf: Vec<u8>,
    pos: usize,
    start: usize,
    width: usize,
    mode: u8,
    escape: u8,
    accept: Accept,
}

impl Scanner {
    /// Decodes the rune at `pos` like `utf8.DecodeRuneInString`: an invalid
    /// position yields U+FFFD with width 1.
    fn decode_at(&self, pos: usize) -> (char, usize) {
        let b = self.buf[pos];
        let w = match b {
            0x00..=0x7f => return (b as char, 1),
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return (char::REPLACEMENT_CHARACTER, 1),
        };
        let end = (pos + w).min(self.buf.len());
        match std::str::from_utf8(&self.buf[pos..end])
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(c) if c.len_utf8() == w => (c, w),
            _ => (char::REPLACEMENT_CHARACTER, 1),
        }
    }

    fn read(&mut self) -> char {
        if self.pos >= self.buf.len() {
            self.width = 0;
            return EOF;
        }
        let (r, w) = self.decode_at(self.pos);
        self.width = w;
        self.pos += w;
        r
    }

    /// Steps back by the width of the last rune read (or peeked).
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
    }

    /// Drops the byte just read (an escape character) from the buffer.
    fn skip(&mut self) {
        if self.pos > 0 && self.pos <= self.buf.len() {
            self.buf.remove(self.pos - 1);
        }
    }

    fn peek(&mut self) -> char {
        let r = self.read();
        self.unread();
        r
    }

    fn string(&self) -> String {
        let end = self.pos.min(self.buf.len());
        let start = self.start.min(end);
        String::from_utf8_lossy(&self.buf[start..end]).into_owned()
    }

    fn should_escape(&self, bit: u8) -> bool {
        self.escape & bit != 0
    }

    fn scan(&mut self) -> Token {
        self.start = self.pos;
        let r = self.read();
        if r == EOF {
            Token::Eof
        } else if self.scan_lbrack(r) {
            Token::Lbrack
        } else if self.scan_rbrack(r) {
            Token::Rbrack
        } else if self.scan_ident(r) {
            Token::Ident
        } else {
            Token::Illegal
        }
    }

    fn scan_ident(&mut self, r: char) -> bool {
        if self.mode & SCAN_IDENT == 0 {
            return false;
        }
        if self.scan_escaped(r) {
            self.skip();
        } else if !self.accept.accepts(r, self.pos - self.start) {
            return false;
        }
        loop {
            let r = self.read();
            if r == EOF {
                self.unread();
                break;
            }
            if self.scan_lbrack(r) {
                // Leave `${` for the next token.
                self.unread();
                self.unread();
                break;
            }
            if self.scan_escaped(r) {
                self.skip();
                continue;
            }
            if !self.accept.accepts(r, self.pos - self.start) {
                self.unread();
                break;
            }
        }
        true
    }

    fn scan_lbrack(&mut self, r: char) -> bool {
        if self.mode & SCAN_LBRACK == 0 {
            return false;
        }
        if r == '$' {
            if self.read() == '{' {
                return true;
            }
            self.unread();
        }
        false
    }

    fn scan_rbrack(&self, r: char) -> bool {
        self.mode & SCAN_RBRACK != 0 && r == '}'
    }

    /// Whether `r` escapes the next rune: `$$` (literal `$`), and within
    /// replacement operators `\/` and `\\`.
    fn scan_escaped(&mut self, r: char) -> bool {
        if self.mode & SCAN_ESCAPE == 0 {
            return false;
        }
        if r == '$' && self.should_escape(DOLLAR) && self.peek() == '$' {
            return true;
        }
        if r == '\\' && self.should_escape(BACKSLASH) {
            return matches!(self.peek(), '/' | '\\');
        }
        false
    }
}

struct Parser {
    s: Scanner,
    depth: usize,
}

impl Parser {
    /// The top level: text runs and `${...}` expressions until the end.
    /// (Go recurses once per token; a loop is equivalent and keeps long
    /// documents off the stack.)
    fn parse_any(&mut self) -> Result<Vec<Node>, ParseError> {
        let mut nodes = Vec::new();
        loop {
            self.s.accept = Accept::Rune;
            self.s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            self.s.escape = DOLLAR;
            match self.s.scan() {
                Token::Ident => nodes.push(Node::Text(self.s.string())),
                Token::Eof => return Ok(nodes),
                Token::Lbrack => nodes.push(self.parse_func()?),
                _ => return Err(ParseError::BadSubstitution),
            }
        }
    }

    fn parse_func(&mut self) -> Result<Node, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        self.depth += 1;
        let res = self.parse_func_inner();
        self.depth -= 1;
        res
    }

    fn parse_func_inner(&mut self) -> Result<Node, ParseError> {
        self.s.escape = ESCAPE_ALL;
        if self.s.peek() == '#' {
            return self.parse_len_func();
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::VariableName),
        };
        match self.s.peek() {
            ':' => return self.parse_default_or_substr(name),
            '=' => return self.parse_default_func(name),
            ',' | '^' => return self.parse_casing_func(name),
            '/' => return self.parse_replace_func(name),
            '#' => return self.parse_remove_func(name, Accept::HashFunc),
            '%' => return self.parse_remove_func(name, Accept::PercentFunc),
            _ => {}
        }
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => Ok(func(name, String::new(), Vec::new())),
            _ => Err(ParseError::MissingClosingBrace),
        }
    }

    /// One operator argument: a nested expression or a text run.
    fn parse_param(&mut self, accept: Accept, mode: u8) -> Result<Node, ParseError> {
        self.s.accept = accept;
        self.s.mode = mode | SCAN_LBRACK;
        match self.s.scan() {
            Token::Lbrack => self.parse_func(),
            Token::Ident | Token::Rbrack => Ok(Node::Text(self.s.string())),
            _ => Err(ParseError::FuncSubstitution),
        }
    }

    fn parse_default_or_substr(&mut self, name: String) -> Result<Node, ParseError> {
        self.s.read();
        let r = self.s.peek();
        self.s.unread();
        match r {
            '=' | '-' | '?' | '+' => self.parse_default_func(name),
            _ => self.parse_substr_func(name),
        }
    }

    /// `${param:offset}` and `${param:offset:length}`.
    fn parse_substr_func(&mut self, param: String) -> Result<Node, ParseError> {
        self.s.accept = Accept::OneColon;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        let mut args = vec![self.parse_param(Accept::RejectColonClose, SCAN_IDENT)?];
        self.s.accept = Accept::Colon;
        self.s.mode = SCAN_IDENT | SCAN_RBRACK;
        match self.s.scan() {
            Token::Rbrack => return Ok(func(param, name, args)),
            Token::Ident => {}
            _ => return Err(ParseError::BadSubstitution),
        }
        args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        self.consume_rbrack()?;
        Ok(func(param, name, args))
    }

    /// `${param#word}`, `${param##word}`, `${param%word}`, `${param%%word}`.
    fn parse_remove_func(&mut self, param: String, accept: Accept) -> Result<Node, ParseError> {
        self.s.accept = accept;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        let args = vec![self.parse_param(Accept::NotClosing, SCAN_IDENT)?];
        self.consume_rbrack()?;
        Ok(func(param, name, args))
    }

    /// `${param/pattern/string}` and the `//`, `/#`, `/%` forms.
    fn parse_replace_func(&mut self, param: String) -> Result<Node, ParseError> {
        self.s.accept = Accept::ReplaceFunc;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        let mut args = Vec::new();
        if self.s.peek() == '/' {
            // Empty pattern: keep the two-argument shape.
            args.push(Node::Text(String::new()));
        } else {
            args.push(self.parse_param(Accept::NotSlash, SCAN_IDENT | SCAN_ESCAPE)?);
        }
        self.s.accept = Accept::Slash;
        self.s.mode = SCAN_IDENT;
        match self.s.scan() {
            Token::Ident => {}
            _ => return Err(ParseError::BadSubstitution),
        }
        if self.s.peek() == '}' {
            self.consume_rbrack()?;
            return Ok(func(param, name, args));
        }
        args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT | SCAN_ESCAPE)?);
        self.consume_rbrack()?;
        Ok(func(param, name, args))
    }

    /// `${param=word}`, `${param:=word}`, `${param:-word}`, `${param:?word}`,
    /// `${param:+word}`.
    fn parse_default_func(&mut self, param: String) -> Result<Node, ParseError> {
        self.s.accept = if self.s.peek() == '=' {
            Accept::OneEqual
        } else {
            Accept::DefaultFunc
        };
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::DefaultFunction),
        };
        let mut args = Vec::new();
        loop {
            if self.s.peek() == '}' {
                self.consume_rbrack()?;
                return Ok(func(param, name, args));
            }
            args.push(self.parse_param(Accept::NotClosing, SCAN_IDENT)?);
        }
    }

    /// `${param,}`, `${param,,}`, `${param^}`, `${param^^}`.
    fn parse_casing_func(&mut self, param: String) -> Result<Node, ParseError> {
        self.s.accept = Accept::CasingFunc;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        self.consume_rbrack()?;
        Ok(func(param, name, Vec::new()))
    }

    /// `${#param}`.
    fn parse_len_func(&mut self) -> Result<Node, ParseError> {
        self.s.accept = Accept::OneHash;
        self.s.mode = SCAN_IDENT;
        let name = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        self.s.accept = Accept::Ident;
        self.s.mode = SCAN_IDENT;
        let param = match self.s.scan() {
            Token::Ident => self.s.string(),
            _ => return Err(ParseError::BadSubstitution),
        };
        self.consume_rbrack()?;
        Ok(func(param, name, Vec::new()))
    }

    fn consume_rbrack(&mut self) -> Result<(), ParseError> {
        self.s.mode = SCAN_RBRACK;
        if self.s.scan() != Token::Rbrack {
            return Err(ParseError::BadSubstitution);
        }
        Ok(())
    }
}

fn func(param: String, name: String, args: Vec<Node>) -> Node {
    Node::Func(Func { param, name, args })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.to_string())
    }

    fn f(param: &str, name: &str, args: Vec<Node>) -> Node {
        func(param.to_string(), name.to_string(), args)
    }

    #[test]
    fn splits_text_and_expressions() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("abc").unwrap(), vec![text("abc")]);
        assert_eq!(
            parse("a ${b} c").unwrap(),
            vec![text("a "), f("b", "", vec![]), text(" c")]
        );
    }

    #[test]
    fn operators_and_arguments() {
        assert_eq!(
            parse("${a:=x}").unwrap(),
            vec![f("a", ":=", vec![text("x")])]
        );
        assert_eq!(parse("${a=x}").unwrap(), vec![f("a", "=", vec![text("x")])]);
        assert_eq!(
            parse("${a:1:2}").unwrap(),
            vec![f("a", ":", vec![text("1"), text("2")])]
        );
        assert_eq!(parse("${#a}").unwrap(), vec![f("a", "#", vec![])]);
        assert_eq!(
            parse("${a##*.}").unwrap(),
            vec![f("a", "##", vec![text("*.")])]
        );
        assert_eq!(
            parse("${a//x/y}").unwrap(),
            vec![f("a", "//", vec![text("x"), text("y")])]
        );
        assert_eq!(
            parse("${a/#/p}").unwrap(),
            vec![f("a", "/#", vec![text(""), text("p")])]
        );
        assert_eq!(parse("${a^^}").unwrap(), vec![f("a", "^^", vec![])]);
    }

    #[test]
    fn nested_default() {
        assert_eq!(
            parse("${a:=p${b}s}").unwrap(),
            vec![f("a", ":=", vec![text("p"), f("b", "", vec![]), text("s")])]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(parse("$${a}").unwrap(), vec![text("${a}")]);
        assert_eq!(parse("a$$b").unwrap(), vec![text("a$b")]);
        // A lone `$` and the `$var` form are plain text.
        assert_eq!(parse("$a $ b").unwrap(), vec![text("$a $ b")]);
        // Backslash escapes only inside replacement operators.
        assert_eq!(
            parse(r"${a/\//-}").unwrap(),
            vec![f("a", "/", vec![text("/"), text("-")])]
        );
        assert_eq!(parse(r"\\x").unwrap(), vec![text(r"\\x")]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse("${}"), Err(ParseError::VariableName));
        assert_eq!(parse("${ a}"), Err(ParseError::VariableName));
        assert_eq!(parse("${a"), Err(ParseError::MissingClosingBrace));
        assert_eq!(parse("${a b}"), Err(ParseError::MissingClosingBrace));
        // bash's `-`, `+`, `?` without a colon are not supported by Flux.
        assert_eq!(parse("${a-x}"), Err(ParseError::MissingClosingBrace));
        assert_eq!(parse("${a+x}"), Err(ParseError::MissingClosingBrace));
        assert_eq!(parse("${a?x}"), Err(ParseError::MissingClosingBrace));
        assert_eq!(parse("${a:=x"), Err(ParseError::FuncSubstitution));
        assert_eq!(parse("${a:}"), Err(ParseError::FuncSubstitution));
        assert_eq!(parse("${a/x}"), Err(ParseError::BadSubstitution));
        assert_eq!(parse("${a#}"), Err(ParseError::FuncSubstitution));
        assert_eq!(parse("${#}"), Err(ParseError::BadSubstitution));
        assert_eq!(parse("${a^x}"), Err(ParseError::BadSubstitution));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "${a:=".repeat(MAX_DEPTH + 1) + &"}".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep), Err(ParseError::TooDeep));
        let ok = "${a:=".repeat(10) + &"}".repeat(10);
        assert!(parse(&ok).is_ok());
    }
}
