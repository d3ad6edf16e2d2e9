//! Templates as they are stored: little-endian f32 bytes (sealed by the vault before they reach
//! the database), and the live template of a capture (the mean of its frames, on the
//! single-image score scale).

/// Template as little-endian f32 bytes.
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Template back from stored bytes; `None` when the length is not a whole number of floats.
pub fn from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The stored template of a capture: the mean of its frames' embeddings with equal weight, not
/// re-normalised, so that a later search scores the mean of the frames' cosines
/// ([`simkyc_face::embed::mean_template`]).
pub fn live_template(frames: &[&[f32]]) -> Option<Vec<f32>> {
    simkyc_face::embed::mean_template(&frames.iter().map(|f| (f.to_vec(), 1.0)).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let v = vec![0.25f32, -1.0, 3.5];
        assert_eq!(from_bytes(&to_bytes(&v)), Some(v));
        assert_eq!(from_bytes(&[1, 2, 3]), None);
    }
}
