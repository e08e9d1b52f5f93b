use serde_json::json;

use super::*;
use crate::tools::tests::query_output;

fn table() -> Arc<Held> {
    Arc::new(Held::with_nonce("n0nce".into()))
}

fn output() -> ToolOutput {
    query_output(&[("id", "int4")], vec![vec![json!(1)], vec![json!(2)]])
}

fn id(n: i64) -> RequestId {
    RequestId::Number(n)
}

fn text_of(result: &CallToolResult) -> String {
    result.content[0].as_text().unwrap().text.clone()
}

#[test]
fn a_finished_call_is_held_until_its_answer_is_written() {
    let held = table();
    let ticket = held.open(&id(1)).unwrap();
    let result = ticket.finish(&id(1), output());
    // rmcp carries two small placeholders, not the result.
    assert_eq!(result.structured_content, Some(json!("n0nce:1:envelope")));
    assert_eq!(text_of(&result), "n0nce:1:text");
    assert_eq!(result.is_error, Some(false));
    assert_eq!(held.open_slots(), 1);

    let taken = held.take(&id(1)).unwrap();
    assert_eq!(taken.envelope_token, "\"n0nce:1:envelope\"");
    assert_eq!(taken.text_token, "\"n0nce:1:text\"");
    assert_eq!(taken.output.envelope(), output().envelope());
    assert_eq!(held.open_slots(), 0);
    assert!(held.take(&id(1)).is_none());
}

#[test]
fn a_call_cancelled_before_it_finishes_is_answered_as_values_and_not_held() {
    let held = table();
    let ticket = held.open(&id(1)).unwrap();
    held.close(&id(1));
    let output = output();
    let result = ticket.finish(&id(1), output.clone());
    assert_eq!(result.structured_content, Some(output.envelope()));
    assert_eq!(text_of(&result), output.text());
    assert_eq!(held.open_slots(), 0);
}

#[test]
fn a_call_cancelled_after_it_finishes_is_dropped() {
    let held = table();
    let ticket = held.open(&id(1)).unwrap();
    ticket.finish(&id(1), output());
    // rmcp drops the answer of a cancelled request: nothing stays held.
    held.close(&id(1));
    assert_eq!(held.open_slots(), 0);
    assert!(held.take(&id(1)).is_none());
}

#[test]
fn a_reused_id_gets_no_second_slot_and_either_answer_closes_the_first() {
    let held = table();
    let first = held.open(&id(8)).unwrap();
    assert!(held.open(&id(8)).is_none());
    // The other request with id 8 is answered first (as values): its
    // answer closes the slot, since rmcp drops the later answer to id 8.
    assert!(held.take(&id(8)).is_none());
    assert_eq!(held.open_slots(), 0);
    let late = first.finish(&id(8), output());
    assert_eq!(late.structured_content, Some(output().envelope()));
    assert_eq!(held.open_slots(), 0);
    // A slot is tied to its request: a new request with the id gets a
    // new one, which an old ticket cannot fill.
    let again = held.open(&id(8)).unwrap();
    let stale = first.finish(&id(8), output());
    assert_eq!(stale.structured_content, Some(output().envelope()));
    let fresh = again.finish(&id(8), output());
    assert_eq!(fresh.structured_content, Some(json!("n0nce:2:envelope")));
}

#[test]
fn an_error_keeps_is_error() {
    let held = table();
    let ticket = held.open(&id(1)).unwrap();
    let result = ticket.finish(&id(1), crate::tools::tests::refused_output("no"));
    assert_eq!(result.is_error, Some(true));
}

#[test]
fn nonces_are_random_per_table() {
    let a = Held::default();
    let b = Held::default();
    assert_ne!(a.nonce(), b.nonce());
    assert_eq!(a.nonce().len(), 32);
}
