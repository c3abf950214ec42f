//! Summaries of measured samples (latencies of the load tools and benchmarks): one percentile
//! rule for the whole workspace, so figures from different tools compare.

/// Value at quantile `p` (0–1) of `sorted` (ascending): the sample at the nearest rank
/// `round((n − 1) · p)`, no interpolation. `NaN` when there are no samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let last = sorted.len() - 1;
    let i = ((last as f64) * p.clamp(0.0, 1.0)).round() as usize;
    sorted[i.min(last)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_samples() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((percentile(&v, 0.5) - 51.0).abs() < 1e-12);
        assert!((percentile(&v, 0.99) - 99.0).abs() < 1e-12);
        assert!((percentile(&v, 0.0) - 1.0).abs() < 1e-12);
        assert!((percentile(&v, 1.0) - 100.0).abs() < 1e-12);
        assert!((percentile(&[7.0], 0.99) - 7.0).abs() < 1e-12);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
