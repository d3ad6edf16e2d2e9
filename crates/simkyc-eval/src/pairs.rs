//! LFW-format pair files: `Name i j` genuine lines and `Name1 i Name2 j` impostor lines, after a
//! header that is either `N` (development files) or `folds N` (View 2: folds of N + N pairs).

use std::path::{Path, PathBuf};

use crate::EvalError;

/// One image of one identity, 1-based as in LFW.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// Identity folder name.
    pub name: String,
    /// 1-based image number.
    pub index: u32,
}

impl ImageRef {
    /// Path of the image: `DIR/<Name>/<Name>_NNNN.jpg`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.name).join(format!("{}_{:04}.jpg", self.name, self.index))
    }
}

/// One labelled pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// First image.
    pub a: ImageRef,
    /// Second image.
    pub b: ImageRef,
    /// Same person?
    pub genuine: bool,
    /// Fold number, when the file has folds.
    pub fold: Option<usize>,
}

/// A parsed pair file.
#[derive(Debug, Clone)]
pub struct PairFile {
    /// Pairs in file order.
    pub pairs: Vec<Pair>,
    /// Number of folds (0 when the file has none).
    pub folds: usize,
}

/// Parses a pair file's text.
pub fn parse_pairs(text: &str) -> Result<PairFile, EvalError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| EvalError::Pairs("empty pair file".into()))?;
    let head: Vec<usize> = header
        .split_whitespace()
        .map(|t| t.parse::<usize>().map_err(|_| EvalError::Pairs(format!("line 1: header {header:?} is not numeric"))))
        .collect::<Result<_, _>>()?;
    let (folds, per_fold) = match head.as_slice() {
        [_n] => (0, 0),
        [f, n] => (*f, *n),
        _ => return Err(EvalError::Pairs(format!("line 1: unexpected header {header:?}"))),
    };
    let mut pairs = Vec::new();
    for (i, line) in lines {
        let t: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| s.parse::<u32>().map_err(|_| EvalError::Pairs(format!("line {}: {s:?} is not an image number", i + 1)));
        let (a, b, genuine) = match t.as_slice() {
            [n, x, y] => (ImageRef { name: n.to_string(), index: num(x)? }, ImageRef { name: n.to_string(), index: num(y)? }, true),
            [n1, x, n2, y] => (ImageRef { name: n1.to_string(), index: num(x)? }, ImageRef { name: n2.to_string(), index: num(y)? }, false),
            _ => return Err(EvalError::Pairs(format!("line {}: expected 3 or 4 fields, got {}", i + 1, t.len()))),
        };
        let fold = if folds > 0 { Some((pairs.len() / (2 * per_fold.max(1))).min(folds - 1)) } else { None };
        pairs.push(Pair { a, b, genuine, fold });
    }
    if folds > 0 && pairs.len() != folds * 2 * per_fold {
        return Err(EvalError::Pairs(format!("header says {folds} folds of {per_fold}+{per_fold} pairs, found {} pairs", pairs.len())));
    }
    Ok(PairFile { pairs, folds })
}

/// Reads and parses a pair file.
pub fn read_pairs(path: &Path) -> Result<PairFile, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io(format!("{}: {e}", path.display())))?;
    parse_pairs(&text)
}

/// Lists `DIR/<Name>/<Name>_NNNN.jpg` images, optionally only for the given identities.
pub fn list_images(dir: &Path, only: Option<&[String]>) -> Result<Vec<ImageRef>, EvalError> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| EvalError::Io(format!("{}: {e}", dir.display())))?;
    let mut names: Vec<String> =
        rd.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        if let Some(only) = only {
            if !only.contains(&name) {
                continue;
            }
        }
        let sub = dir.join(&name);
        let rd = std::fs::read_dir(&sub).map_err(|e| EvalError::Io(format!("{}: {e}", sub.display())))?;
        let prefix = format!("{name}_");
        let mut idx: Vec<u32> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                f.strip_prefix(&prefix)?.strip_suffix(".jpg")?.parse::<u32>().ok()
            })
            .collect();
        idx.sort();
        out.extend(idx.into_iter().map(|index| ImageRef { name: name.clone(), index }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dev_and_fold_layouts() {
        let dev = "2\nA\t1\t2\nB\t1\t3\nA\t1\tB\t2\nC\t4\tD\t1\n";
        let p = parse_pairs(dev).unwrap();
        assert_eq!(p.folds, 0);
        assert_eq!(p.pairs.len(), 4);
        assert!(p.pairs[0].genuine && !p.pairs[2].genuine);
        assert_eq!(p.pairs[3].b, ImageRef { name: "D".into(), index: 1 });
        let folds = "2\t1\nA\t1\t2\nA\t1\tB\t2\nC\t1\t2\nC\t1\tD\t1\n";
        let p = parse_pairs(folds).unwrap();
        assert_eq!(p.folds, 2);
        assert_eq!(p.pairs.iter().map(|x| x.fold.unwrap()).collect::<Vec<_>>(), vec![0, 0, 1, 1]);
    }

    #[test]
    fn rejects_malformed_files() {
        assert!(parse_pairs("").is_err());
        assert!(parse_pairs("x\n").is_err());
        assert!(parse_pairs("1\nA\t1\n").is_err());
        assert!(parse_pairs("1\nA\tone\t2\n").is_err());
        assert!(parse_pairs("2\t1\nA\t1\t2\n").is_err());
    }

    #[test]
    fn image_paths_follow_the_lfw_layout() {
        let img = ImageRef { name: "A".into(), index: 1 };
        assert_eq!(img.path(Path::new("/d")), PathBuf::from("/d/A/A_0001.jpg"));
    }
}
