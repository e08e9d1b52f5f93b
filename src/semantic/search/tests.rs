use super::*;

#[test]
fn cjk_runs_become_bigrams_and_words_stay_words() {
    assert_eq!(
        tokens("月度销售额 GMV-total"),
        ["月度", "度销", "销售", "售额", "gmv", "total"]
    );
    assert_eq!(tokens("单"), ["单"]);
    assert_eq!(tokens("订单amount"), ["订单", "amount"]);
}

#[test]
fn exact_beats_contains_beats_overlap() {
    let q = Query::new("销售额");
    let exact = q.score("销售额", &[], "");
    let contains = q.score("月度销售额", &[], "");
    let overlap = q.score("销售", &[], "");
    let none = q.score("退货率", &[], "");
    assert!(
        exact > contains && contains > overlap && overlap > none,
        "{exact} {contains} {overlap} {none}"
    );
    assert_eq!(none, 0);
}
