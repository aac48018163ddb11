//! Kubernetes quantities, compared numerically (`500m` < `1`, `512Mi` < `1Gi`).

/// The value of a quantity in base units, or `None` if it does not parse.
pub fn value(q: &str) -> Option<f64> {
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let k = 1000f64;
    let ki = 1024f64;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => k,
        "M" => k.powi(2),
        "G" => k.powi(3),
        "T" => k.powi(4),
        "P" => k.powi(5),
        "E" => k.powi(6),
        "Ki" => ki,
        "Mi" => ki.powi(2),
        "Gi" => ki.powi(3),
        "Ti" => ki.powi(4),
        "Pi" => ki.powi(5),
        "Ei" => ki.powi(6),
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    #[test]
    fn compares() {
        assert!(super::value("500m").unwrap() < super::value("1").unwrap());
        assert!(super::value("512Mi").unwrap() < super::value("1Gi").unwrap());
        assert_eq!(super::value("2x"), None);
    }
}
