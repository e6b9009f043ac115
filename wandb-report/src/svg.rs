//! Writing SVG and HTML text: escaping, and compact path data (integer coordinates, relative
//! line segments, repeated points dropped) so long lines stay small.

use std::fmt::Write;

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped (safe in text and in quoted
/// attributes).
pub(crate) fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `text`, escaped.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape(text, &mut out);
    out
}

/// Path data (`d`) built from points in user units, rounded to whole units.
#[derive(Debug, Default)]
pub(crate) struct PathData {
    d: String,
    at: Option<(i64, i64)>,
    /// Whether the current subpath has a segment (a lone point is drawn as a dot).
    drawn: bool,
    /// Whether the last command written was a relative line (`l`), so pairs can follow.
    in_line: bool,
}

impl PathData {
    /// Starts a new subpath at `(x, y)`.
    pub(crate) fn move_to(&mut self, x: f64, y: f64) {
        self.end_subpath();
        let p = (x.round() as i64, y.round() as i64);
        let _ = write!(self.d, "M{} {}", p.0, p.1);
        self.at = Some(p);
        self.in_line = false;
    }

    /// A line from the current point to `(x, y)` (a move when there is no current point).
    pub(crate) fn line_to(&mut self, x: f64, y: f64) {
        let Some(from) = self.at else {
            self.move_to(x, y);
            return;
        };
        let p = (x.round() as i64, y.round() as i64);
        let (dx, dy) = (p.0 - from.0, p.1 - from.1);
        if dx == 0 && dy == 0 {
            return;
        }
        if self.in_line {
            if dx >= 0 {
                self.d.push(' ');
            }
        } else {
            self.d.push('l');
            self.in_line = true;
        }
        let _ = write!(self.d, "{dx}");
        if dy >= 0 {
            self.d.push(' ');
        }
        let _ = write!(self.d, "{dy}");
        self.at = Some(p);
        self.drawn = true;
    }

    /// Ends the current subpath: the next point starts a new one (a gap in the line).
    pub(crate) fn lift(&mut self) {
        self.end_subpath();
        self.at = None;
    }

    fn end_subpath(&mut self) {
        if self.at.is_some() && !self.drawn {
            // A single point: a zero-length segment, drawn as a dot by round line caps.
            self.d.push_str("h0");
        }
        self.drawn = false;
        self.in_line = false;
    }

    /// The path data.
    pub(crate) fn finish(mut self) -> String {
        self.end_subpath();
        self.d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_skip_repeats() {
        let mut p = PathData::default();
        p.move_to(10.2, 20.0);
        p.line_to(13.0, 18.0);
        p.line_to(13.4, 18.0); // the same whole-unit point
        p.line_to(16.0, 25.0);
        p.lift();
        p.line_to(30.0, 30.0);
        assert_eq!(p.finish(), "M10 20l3-2 3 7M30 30h0");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escaped(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
