//! Measuring the pitch of received audio: how tests check that each side hears the other's
//! tone.

/// The frequency of a steady tone in `samples`, from its zero crossings (interpolated between
/// samples), or `None` for silence. Accurate to well under 1 % for a sine of a second or more,
/// also after Opus coding.
pub fn dominant_frequency(samples: &[i16], sample_rate: u32) -> Option<f64> {
    let rms = (samples
        .iter()
        .map(|&sample| f64::from(sample).powi(2))
        .sum::<f64>()
        / samples.len().max(1) as f64)
        .sqrt();
    if rms < 100.0 {
        return None;
    }
    // Rising zero crossings, at fractional sample positions.
    let crossings: Vec<f64> = samples
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0] < 0 && pair[1] >= 0)
        .map(|(index, pair)| {
            let (before, after) = (f64::from(pair[0]), f64::from(pair[1]));
            index as f64 + before / (before - after)
        })
        .collect();
    let (first, last) = (crossings.first()?, crossings.last()?);
    if crossings.len() < 3 {
        return None;
    }
    let periods = (crossings.len() - 1) as f64;
    Some(periods * f64::from(sample_rate) / (last - first))
}

/// The level of `samples` as a fraction of full scale (root mean square).
pub fn level(samples: &[i16]) -> f64 {
    let sum: f64 = samples
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum();
    (sum / samples.len().max(1) as f64).sqrt()
}
