//! Shared files on the wire, pure: the text of a file message (what every
//! client, old or new, CHAT/1 or IRC, sees), and its parse for the clients
//! that show a card instead; the rules for a file's name and media type;
//! the download path. See "Files" in `docs/protocol.md`.

/// What a file message's text starts with.
pub const MARK: &str = "[file] ";

/// Longest file name kept, in characters; longer ones are cut.
pub const MAX_NAME: usize = 100;

/// A shared file as a file message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared<'a> {
    pub name: &'a str,
    pub size: u64,
    pub kind: &'a str,
    pub url: &'a str,
    /// The id in the URL's `/files/<id>/` path.
    pub id: &'a str,
}

/// The text of the message that shares a file:
/// `[file] <name> (<size> bytes, <type>) <url>`.
pub fn message_text(name: &str, size: u64, kind: &str, url: &str) -> String {
    format!("{MARK}{name} ({size} bytes, {kind}) {url}")
}

/// Reads a file message's text back; `None` if `text` is not one. Read from
/// the end, so a name holding `(` or spaces is still whole.
pub fn parse_message(text: &str) -> Option<Shared<'_>> {
    let rest = text.strip_prefix(MARK)?;
    let (head, url) = rest.rsplit_once(' ')?;
    let (name, meta) = head.rsplit_once(" (")?;
    let meta = meta.strip_suffix(')')?;
    let (size, kind) = meta.split_once(" bytes, ")?;
    let size = size.parse().ok()?;
    let id = url.split("/files/").nth(1)?.split('/').next()?;
    let good = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (good && !name.is_empty() && kind.contains('/')).then_some(Shared {
        name,
        size,
        kind,
        url,
        id,
    })
}

/// A file name as kept and shown: control characters (any C0 or C1, DEL,
/// U+2028, U+2029) and path separators become `_`, the name is cut to
/// [`MAX_NAME`] characters, and an empty, `.` or `..` name becomes `file`.
/// Markup is left as it is: clients show names as text.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            let control = c.is_control() || c == '\u{2028}' || c == '\u{2029}';
            if control || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME)
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => "file".to_string(),
        kept => kept.to_string(),
    }
}

/// Media types served as they are (images, audio, video shown in the page;
/// plain text); anything else is `application/octet-stream`. SVG and HTML
/// are not among them: they can hold scripts.
const KNOWN: [(&str, &str); 19] = [
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("weba", "audio/webm"),
    ("wav", "audio/wav"),
    ("m4a", "audio/mp4"),
    ("flac", "audio/flac"),
    ("webm", "video/webm"),
    ("mp4", "video/mp4"),
    ("ogv", "video/ogg"),
    ("txt", "text/plain"),
    ("pdf", "application/pdf"),
];

/// The media type a file is served with: the type the uploader gave if it
/// is one of the known ones, else the one its name's extension says, else
/// `application/octet-stream`.
pub fn media_type(given: Option<&str>, name: &str) -> &'static str {
    let given = given
        .and_then(|g| g.split(';').next())
        .map(|g| g.trim().to_ascii_lowercase());
    if let Some(found) = given.and_then(|g| KNOWN.iter().find(|(_, t)| *t == g)) {
        return found.1;
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    KNOWN
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, t)| t)
}

/// True for the types a browser is let show in place (under
/// `Content-Security-Policy: sandbox`); others are downloaded.
pub fn shown_inline(kind: &str) -> bool {
    ["image/", "audio/", "video/"]
        .iter()
        .any(|p| kind.starts_with(p))
}

/// `s` with every byte but unreserved ones (`A-Z a-z 0-9 - . _ ~`)
/// percent-encoded: safe in a URL path and in `filename*=UTF-8''`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The download address of file `id` named `name` under `base`
/// (`http://host:port`).
pub fn download_url(base: &str, id: &str, name: &str) -> String {
    format!("{base}/files/{id}/{}", percent_encode(name))
}

/// The upload address of a one-time `token` under `base`.
pub fn upload_url(base: &str, token: &str) -> String {
    format!("{base}/upload/{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_message_reads_back_whatever_its_name() {
        let id = "0123456789abcdef0123456789abcdef";
        for name in ["cat.png", "a (b) c.txt", "<b>x</b> (1 bytes, a/b) y", "é ü"] {
            let url = download_url("http://h:1", id, name);
            let text = message_text(name, 42, "image/png", &url);
            let got = parse_message(&text).unwrap();
            assert_eq!(
                got,
                Shared {
                    name,
                    size: 42,
                    kind: "image/png",
                    url: &url,
                    id
                }
            );
        }
        for not in [
            "hello",
            "[file] x",
            "[file] x (1 bytes, a/b) http://h/files/zz/x",
        ] {
            assert_eq!(parse_message(not), None, "{not}");
        }
    }

    #[test]
    fn names_lose_controls_and_separators_and_keep_markup() {
        assert_eq!(clean_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(clean_name("a\u{1b}[31mb\r\nc\\d"), "a_[31mb__c_d");
        assert_eq!(
            clean_name("<img src=x onerror=alert(1)>"),
            "<img src=x onerror=alert(1)>"
        );
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name("  "), "file");
        assert_eq!(clean_name(&"x".repeat(300)).chars().count(), MAX_NAME);
    }

    #[test]
    fn media_types_are_known_ones_or_octet_stream() {
        assert_eq!(media_type(Some("image/png"), "x"), "image/png");
        assert_eq!(
            media_type(Some("audio/webm;codecs=opus"), "v"),
            "audio/webm"
        );
        assert_eq!(
            media_type(Some("text/html"), "x.html"),
            "application/octet-stream"
        );
        assert_eq!(media_type(None, "x.SVG"), "application/octet-stream");
        assert_eq!(media_type(None, "Cat.JPG"), "image/jpeg");
        assert!(shown_inline("audio/webm") && !shown_inline("application/pdf"));
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
