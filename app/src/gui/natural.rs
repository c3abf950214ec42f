//! Natural order of names: runs of digits compare as numbers, so `MAV-2` comes before
//! `MAV-10` wherever drones are listed (Fleet table, Monitor and Plan drone choices,
//! Simulator list).

use std::cmp::Ordering;

/// Compares `left` and `right` in natural order: text case-insensitively, digit runs by value
/// (`007` and `7` are equal in value; the shorter run then comes first), ties broken by the
/// plain byte order so the order is total and stable.
pub fn natural_cmp(left: &str, right: &str) -> Ordering {
    // Byte positions in both names; digit runs are ASCII, so slicing at their ends is safe.
    // Nothing is allocated: the Fleet table sorts a thousand names every frame.
    let (mut i, mut j) = (0, 0);
    loop {
        match (left[i..].chars().next(), right[j..].chars().next()) {
            (None, None) => return left.cmp(right),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(lc), Some(rc)) if lc.is_ascii_digit() && rc.is_ascii_digit() => {
                let (end_l, end_r) = (digit_run_end(left, i), digit_run_end(right, j));
                let (run_l, run_r) = (&left[i..end_l], &right[j..end_r]);
                let (value_l, value_r) =
                    (run_l.trim_start_matches('0'), run_r.trim_start_matches('0'));
                let order = value_l
                    .len()
                    .cmp(&value_r.len())
                    .then_with(|| value_l.cmp(value_r))
                    .then_with(|| run_l.len().cmp(&run_r.len()));
                if order != Ordering::Equal {
                    return order;
                }
                (i, j) = (end_l, end_r);
            }
            (Some(lc), Some(rc)) => {
                let order = if lc.is_ascii() && rc.is_ascii() {
                    lc.to_ascii_lowercase().cmp(&rc.to_ascii_lowercase())
                } else {
                    lc.to_lowercase().cmp(rc.to_lowercase())
                };
                if order != Ordering::Equal {
                    return order;
                }
                (i, j) = (i + lc.len_utf8(), j + rc.len_utf8());
            }
        }
    }
}

/// Where the run of ASCII digits starting at byte `from` of `text` ends.
fn digit_run_end(text: &str, from: usize) -> usize {
    from + text.as_bytes()[from..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value() {
        let mut names = vec!["MAV-10", "MAV-2", "MAV-1", "MAV-11", "MAV-3", "MAV-20"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["MAV-1", "MAV-2", "MAV-3", "MAV-10", "MAV-11", "MAV-20"]
        );
    }

    #[test]
    fn text_case_leading_zeros_and_prefixes() {
        assert_eq!(natural_cmp("mav-2", "MAV-10"), Ordering::Less);
        assert_eq!(natural_cmp("MAV-007", "MAV-7"), Ordering::Greater);
        assert_eq!(natural_cmp("MAV-7", "MAV-7"), Ordering::Equal);
        assert_eq!(natural_cmp("MAV", "MAV-1"), Ordering::Less);
        assert_eq!(natural_cmp("A2B10", "A2B9"), Ordering::Greater);
        assert_eq!(natural_cmp("RTM-9", "SIM-1"), Ordering::Less);
        // Letters outside ASCII compare case-insensitively too.
        assert_eq!(natural_cmp("Étoile-2", "étoile-10"), Ordering::Less);
        assert_eq!(natural_cmp("Zürich-1", "zurich-1"), Ordering::Greater);
        // Numbers past u64 still compare by value.
        assert_eq!(
            natural_cmp("D-99999999999999999999", "D-100000000000000000000"),
            Ordering::Less
        );
    }
}
