//! Greedy CTC decoding of a recogniser's per-time-step probabilities, as PP-OCR does it: the
//! best class at each step, repeats merged, blanks (class 0) dropped; the line's confidence is
//! the mean probability of the kept steps.

/// A decoded line: its text, the mean probability of its characters, and each character's.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// Mean probability of the kept steps (0 for an empty line).
    pub score: f32,
    /// Probability of each character, in order.
    pub char_scores: Vec<f32>,
}

/// The recogniser's alphabet: class 0 is the CTC blank, then the characters of the model's
/// dictionary, then a space (PP-OCR's `use_space_char`).
#[derive(Debug, Clone)]
pub struct Alphabet(Vec<String>);

impl Alphabet {
    /// Builds the alphabet from the dictionary's characters (one per entry).
    pub fn from_dictionary(chars: Vec<String>) -> Alphabet {
        let mut v = Vec::with_capacity(chars.len() + 2);
        v.push(String::new());
        v.extend(chars);
        v.push(" ".into());
        Alphabet(v)
    }

    /// Number of classes, blank included.
    pub fn classes(&self) -> usize {
        self.0.len()
    }

    /// Decodes `steps` × `classes` probabilities.
    pub fn decode(&self, probs: &[f32], classes: usize) -> Decoded {
        let mut text = String::new();
        let mut scores = Vec::new();
        let mut prev = usize::MAX;
        for step in probs.chunks_exact(classes.max(1)) {
            let (best, p) = step.iter().enumerate().fold((0, f32::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
            if best != 0 && best != prev {
                if let Some(c) = self.0.get(best) {
                    text.push_str(c);
                    scores.push(p);
                }
            }
            prev = best;
        }
        let score = if scores.is_empty() { 0.0 } else { scores.iter().sum::<f32>() / scores.len() as f32 };
        Decoded { text, score, char_scores: scores }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_merge_and_blanks_separate_letters() {
        let a = Alphabet::from_dictionary(vec!["a".into(), "b".into()]);
        assert_eq!(a.classes(), 4);
        // steps: a a blank a b space
        let rows: [[f32; 4]; 6] = [
            [0.1, 0.8, 0.1, 0.0],
            [0.1, 0.6, 0.3, 0.0],
            [0.9, 0.05, 0.05, 0.0],
            [0.2, 0.7, 0.1, 0.0],
            [0.1, 0.1, 0.8, 0.0],
            [0.1, 0.0, 0.0, 0.9],
        ];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let d = a.decode(&flat, 4);
        assert_eq!(d.text, "aab ");
        assert_eq!(d.char_scores, vec![0.8, 0.7, 0.8, 0.9]);
        assert!((d.score - 0.8).abs() < 1e-6);
        assert_eq!(a.decode(&[0.9, 0.1, 0.0, 0.0], 4).score, 0.0);
    }
}
