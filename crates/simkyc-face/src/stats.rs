//! The one median of the workspace: of timings, scores and measurements alike.

use std::cmp::Ordering;

/// Floating-point values with a total order (NaN sorts last), so a sample can be sorted.
pub trait TotalOrder: Copy {
    /// `f32::total_cmp` / `f64::total_cmp`.
    fn total_order(&self, other: &Self) -> Ordering;
}

impl TotalOrder for f32 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl TotalOrder for f64 {
    fn total_order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

/// The middle value of a sample (the upper of the two middle ones for an even count); `None`
/// for an empty sample.
pub fn median<T: TotalOrder>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(T::total_order);
    values.get(values.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn middle_or_upper_middle_and_none_when_empty() {
        assert_eq!(median(vec![3.0f64, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0f32, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median(Vec::<f64>::new()), None);
        assert_eq!(median(vec![f32::NAN, 1.0, 2.0]), Some(2.0));
    }
}
