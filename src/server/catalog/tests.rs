use super::*;

fn cursor(c: &str) -> PaginatedRequestParams {
    PaginatedRequestParams::default().with_cursor(Some(c.to_string()))
}

/// Pages of [`PAGE`] follow each other to the end; a cursor that no page
/// returned is refused.
#[test]
fn pages_cover_everything_once_and_bad_cursors_are_refused() {
    let items: Vec<usize> = (0..(PAGE * 2 + 3)).collect();
    let (first, next) = page(items.clone(), None).unwrap();
    assert_eq!(first.len(), PAGE);
    let (second, next) = page(items.clone(), Some(&cursor(&next.unwrap()))).unwrap();
    let (third, next) = page(items.clone(), Some(&cursor(&next.unwrap()))).unwrap();
    assert!(next.is_none());
    let all: Vec<usize> = first.into_iter().chain(second).chain(third).collect();
    assert_eq!(all, items);
    for bad in ["-1", "x", "999999", "1e3", ""] {
        assert!(page(items.clone(), Some(&cursor(bad))).is_err(), "{bad}");
    }
    let (empty, next) = page(Vec::<u8>::new(), None).unwrap();
    assert!(empty.is_empty() && next.is_none());
}
