//! Natural order of names: runs of digits compare as numbers, so `MAV-2` comes before
//! `MAV-10` wherever drones are listed (Fleet table, Monitor and Plan drone choices,
//! Simulator list).

use std::cmp::Ordering;

/// Compares `left` and `right` in natural order: text case-insensitively, digit runs by value
/// (`007` and `7` are equal in value; the shorter run then comes first), ties broken by the
/// plain byte order so the order is total and stable.
pub fn natural_cmp(left: &str, right: &str) -> Ordering {
    let (mut lhs, mut rhs) = (left.chars().peekable(), right.chars().peekable());
    loop {
        match (lhs.peek().copied(), rhs.peek().copied()) {
            (None, None) => return left.cmp(right),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(lc), Some(rc)) if lc.is_ascii_digit() && rc.is_ascii_digit() => {
                let (run_l, run_r) = (digit_run(&mut lhs), digit_run(&mut rhs));
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
            }
            (Some(lc), Some(rc)) => {
                let order = lc.to_lowercase().cmp(rc.to_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                lhs.next();
                rhs.next();
            }
        }
    }
}

fn digit_run(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut run = String::new();
    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
        run.push(c);
        it.next();
    }
    run
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
        // Numbers past u64 still compare by value.
        assert_eq!(
            natural_cmp("D-99999999999999999999", "D-100000000000000000000"),
            Ordering::Less
        );
    }
}
