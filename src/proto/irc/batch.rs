//! IRCv3 batches, pure: `BATCH +id type params`, the lines of the batch
//! tagged `batch=id`, then `BATCH -id`; and the labeled response made of
//! the lines that answered one labeled command.

use super::render::put;
use super::tags::add_tag;

/// Appends `:server BATCH +id kind params...`.
pub fn open(out: &mut Vec<u8>, server: &str, id: &str, kind: &str, params: &[&str]) {
    let start = format!("+{id}");
    let mut all = vec![start.as_str(), kind];
    all.extend_from_slice(params);
    put(out, server, "BATCH", &all, None);
}

/// Appends `:server BATCH -id`.
pub fn close(out: &mut Vec<u8>, server: &str, id: &str) {
    put(out, server, "BATCH", &[&format!("-{id}")], None);
}

/// `lines` inside batch `id` of kind `kind`: each tagged `batch=id`,
/// between the `BATCH` lines.
pub fn wrap(server: &str, id: &str, kind: &str, params: &[&str], lines: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() + 128);
    open(&mut out, server, id, kind, params);
    out.extend_from_slice(&add_tag(lines, &format!("batch={id}")));
    close(&mut out, server, id);
    out
}

/// The answer to a command labeled `label` (labeled-response), made of the
/// lines `lines` that answered it: an `ACK` for none, the one line tagged
/// `label=`, or a `labeled-response` batch `batch` (with `batch`, else the
/// lines each tagged).
pub fn labeled(server: &str, label: &str, lines: &[u8], batch: Option<&str>) -> Vec<u8> {
    let tag = format!("label={label}");
    let count = lines.split_inclusive(|&b| b == b'\n').count();
    if count == 0 {
        let mut out = Vec::new();
        put(&mut out, server, "ACK", &[], None);
        return add_tag(&out, &tag);
    }
    match batch {
        Some(id) if count > 1 => add_first(&wrap(server, id, "labeled-response", &[], lines), &tag),
        _ => add_tag(lines, &tag),
    }
}

/// `lines` with `tag` added to the first line only.
fn add_first(lines: &[u8], tag: &str) -> Vec<u8> {
    let end = lines
        .iter()
        .position(|&b| b == b'\n')
        .map_or(lines.len(), |i| i + 1);
    let mut out = add_tag(&lines[..end], tag);
    out.extend_from_slice(&lines[end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn no_answer_is_an_ack_one_line_is_labeled_more_are_a_batch() {
        assert_eq!(
            text(&labeled("s", "7", b"", Some("b1"))),
            "@label=7 :s ACK\r\n"
        );
        assert_eq!(
            text(&labeled("s", "7", b":s PONG s :x\r\n", Some("b1"))),
            "@label=7 :s PONG s :x\r\n"
        );
        assert_eq!(
            text(&labeled(
                "s",
                "7",
                b":a JOIN #x\r\n@time=t :s 353 a = #x :a\r\n",
                Some("b1")
            )),
            "@label=7 :s BATCH +b1 labeled-response\r\n\
             @batch=b1 :a JOIN #x\r\n\
             @batch=b1;time=t :s 353 a = #x :a\r\n\
             :s BATCH -b1\r\n"
        );
        assert_eq!(
            text(&labeled("s", "7", b":a X\r\n:a Y\r\n", None)),
            "@label=7 :a X\r\n@label=7 :a Y\r\n"
        );
    }
}
