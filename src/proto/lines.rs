//! Framing, pure: a byte stream split into lines of at most [`MAX_LINE`]
//! bytes, for every door that speaks in lines (CHAT/1, IRC, and the bench).

/// Longest line allowed, terminator included (protocol.md, Framing).
pub const MAX_LINE: usize = 2048;

/// At most `max` bytes of `s`, cut at a character boundary (for echoing bad
/// input, and for IRC's 512-byte lines).
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What the line splitter found: a complete line, or a reason to answer `ERR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A non-empty line, terminator and any `\r` before it removed.
    Line(String),
    /// A line longer than [`MAX_LINE`]; it is being discarded up to its `\n`.
    TooLong,
    /// A line that is not UTF-8; it was discarded.
    BadUtf8,
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    discarding: bool,
    /// Lines that are not UTF-8 are decoded with U+FFFD for each bad
    /// sequence, rather than reported as [`Frame::BadUtf8`].
    lossy: bool,
    /// Bytes a line may hold beyond [`MAX_LINE`] (IRC: room for its IRCv3 tags).
    extra: usize,
}

impl LineSplitter {
    /// A splitter with nothing buffered.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// From now on, decode lines that are not UTF-8 with U+FFFD for each bad
    /// sequence (`true`), or report them as [`Frame::BadUtf8`] (`false`, the default).
    pub fn set_lossy(&mut self, lossy: bool) {
        self.lossy = lossy;
    }

    /// Lets lines hold `extra` bytes more than [`MAX_LINE`]: the IRC door's
    /// room for message tags, whose own limit it checks.
    pub fn set_extra(&mut self, extra: usize) {
        self.extra = extra;
    }

    /// Feeds bytes as received; calls `frame` for each line or problem, in order.
    pub fn feed(&mut self, mut data: &[u8], mut frame: impl FnMut(Frame)) {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (head, tail) = (&data[..i], &data[i + 1..]);
                    data = tail;
                    if self.discarding {
                        self.discarding = false;
                        continue;
                    }
                    if self.partial.len() + head.len() + 1 > MAX_LINE + self.extra {
                        self.partial.clear();
                        frame(Frame::TooLong);
                        continue;
                    }
                    if let Some(f) = self.finish(head) {
                        frame(f);
                    }
                }
                None => {
                    if !self.discarding {
                        // Without its `\n` the line may hold at most MAX_LINE - 1 bytes.
                        if self.partial.len() + data.len() >= MAX_LINE + self.extra {
                            self.partial.clear();
                            self.discarding = true;
                            frame(Frame::TooLong);
                        } else {
                            self.partial.extend_from_slice(data);
                        }
                    }
                    data = &[];
                }
            }
        }
    }

    /// Completes the buffered line with `head` (the bytes before `\n`).
    fn finish(&mut self, head: &[u8]) -> Option<Frame> {
        let bytes = if self.partial.is_empty() {
            head.to_vec()
        } else {
            let mut v = std::mem::take(&mut self.partial);
            v.extend_from_slice(head);
            v
        };
        let mut bytes = bytes;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.iter().all(|&b| b == b' ') {
            return None;
        }
        match String::from_utf8(bytes) {
            Ok(s) => Some(Frame::Line(s)),
            Err(e) if self.lossy => Some(Frame::Line(
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
            )),
            Err(_) => Some(Frame::BadUtf8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |f| out.push(f));
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_string())
    }

    #[test]
    fn splits_lines_across_reads_and_drops_cr_and_blank_lines() {
        let frames = split(&[b"SAY a hel", b"lo\r\n\n  \nPING\nQU", b"IT\n"]);
        assert_eq!(
            frames,
            vec![line("SAY a hello"), line("PING"), line("QUIT")]
        );
    }

    #[test]
    fn line_of_exactly_max_bytes_passes_and_one_more_is_too_long() {
        let ok = format!("SAY r {}\n", "x".repeat(MAX_LINE - 7));
        assert_eq!(ok.len(), MAX_LINE);
        assert!(matches!(&split(&[ok.as_bytes()])[..], [Frame::Line(_)]));
        let long = format!("SAY r {}\n", "x".repeat(MAX_LINE - 6));
        assert_eq!(split(&[long.as_bytes()]), vec![Frame::TooLong]);
        // With \r\n the \r counts towards the limit too.
        let crlf = format!("SAY r {}\r\n", "x".repeat(MAX_LINE - 7));
        assert_eq!(split(&[crlf.as_bytes()]), vec![Frame::TooLong]);
    }

    #[test]
    fn too_long_line_is_discarded_up_to_its_terminator_once() {
        let big = vec![b'a'; 5000];
        let frames = split(&[&big, &big, b"tail\nPING x\n"]);
        assert_eq!(frames, vec![Frame::TooLong, line("PING x")]);
    }

    #[test]
    fn a_lossy_splitter_decodes_bad_utf8_with_replacement_characters() {
        let mut s = LineSplitter::new();
        s.set_lossy(true);
        let mut out = Vec::new();
        s.feed(b"USER u * * :i\xe8rc\xe9\r\nPING x\n", |f| out.push(f));
        assert_eq!(
            out,
            vec![line("USER u * * :i\u{fffd}rc\u{fffd}"), line("PING x")]
        );
        s.set_lossy(false);
        s.feed(b"\xff\n", |f| out.push(f));
        assert_eq!(out[2], Frame::BadUtf8);
    }

    #[test]
    fn bad_utf8_is_reported_and_the_next_line_survives() {
        let frames = split(&[b"SAY r \xff\xfe\nPING\n"]);
        assert_eq!(frames, vec![Frame::BadUtf8, line("PING")]);
    }
}
