//! The `.rgf` filter file parser. One directive per line; `#` starts a
//! comment. The grammar is in `filters/README.md`. Every error names the file,
//! the line and the column, and shows the line with a caret under the place.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::{Action, Cmp, Cond, Filter, Pattern, Rule};

/// Why a filter could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(SyntaxError),
}

/// A mistake at a place in a filter text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub file: String,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The offending line as written.
    pub text: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)?;
        writeln!(f, "    {}", self.text)?;
        write!(f, "    {}^", " ".repeat(self.col.saturating_sub(1)))
    }
}

/// Parses filter text; `name` is what errors call it.
pub fn parse_str(text: &str, name: &str) -> Result<Filter, FilterError> {
    let mut p = Parser { stack: vec![name.to_string()], base: None };
    p.parse_text(text, name)
}

/// Parses a filter file and the files it includes.
pub fn parse_file(path: &Path) -> Result<Filter, FilterError> {
    let mut p = Parser { stack: Vec::new(), base: path.parent().map(Path::to_path_buf) };
    p.parse_path(path, None)
}

struct Parser {
    /// Files being read, outermost first (include cycles are errors).
    stack: Vec<String>,
    base: Option<PathBuf>,
}

/// A token and the column (1-based, in characters) where it starts.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    Tilde,
    Comma,
}

struct Line<'a> {
    file: &'a str,
    number: usize,
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn parse_path(&mut self, path: &Path, at: Option<&Line<'_>>) -> Result<Filter, FilterError> {
        let name = path.display().to_string();
        if let Some(line) = at {
            if self.stack.contains(&name) {
                let chain = format!("{} -> {name}", self.stack.join(" -> "));
                return Err(line.error(line.col_of(1), format!("include cycle: {chain}")));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|source| match at {
            Some(line) => line.error(line.col_of(1), format!("cannot include {name}: {source}")),
            None => FilterError::Io { file: name.clone(), source },
        })?;
        self.stack.push(name.clone());
        let old_base = self.base.replace(path.parent().map(Path::to_path_buf).unwrap_or_default());
        let out = self.parse_text(&text, &name);
        self.base = old_base;
        self.stack.pop();
        out
    }

    fn parse_text(&mut self, text: &str, name: &str) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        for (i, raw) in text.lines().enumerate() {
            let toks = tokenize(raw).map_err(|(col, msg)| syntax(name, i + 1, col, msg, raw))?;
            if toks.is_empty() {
                continue;
            }
            let mut line = Line { file: name, number: i + 1, text: raw, toks, pos: 0 };
            self.directive(&mut line, &mut filter)?;
        }
        Ok(filter)
    }

    fn directive(&mut self, line: &mut Line<'_>, filter: &mut Filter) -> Result<(), FilterError> {
        let (word, col) = line.word("a directive (hide, keep, stop, include, max-depth, too-many)")?;
        match word.as_str() {
            "hide" | "keep" | "stop" => {
                let action = match word.as_str() {
                    "hide" => Action::Hide,
                    "keep" => Action::Keep,
                    _ => Action::Stop,
                };
                let cond = line.condition()?;
                line.end()?;
                filter.rules.push(Rule { action, cond, origin: format!("{}:{}", line.file, line.number) });
            }
            "include" => {
                let (target, _) = line.string_or_word("a file name after include")?;
                line.end()?;
                let path = match &self.base {
                    Some(b) if !Path::new(&target).is_absolute() => b.join(&target),
                    _ => PathBuf::from(&target),
                };
                let included = self.parse_path(&path, Some(line))?;
                filter.extend(included);
            }
            "max-depth" => {
                let n = line.number_arg("a depth")?;
                line.end()?;
                filter.max_depth = Some(u32::try_from(n).map_err(|_| line.error(col, "depth too large".into()))?);
            }
            "too-many" => {
                let n = line.number_arg("a count")?;
                line.end()?;
                filter.too_many = Some(n as usize);
            }
            other => {
                return Err(
                    line.error(col, format!("unknown directive {other:?}; expected hide, keep, stop, include, max-depth or too-many"))
                )
            }
        }
        Ok(())
    }
}

fn syntax(file: &str, line: usize, col: usize, message: String, text: &str) -> FilterError {
    FilterError::Syntax(SyntaxError { file: file.to_string(), line, col, message, text: text.to_string() })
}

const CONDITIONS: &str = "module, type, label, edge, refcount, size, depth, tracked, untracked, root, address or not";

impl Line<'_> {
    fn error(&self, col: usize, message: String) -> FilterError {
        syntax(self.file, self.number, col, message, self.text)
    }

    /// Column of the token at `pos`, or just past the end of the line.
    fn col_of(&self, pos: usize) -> usize {
        match self.toks.get(pos) {
            Some((_, c)) => *c,
            None => self.text.trim_end().chars().count() + 1,
        }
    }

    fn here(&self) -> usize {
        self.col_of(self.pos)
    }

    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), _)) => Some(w),
            _ => None,
        }
    }

    fn found(&self) -> String {
        match self.toks.get(self.pos) {
            None => "the end of the line".to_string(),
            Some((Tok::Word(w), _)) => format!("{w:?}"),
            Some((Tok::Str(s), _)) => format!("\"{s}\""),
            Some((Tok::Op(o), _)) => format!("'{o}'"),
            Some((Tok::Tilde, _)) => "'~'".to_string(),
            Some((Tok::Comma, _)) => "','".to_string(),
        }
    }

    fn expected(&self, what: &str) -> FilterError {
        self.error(self.here(), format!("expected {what}, found {}", self.found()))
    }

    fn word(&mut self, what: &str) -> Result<(String, usize), FilterError> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), c)) => {
                let out = (w.clone(), *c);
                self.pos += 1;
                Ok(out)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn string_or_word(&mut self, what: &str) -> Result<(String, usize), FilterError> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w) | Tok::Str(w), c)) => {
                let out = (w.clone(), *c);
                self.pos += 1;
                Ok(out)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn end(&self) -> Result<(), FilterError> {
        if self.pos < self.toks.len() {
            return Err(self.expected("the end of the line (join conditions with 'and')"));
        }
        Ok(())
    }

    fn condition(&mut self) -> Result<Cond, FilterError> {
        let mut all = vec![self.term()?];
        while self.peek_word() == Some("and") {
            self.pos += 1;
            all.push(self.term()?);
        }
        Ok(if all.len() == 1 { all.pop().unwrap_or(Cond::All(Vec::new())) } else { Cond::All(all) })
    }

    fn term(&mut self) -> Result<Cond, FilterError> {
        let (word, col) = self.word(&format!("a condition ({CONDITIONS})"))?;
        Ok(match word.as_str() {
            "not" => Cond::Not(Box::new(self.term()?)),
            "module" => Cond::Module(self.pattern()?),
            "type" => Cond::Type(self.pattern()?),
            "label" => Cond::Label(self.pattern()?),
            "edge" => Cond::Edge(self.pattern()?),
            "refcount" => {
                let (c, n) = self.comparison()?;
                Cond::Refcount(c, n)
            }
            "size" => {
                let (c, n) = self.comparison()?;
                Cond::Size(c, n)
            }
            "depth" => {
                let (c, n) = self.comparison()?;
                Cond::Depth(c, n)
            }
            "tracked" => Cond::Tracked,
            "untracked" => Cond::Not(Box::new(Cond::Tracked)),
            "root" => Cond::Root,
            "address" => {
                let mut list = vec![self.number_arg("an address")?];
                while matches!(self.toks.get(self.pos), Some((Tok::Comma, _))) {
                    self.pos += 1;
                    list.push(self.number_arg("an address after ','")?);
                }
                Cond::Address(list)
            }
            other => return Err(self.error(col, format!("unknown condition {other:?}; expected {CONDITIONS}"))),
        })
    }

    fn pattern(&mut self) -> Result<Pattern, FilterError> {
        let regex = matches!(self.toks.get(self.pos), Some((Tok::Tilde, _)));
        if regex {
            self.pos += 1;
        }
        let col = self.here();
        let (text, _) = self.string_or_word(if regex { "a regular expression after '~'" } else { "a name or ~REGEX" })?;
        if !regex {
            return Ok(Pattern::Prefix(text));
        }
        Regex::new(&text).map(Pattern::Regex).map_err(|e| self.error(col, format!("bad regular expression: {}", one_line(&e.to_string()))))
    }

    fn comparison(&mut self) -> Result<(Cmp, u64), FilterError> {
        let cmp = match self.next() {
            Some((Tok::Op(o), _)) => match o {
                "<" => Cmp::Lt,
                "<=" => Cmp::Le,
                "==" | "=" => Cmp::Eq,
                "!=" => Cmp::Ne,
                ">=" => Cmp::Ge,
                _ => Cmp::Gt,
            },
            _ => {
                self.pos -= usize::from(self.pos > 0 && self.pos <= self.toks.len());
                return Err(self.expected("a comparison (<, <=, ==, !=, >=, >)"));
            }
        };
        Ok((cmp, self.number_arg("a number")?))
    }

    fn number_arg(&mut self, what: &str) -> Result<u64, FilterError> {
        let col = self.here();
        let (w, _) = self.word(what)?;
        parse_number(&w).ok_or_else(|| self.error(col, format!("expected {what}, found {w:?}")))
    }
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// `42`, `0x7f3a`, `64k`, `2M` (binary units).
fn parse_number(w: &str) -> Option<u64> {
    let w = w.replace('_', "");
    if let Some(hex) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    let (digits, mult) = match w.chars().last()? {
        'k' | 'K' => (&w[..w.len() - 1], 1u64 << 10),
        'M' => (&w[..w.len() - 1], 1 << 20),
        'G' => (&w[..w.len() - 1], 1 << 30),
        _ => (&w[..], 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// Splits a line into tokens with their columns; `#` outside a string starts
/// a comment.
fn tokenize(line: &str) -> Result<Vec<(Tok, usize)>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '#' => break,
            '~' => {
                toks.push((Tok::Tilde, col));
                i += 1;
            }
            ',' => {
                toks.push((Tok::Comma, col));
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "<=" => "<=",
                    ">=" => ">=",
                    "==" => "==",
                    "!=" => "!=",
                    _ => match c {
                        '<' => "<",
                        '>' => ">",
                        '=' => "=",
                        _ => return Err((col, "'!' must be followed by '=' (!=)".into())),
                    },
                };
                i += op.len();
                toks.push((Tok::Op(op), col));
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err((col, "unterminated string: a '\"' is missing".into())),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => match chars.get(i + 1) {
                            Some(&q @ ('"' | '\\')) => {
                                s.push(q);
                                i += 2;
                            }
                            // Other escapes belong to the regex: keep them.
                            Some(&other) => {
                                s.push('\\');
                                s.push(other);
                                i += 2;
                            }
                            None => return Err((i + 1, "a '\\' ends the line inside a string".into())),
                        },
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push((Tok::Str(s), col));
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '#' | ',' | '"' | '<' | '>' | '=' | '!') {
                    i += 1;
                }
                // A regex in a bare word may contain anything but spaces; the
                // characters above end a word only outside one.
                let after_tilde = matches!(toks.last(), Some((Tok::Tilde, _)));
                if after_tilde {
                    while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '#' {
                        i += 1;
                    }
                }
                toks.push((Tok::Word(chars[start..i].iter().collect()), col));
            }
        }
    }
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SyntaxError {
        match parse_str(text, "bad.rgf") {
            Err(FilterError::Syntax(e)) => e,
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn comments_blank_lines_and_quoted_regexes() {
        let f = parse_str(
            "# seed filter\n\n  hide module graphviz   # the drawing library\nkeep label ~\"^logging namespace\" and refcount >= 1\n",
            "ok.rgf",
        )
        .unwrap();
        assert_eq!(f.rules.len(), 2);
        assert_eq!(f.rules[1].origin, "ok.rgf:4");
        match &f.rules[1].cond {
            Cond::All(cs) => assert!(matches!(&cs[0], Cond::Label(Pattern::Regex(r)) if r.as_str() == "^logging namespace")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bare_regexes_may_hold_operators() {
        let f = parse_str("hide label ~^a=b<c,d\n", "ok.rgf").unwrap();
        assert!(matches!(&f.rules[0].cond, Cond::Label(Pattern::Regex(r)) if r.as_str() == "^a=b<c,d"));
    }

    #[test]
    fn errors_point_at_the_line_and_column() {
        let e = err("hide module logging\nhide modul logging\n");
        assert_eq!((e.line, e.col), (2, 6));
        assert!(e.message.contains("unknown condition \"modul\""), "{}", e.message);
        let shown = e.to_string();
        assert!(shown.starts_with("bad.rgf:2:6: "), "{shown}");
        assert!(shown.contains("\n    hide modul logging\n         ^"), "{shown}");
    }

    #[test]
    fn unknown_directives_and_trailing_words_are_errors() {
        let e = err("hid module x");
        assert_eq!((e.line, e.col), (1, 1));
        assert!(e.message.contains("unknown directive"));
        let e = err("hide module x y");
        assert_eq!(e.col, 15);
        assert!(e.message.contains("end of the line"));
        let e = err("hide refcount 3");
        assert_eq!(e.col, 15);
        assert!(e.message.contains("comparison"), "{}", e.message);
        let e = err("hide refcount <= many");
        assert_eq!(e.col, 18);
        let e = err("hide label ~\"(\"");
        assert!(e.message.contains("bad regular expression"), "{}", e.message);
        assert_eq!(e.col, 13);
        let e = err("hide label \"open");
        assert!(e.message.contains("unterminated"));
        let e = err("hide");
        assert_eq!(e.col, 5);
    }

    #[test]
    fn numbers_take_hex_and_units() {
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("64k"), Some(65536));
        assert_eq!(parse_number("1_000"), Some(1000));
        assert_eq!(parse_number("x"), None);
    }

    #[test]
    fn includes_are_relative_and_cycles_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/base.rgf"), "hide module graphviz\nmax-depth 9\n").unwrap();
        std::fs::write(dir.path().join("top.rgf"), "include sub/base.rgf\nkeep module graphviz.x\n").unwrap();
        let f = parse_file(&dir.path().join("top.rgf")).unwrap();
        assert_eq!(f.rules.len(), 2);
        assert_eq!(f.max_depth, Some(9));
        assert!(f.rules[0].origin.ends_with("base.rgf:1"));

        std::fs::write(dir.path().join("a.rgf"), "include b.rgf\n").unwrap();
        std::fs::write(dir.path().join("b.rgf"), "hide root\ninclude a.rgf\n").unwrap();
        let e = parse_file(&dir.path().join("a.rgf")).unwrap_err().to_string();
        assert!(e.contains("include cycle") && e.contains("b.rgf:2:"), "{e}");

        std::fs::write(dir.path().join("c.rgf"), "include missing.rgf\n").unwrap();
        let e = parse_file(&dir.path().join("c.rgf")).unwrap_err().to_string();
        assert!(e.contains("c.rgf:1:") && e.contains("missing.rgf"), "{e}");
    }
}
