use std::sync::{Arc, Mutex};

use super::*;

/// A query over a second is reported every second with the rows counted so
/// far, and the value grows; a quick one is not reported at all.
#[tokio::test(start_paused = true)]
async fn reports_every_second_with_the_row_count() {
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink: ProgressSink = {
        let seen = seen.clone();
        Arc::new(move |p| seen.lock().unwrap().push(p))
    };
    let rows = AtomicU64::new(0);
    let work = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        rows.store(700, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        "done"
    };
    assert_eq!(report(work, Some(&sink), &rows).await, "done");
    let reports = seen.lock().unwrap().clone();
    let values: Vec<f64> = reports.iter().map(|p| p.done).collect();
    assert_eq!(values, [1.0, 2.0]);
    assert!(
        reports[0].message.contains("0 row(s)"),
        "{}",
        reports[0].message
    );
    assert!(
        reports[1].message.contains("700 row(s)"),
        "{}",
        reports[1].message
    );

    let quick = report(async { 1 }, Some(&sink), &rows).await;
    assert_eq!(quick, 1);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// Without a sink the work just runs.
#[tokio::test]
async fn without_a_sink_nothing_is_reported() {
    assert_eq!(report(async { 7 }, None, &AtomicU64::new(0)).await, 7);
}
