use super::*;

/// Nothing is wanted until a level is set; then that level and above.
#[test]
fn levels_filter_from_the_one_set() {
    let log = ClientLog::default();
    assert!(!log.wants(LoggingLevel::Emergency));
    log.set(LoggingLevel::Warning);
    assert!(!log.wants(LoggingLevel::Info));
    assert!(log.wants(LoggingLevel::Warning));
    assert!(log.wants(LoggingLevel::Error));
    log.set(LoggingLevel::Debug);
    assert!(log.wants(LoggingLevel::Info));
}
