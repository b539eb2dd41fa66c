//! `CHATHISTORY` (IRCv3 draft/chathistory), pure: a request parsed into
//! what it asks for, and the `timestamp=` times it uses.

/// Most messages one `CHATHISTORY` answer holds (ISUPPORT `CHATHISTORY`).
pub const MAX_LIMIT: usize = 100;

/// Which messages a `CHATHISTORY` request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Latest,
    Before,
    After,
    Around,
    Between,
    Targets,
}

impl Sub {
    /// The subcommand as sent, upper case.
    pub fn name(&self) -> &'static str {
        match self {
            Sub::Latest => "LATEST",
            Sub::Before => "BEFORE",
            Sub::After => "AFTER",
            Sub::Around => "AROUND",
            Sub::Between => "BETWEEN",
            Sub::Targets => "TARGETS",
        }
    }
}

/// A message reference: `*`, `msgid=...` or `timestamp=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// `*`: no bound (`LATEST` only).
    Star,
    /// `msgid=id`.
    Msgid(String),
    /// `timestamp=YYYY-MM-DDThh:mm:ss.sssZ`, in unix ms.
    Time(u64),
}

/// A `CHATHISTORY` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub sub: Sub,
    /// The channel or nick (empty for `TARGETS`).
    pub target: String,
    pub from: Bound,
    /// The second bound of `BETWEEN` and `TARGETS`.
    pub to: Option<Bound>,
    /// At most [`MAX_LIMIT`].
    pub limit: usize,
}

/// Why a request is refused: the `FAIL CHATHISTORY` code and its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub context: Vec<String>,
    pub text: &'static str,
}

fn refused(code: &'static str, context: &[&str], text: &'static str) -> Refused {
    Refused {
        code,
        context: context.iter().map(|c| (*c).to_string()).collect(),
        text,
    }
}

/// Parses the parameters of `CHATHISTORY`.
///
/// # Errors
/// What `FAIL CHATHISTORY` says: `NEED_MORE_PARAMS`, `INVALID_PARAMS`,
/// `UNKNOWN_COMMAND`.
pub fn request(params: &[String]) -> Result<Request, Refused> {
    let Some(sub) = params.first() else {
        return Err(refused("NEED_MORE_PARAMS", &[], "Missing parameters"));
    };
    let sub = match sub.to_ascii_uppercase().as_str() {
        "LATEST" => Sub::Latest,
        "BEFORE" => Sub::Before,
        "AFTER" => Sub::After,
        "AROUND" => Sub::Around,
        "BETWEEN" => Sub::Between,
        "TARGETS" => Sub::Targets,
        _ => return Err(refused("UNKNOWN_COMMAND", &[sub], "Unknown subcommand")),
    };
    let name = sub.name();
    let want = match sub {
        Sub::Between => 5,
        Sub::Targets => 4,
        _ => 4,
    };
    if params.len() < want {
        return Err(refused("NEED_MORE_PARAMS", &[name], "Missing parameters"));
    }
    let (target, rest) = match sub {
        Sub::Targets => (String::new(), &params[1..]),
        _ => (params[1].clone(), &params[2..]),
    };
    let bad = || {
        refused(
            "INVALID_PARAMS",
            &[name],
            "Invalid message reference or limit",
        )
    };
    let from = bound(&rest[0]).ok_or_else(bad)?;
    let to = match sub {
        Sub::Between | Sub::Targets => Some(bound(&rest[1]).ok_or_else(bad)?),
        _ => None,
    };
    let limit: usize = rest
        .last()
        .and_then(|l| l.parse().ok())
        .filter(|&l| l > 0)
        .ok_or_else(bad)?;
    let star_ok = sub == Sub::Latest;
    if (from == Bound::Star && !star_ok) || to == Some(Bound::Star) {
        return Err(bad());
    }
    if sub == Sub::Targets && !matches!((&from, &to), (Bound::Time(_), Some(Bound::Time(_)))) {
        return Err(bad());
    }
    Ok(Request {
        sub,
        target,
        from,
        to,
        limit: limit.min(MAX_LIMIT),
    })
}

fn bound(s: &str) -> Option<Bound> {
    if s == "*" {
        return Some(Bound::Star);
    }
    if let Some(id) = s.strip_prefix("msgid=") {
        return (!id.is_empty()).then(|| Bound::Msgid(id.to_string()));
    }
    s.strip_prefix("timestamp=")
        .and_then(parse_time)
        .map(Bound::Time)
}

/// Unix ms of `YYYY-MM-DDThh:mm:ss[.sss]Z` (what `@time=` says).
pub fn parse_time(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<u64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || ss > 60
    {
        return None;
    }
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let days = civil_days(y, m, day)?;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms)
}

/// Days since 1970-01-01 of a date (`None` before it).
fn civil_days(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::super::render::iso_time;
    use super::*;

    fn req(line: &str) -> Result<Request, Refused> {
        let params: Vec<String> = line.split(' ').map(str::to_string).collect();
        request(&params)
    }

    #[test]
    fn times_read_back_what_server_time_writes() {
        for at in [0, 1_764_572_523_045, 1_709_251_199_999, 951_782_400_000] {
            assert_eq!(parse_time(&iso_time(at)), Some(at), "{}", iso_time(at));
        }
        assert_eq!(parse_time("2026-12-01T07:02:03Z"), Some(1_796_108_523_000));
        assert_eq!(parse_time("2026-13-01T07:02:03Z"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn requests_are_parsed_and_bad_ones_refused() {
        let r = req("LATEST #a * 10").unwrap();
        assert_eq!(
            (r.sub, r.target.as_str(), r.from, r.limit),
            (Sub::Latest, "#a", Bound::Star, 10)
        );
        let r = req("between #a msgid=1r2 timestamp=2026-12-01T07:02:03.045Z 500").unwrap();
        assert_eq!(r.to, Some(Bound::Time(1_796_108_523_045)));
        assert_eq!(r.limit, MAX_LIMIT);
        assert_eq!(req("BEFORE #a * 10").unwrap_err().code, "INVALID_PARAMS");
        assert_eq!(
            req("BEFORE #a msgid=x ten").unwrap_err().code,
            "INVALID_PARAMS"
        );
        assert_eq!(req("FROB #a * 1").unwrap_err().code, "UNKNOWN_COMMAND");
        assert_eq!(req("LATEST #a").unwrap_err().code, "NEED_MORE_PARAMS");
        assert_eq!(
            req("AROUND #a msgid=1 0").unwrap_err().code,
            "INVALID_PARAMS"
        );
        assert_eq!(parse_time("99999999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse_time("18446744073709551615-01-01T00:00:00Z"), None);
        let t = req("TARGETS timestamp=2026-12-01T07:02:03Z timestamp=2026-12-02T07:02:03Z 5");
        assert_eq!(t.unwrap().sub, Sub::Targets);
    }
}
