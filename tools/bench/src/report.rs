//! Result collection: a flat JSON object (one line on stdout) and a human
//! summary table (stderr), filled side by side by the scenarios.

use crate::hist::Hist;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Default)]
pub struct Report {
    title: String,
    json: Vec<(String, String)>,
    rows: Vec<(String, String)>,
}

/// JSON string literal for `s`.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".into()
    }
}

/// `1234567.8` -> `"1,234,568"`.
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if neg { format!("-{out}") } else { out }
}

impl Report {
    pub fn new(title: impl Into<String>) -> Report {
        Report {
            title: title.into(),
            ..Report::default()
        }
    }

    pub fn u(&mut self, k: &str, v: u64) -> &mut Self {
        self.json.push((k.into(), v.to_string()));
        self
    }

    pub fn f(&mut self, k: &str, v: f64) -> &mut Self {
        self.json.push((k.into(), json_f(v)));
        self
    }

    pub fn opt_f(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        let s = v.map(json_f).unwrap_or_else(|| "null".into());
        self.json.push((k.into(), s));
        self
    }

    pub fn s(&mut self, k: &str, v: &str) -> &mut Self {
        self.json.push((k.into(), json_str(v)));
        self
    }

    pub fn b(&mut self, k: &str, v: bool) -> &mut Self {
        self.json.push((k.into(), v.to_string()));
        self
    }

    pub fn map(&mut self, k: &str, m: &BTreeMap<String, u64>) -> &mut Self {
        let body: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_str(k)))
            .collect();
        self.json
            .push((k.into(), format!("{{{}}}", body.join(","))));
        self
    }

    /// Latency fields `<prefix>p50_ms` … `<prefix>max_ms` (histogram in µs).
    pub fn hist(&mut self, prefix: &str, h: &Hist) -> &mut Self {
        let ms = |v: Option<u64>| v.map(|x| x as f64 / 1000.0);
        self.u(&format!("{prefix}count"), h.count());
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
            self.opt_f(&format!("{prefix}{name}_ms"), ms(h.quantile(q)));
        }
        let max = (h.count() > 0).then_some(h.max());
        self.opt_f(&format!("{prefix}max_ms"), ms(max));
        self.opt_f(
            &format!("{prefix}mean_ms"),
            (h.count() > 0).then(|| h.mean() / 1000.0),
        )
    }

    /// A row of the human table.
    pub fn row(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.rows.push((label.into(), value.into()));
        self
    }

    pub fn json_line(&self) -> String {
        let body: Vec<String> = self
            .json
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_str(k)))
            .collect();
        format!("{{{}}}", body.join(","))
    }

    pub fn table(&self) -> String {
        let w = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out = format!("== {} ==\n", self.title);
        for (l, v) in &self.rows {
            let _ = writeln!(out, "  {l:<w$}  {v}");
        }
        out
    }
}

/// `p50 1.234 ms  p90 …  max …` for the human table.
pub fn hist_human(h: &Hist) -> String {
    if h.count() == 0 {
        return "n/a (no samples)".into();
    }
    let ms = |q: f64| h.quantile(q).map(|v| v as f64 / 1000.0).unwrap_or(0.0);
    format!(
        "p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3} ms  ({} samples)",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0,
        h.count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flat_and_escaped() {
        let mut r = Report::new("t");
        r.s("a", "x\"y\n")
            .u("n", 3)
            .f("f", 1.5)
            .opt_f("g", None)
            .b("ok", true);
        assert_eq!(
            r.json_line(),
            r#"{"a":"x\"y\n","n":3,"f":1.500,"g":null,"ok":true}"#
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(-1000.0), "-1,000");
    }
}
