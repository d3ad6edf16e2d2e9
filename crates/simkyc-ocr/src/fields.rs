//! Turning the text lines of a rectified card into fields. Labels (姓名, 性别, 民族, 出生, 住址,
//! 公民身份号码; 签发机关, 有效期限) anchor each field; positions on the card's public layout
//! break ties. Every value carries the confidence of the weakest line it came from, and the ID
//! number is checked against GB 11643-1999: a number that fails its check character is
//! reported as such, never as valid.

use serde::Serialize;
use simkyc_docs::{cn_id, Date};

use crate::geometry::Pt;
use crate::reader::TextLine;

/// One field read off a document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// The value as read (normalised: no spaces; dates as YYYY-MM-DD).
    pub value: String,
    /// Recognition confidence, 0..1 (the weakest contributing line).
    pub confidence: f32,
}

/// The ID number as read and what GB 11643-1999 says of it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NumberField {
    /// The 18 characters as read.
    pub value: String,
    /// Recognition confidence.
    pub confidence: f32,
    /// True only when the check character, province and birth date are all valid.
    pub valid: bool,
    /// The reason code when it is not (e.g. `id_checksum`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Fields of the front of a resident ID card.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FrontFields {
    /// 姓名.
    pub name: Option<Field>,
    /// 性别: 男 or 女.
    pub sex: Option<Field>,
    /// 民族.
    pub ethnicity: Option<Field>,
    /// 出生, as YYYY-MM-DD.
    pub birth_date: Option<Field>,
    /// 住址, its lines joined.
    pub address: Option<Field>,
    /// 公民身份号码.
    pub id_number: Option<NumberField>,
}

impl FrontFields {
    /// Where the printed birth date or sex disagrees with what `id` encodes: (field, printed,
    /// encoded) for each. Fields not read are not compared.
    pub fn disagreements_with(&self, id: &cn_id::ResidentId) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        if let Some(b) = self.birth_date.as_ref().filter(|b| b.value != id.birth_date.to_string()) {
            out.push(("birth_date", b.value.clone(), id.birth_date.to_string()));
        }
        let encoded = match id.sex {
            cn_id::Sex::Male => "男",
            cn_id::Sex::Female => "女",
            cn_id::Sex::Unspecified => "",
        };
        if let Some(s) = self.sex.as_ref().filter(|s| s.value != encoded) {
            out.push(("sex", s.value.clone(), encoded.to_string()));
        }
        out
    }
}

/// Fields of the back of a resident ID card.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BackFields {
    /// 签发机关.
    pub authority: Option<Field>,
    /// 有效期限 start, YYYY-MM-DD.
    pub valid_from: Option<Field>,
    /// 有效期限 end, YYYY-MM-DD, or 长期 (no expiry).
    pub valid_until: Option<Field>,
}

/// A line reduced to what parsing needs: text without spaces, its box centre and height.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    score: f32,
    cx: f64,
    cy: f64,
    left: f64,
    height: f64,
}

fn lines_of(lines: &[TextLine]) -> Vec<Line> {
    lines
        .iter()
        .filter(|l| !l.text.trim().is_empty())
        .map(|l| {
            let q: &[Pt; 4] = &l.quad;
            Line {
                text: l.text.chars().filter(|c| !c.is_whitespace()).collect(),
                score: l.score,
                cx: q.iter().map(|p| p[0]).sum::<f64>() / 4.0,
                cy: q.iter().map(|p| p[1]).sum::<f64>() / 4.0,
                left: q.iter().map(|p| p[0]).fold(f64::MAX, f64::min),
                height: ((q[3][1] - q[0][1]) + (q[2][1] - q[1][1])) / 2.0,
            }
        })
        .collect()
}

/// The text after a two-character label at the start of `s`: the label itself, or (an OCR slip
/// on a label, e.g. 民旅 for 民族) two characters sharing one with it in the same place.
fn strip_fuzzy_label<'a>(s: &'a str, label: &str) -> Option<&'a str> {
    if let Some(rest) = s.strip_prefix(label) {
        return Some(rest);
    }
    let l: Vec<char> = label.chars().collect();
    let mut it = s.char_indices();
    let (_, c0) = it.next()?;
    let (_, c1) = it.next()?;
    let rest_at = it.next().map(|(i, _)| i).unwrap_or(s.len());
    (l.len() == 2 && (c0 == l[0] || c1 == l[1])).then(|| &s[rest_at..])
}

/// The text of a label's row: the label line with the label cut off, plus the lines to its right
/// on the same row, in order; and the weakest confidence among them. The label is looked for
/// exactly first, then (in the label column at the card's left) as a near miss.
fn row_after(lines: &[Line], label: &str, max_x: f64) -> Option<(String, f32, f64)> {
    let label_column = max_x * 0.25;
    let anchor = lines.iter().find(|l| l.text.contains(label)).or_else(|| {
        lines.iter().find(|l| l.left < label_column && label.chars().count() == 2 && strip_fuzzy_label(&l.text, label).is_some())
    })?;
    let mut row: Vec<&Line> = lines
        .iter()
        .filter(|l| (l.cy - anchor.cy).abs() < anchor.height.max(8.0) * 0.6 && l.left >= anchor.left - 1.0 && l.cx < max_x)
        .collect();
    row.sort_by(|a, b| a.left.total_cmp(&b.left));
    let joined: String = row.iter().map(|l| l.text.as_str()).collect();
    let after = match joined.split_once(label) {
        Some((_, rest)) => rest.to_string(),
        None => strip_fuzzy_label(&joined, label).map(str::to_string).unwrap_or(joined),
    };
    let score = row.iter().map(|l| l.score).fold(1.0, f32::min);
    Some((after, score, anchor.cy))
}

/// Finds an 18-character resident ID number (17 digits and a digit or X) in the lines.
fn find_number(lines: &[Line], today: Date) -> Option<NumberField> {
    let mut best: Option<NumberField> = None;
    for l in lines {
        let t: String = l.text.replace("公民身份号码", "").chars().map(|c| if c == 'x' { 'X' } else { c }).collect();
        let chars: Vec<char> = t.chars().collect();
        for start in 0..chars.len().saturating_sub(17) {
            let cand: String = chars[start..start + 18].iter().collect();
            let ok = cand[..17].chars().all(|c| c.is_ascii_digit()) && cand.chars().nth(17).is_some_and(|c| c.is_ascii_digit() || c == 'X');
            if !ok {
                continue;
            }
            let (valid, reason) = match cn_id::validate(&cand, today) {
                Ok(_) => (true, None),
                Err(e) => (false, Some(e.code().to_string())),
            };
            let f = NumberField { value: cand, confidence: l.score, valid, reason };
            if best.as_ref().is_none_or(|b| (f.valid && !b.valid) || (f.valid == b.valid && f.confidence > b.confidence)) {
                best = Some(f);
            }
        }
    }
    if best.is_none() {
        // Something number-like but not 18 well-formed characters: report it as unreadable
        // rather than guess.
        let l = lines.iter().find(|l| l.text.chars().filter(char::is_ascii_digit).count() >= 14)?;
        let digits: String = l.text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        return Some(NumberField { value: digits, confidence: l.score, valid: false, reason: Some("id_unreadable".into()) });
    }
    best
}

/// Parses "1990年3月7日" (any separators) into YYYY-MM-DD.
fn parse_birth(s: &str) -> Option<String> {
    let groups: Vec<u32> = s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).filter_map(|g| g.parse().ok()).collect();
    let (y, m, d) = match groups.as_slice() {
        [y, m, d, ..] => (*y, *m, *d),
        // "19900307" read as one group.
        [all] if *all >= 10_000_000 => (all / 10_000, all / 100 % 100, all % 100),
        _ => return None,
    };
    ((1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Reads the front's fields from lines in card coordinates (`w`×`h` the rectified card).
pub fn parse_front(lines: &[TextLine], w: f64, h: f64, today: Date) -> FrontFields {
    let lines = lines_of(lines);
    let portrait_left = 0.60 * w;
    let mut f = FrontFields { id_number: find_number(&lines, today), ..FrontFields::default() };
    if let Some((rest, score, _)) = row_after(&lines, "姓名", portrait_left) {
        let name: String = rest.chars().filter(|c| !c.is_ascii()).collect();
        if !name.is_empty() {
            f.name = Some(Field { value: name, confidence: score });
        }
    }
    if let Some((rest, score, _)) = row_after(&lines, "性别", portrait_left) {
        if let Some((i, c)) = rest.char_indices().find(|(_, c)| *c == '男' || *c == '女') {
            f.sex = Some(Field { value: c.to_string(), confidence: score });
            // What follows the sex is the ethnicity's label and value.
            let tail = &rest[i + c.len_utf8()..];
            let eth = tail.split_once("民族").map(|(_, e)| e).or_else(|| strip_fuzzy_label(tail, "民族"));
            if let Some(eth) = eth.filter(|e| !e.is_empty()) {
                f.ethnicity = Some(Field { value: eth.to_string(), confidence: score });
            }
        }
    }
    if f.ethnicity.is_none() {
        if let Some((rest, score, _)) = row_after(&lines, "民族", portrait_left) {
            if !rest.is_empty() {
                f.ethnicity = Some(Field { value: rest, confidence: score });
            }
        }
    }
    if let Some((rest, score, _)) = row_after(&lines, "出生", portrait_left) {
        if let Some(d) = parse_birth(&rest) {
            f.birth_date = Some(Field { value: d, confidence: score });
        }
    }
    if f.birth_date.is_none() {
        // The label unread (glare, blur): the row written as a date with 年 and 月.
        f.birth_date = lines
            .iter()
            .filter(|l| l.text.contains('年') && l.text.contains('月') && l.cx < portrait_left)
            .find_map(|l| parse_birth(&l.text).map(|d| Field { value: d, confidence: l.score }));
    }
    // The address: the 住址 row and the lines under it, above the number's row, left of the
    // portrait.
    let number_top = lines
        .iter()
        .find(|l| l.text.contains("公民身份") || l.text.chars().filter(char::is_ascii_digit).count() >= 14)
        .map(|l| l.cy - l.height * 0.6);
    let anchor = lines.iter().find(|l| l.text.starts_with("住址") || l.text.contains("住址"));
    let top = anchor.map(|a| a.cy - a.height * 0.6).unwrap_or(0.45 * h);
    let bottom = number_top.unwrap_or(0.76 * h);
    let mut addr: Vec<&Line> = lines.iter().filter(|l| l.cy > top && l.cy < bottom && l.cx < portrait_left && l.left > 0.1 * w).collect();
    if let Some(a) = anchor {
        if !addr.iter().any(|l| std::ptr::eq(*l, a)) {
            addr.push(a);
        }
    }
    addr.sort_by(|a, b| if (a.cy - b.cy).abs() < a.height.max(8.0) * 0.5 { a.left.total_cmp(&b.left) } else { a.cy.total_cmp(&b.cy) });
    let text: String = addr.iter().map(|l| l.text.as_str()).collect();
    let text = text.trim_start_matches("住址").to_string();
    if !text.is_empty() {
        f.address = Some(Field { value: text, confidence: addr.iter().map(|l| l.score).fold(1.0, f32::min) });
    }
    f
}

/// Parses "2015.06.01" (or with - / 。) into YYYY-MM-DD.
fn parse_dotted(s: &str) -> Option<String> {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() != 8 {
        return None;
    }
    parse_birth(&d)
}

/// Reads the back's fields.
pub fn parse_back(lines: &[TextLine], w: f64) -> BackFields {
    let lines = lines_of(lines);
    let mut f = BackFields::default();
    if let Some((rest, score, _)) = row_after(&lines, "签发机关", w) {
        if !rest.is_empty() {
            f.authority = Some(Field { value: rest, confidence: score });
        }
    }
    if let Some((rest, score, _)) = row_after(&lines, "有效期限", w) {
        let rest: String = rest.chars().map(|c| if matches!(c, '一' | '—' | '－' | '~' | '至') { '-' } else { c }).collect();
        let (from, until) = match rest.split_once('-') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None if rest.chars().filter(char::is_ascii_digit).count() == 16 => {
                let d: String = rest.chars().filter(char::is_ascii_digit).collect();
                (d[..8].to_string(), d[8..].to_string())
            }
            None => (rest.clone(), String::new()),
        };
        if let Some(v) = parse_dotted(&from) {
            f.valid_from = Some(Field { value: v, confidence: score });
        }
        if until.contains("长期") {
            f.valid_until = Some(Field { value: "长期".into(), confidence: score });
        } else if let Some(v) = parse_dotted(&until) {
            f.valid_until = Some(Field { value: v, confidence: score });
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> TextLine {
        TextLine {
            quad: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
            text: text.into(),
            score: 0.95,
            char_scores: vec![],
            box_score: 0.9,
            rotated: false,
        }
    }

    const TODAY: Date = Date { year: 2026, month: 12, day: 1 };

    #[test]
    fn a_front_is_parsed_by_its_labels() {
        let lines = vec![
            line("姓名 张三", 60.0, 60.0, 300.0, 100.0),
            line("性别男", 60.0, 135.0, 220.0, 175.0),
            line("民族汉", 320.0, 135.0, 480.0, 175.0),
            line("出生1990年3月7日", 60.0, 210.0, 480.0, 250.0),
            line("住址广东省广州市天河区人民", 60.0, 285.0, 570.0, 325.0),
            line("路12号", 175.0, 337.0, 300.0, 377.0),
            line("公民身份号码", 60.0, 490.0, 260.0, 520.0),
            line("440106199003070034", 320.0, 485.0, 900.0, 525.0),
        ];
        let f = parse_front(&lines, 960.0, 608.0, TODAY);
        assert_eq!(f.name.unwrap().value, "张三");
        assert_eq!(f.sex.unwrap().value, "男");
        assert_eq!(f.ethnicity.unwrap().value, "汉");
        assert_eq!(f.birth_date.unwrap().value, "1990-03-07");
        assert_eq!(f.address.unwrap().value, "广东省广州市天河区人民路12号");
        let n = f.id_number.unwrap();
        assert_eq!(n.value, "440106199003070034");
        assert_eq!(n.valid, cn_id::validate("440106199003070034", TODAY).is_ok());
    }

    #[test]
    fn a_number_failing_its_check_character_is_never_valid() {
        let good = {
            let first17 = b"44010619900307003";
            format!("{}{}", std::str::from_utf8(first17).unwrap(), cn_id::check_char(first17).unwrap())
        };
        let wrong_check = if good.ends_with('1') { "2" } else { "1" };
        let bad = format!("{}{wrong_check}", &good[..17]);
        let f = parse_front(&[line(&bad, 320.0, 485.0, 900.0, 525.0)], 960.0, 608.0, TODAY);
        let n = f.id_number.unwrap();
        assert!(!n.valid);
        assert_eq!(n.reason.as_deref(), Some("id_checksum"));
        let f = parse_front(&[line(&good, 320.0, 485.0, 900.0, 525.0)], 960.0, 608.0, TODAY);
        assert!(f.id_number.unwrap().valid);
        let f = parse_front(&[line("4401061990030700", 320.0, 485.0, 900.0, 525.0)], 960.0, 608.0, TODAY);
        assert_eq!(f.id_number.unwrap().reason.as_deref(), Some("id_unreadable"));
    }

    #[test]
    fn near_miss_labels_still_anchor_their_fields() {
        let lines = vec![
            line("姓名 张三", 60.0, 60.0, 300.0, 100.0),
            line("性别", 60.0, 135.0, 130.0, 175.0),
            line("女", 160.0, 135.0, 200.0, 175.0),
            line("民旅汉", 320.0, 135.0, 480.0, 175.0),
            line("用", 60.0, 210.0, 110.0, 250.0),
            line("1990年3月7日", 170.0, 210.0, 480.0, 250.0),
        ];
        let f = parse_front(&lines, 960.0, 608.0, TODAY);
        assert_eq!(f.ethnicity.unwrap().value, "汉");
        assert_eq!(f.birth_date.unwrap().value, "1990-03-07");
        assert_eq!(strip_fuzzy_label("民旅汉", "民族"), Some("汉"));
        assert_eq!(strip_fuzzy_label("汉", "民族"), None);
        assert_eq!(strip_fuzzy_label("广东省", "住址"), None);
    }

    #[test]
    fn a_back_gives_authority_and_validity() {
        let lines = vec![
            line("签发机关广州市公安局天河分局", 160.0, 420.0, 700.0, 460.0),
            line("有效期限2015.06.01-2035.06.01", 160.0, 495.0, 700.0, 535.0),
        ];
        let b = parse_back(&lines, 960.0);
        assert_eq!(b.authority.unwrap().value, "广州市公安局天河分局");
        assert_eq!(b.valid_from.unwrap().value, "2015-06-01");
        assert_eq!(b.valid_until.unwrap().value, "2035-06-01");
        let lines = vec![line("有效期限2010.01.02-长期", 160.0, 495.0, 700.0, 535.0)];
        assert_eq!(parse_back(&lines, 960.0).valid_until.unwrap().value, "长期");
    }
}
