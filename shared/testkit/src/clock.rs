//! The wall clock, for tests of rules that count per clock hour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Waits, when the next clock hour starts within `margin`, until it has
/// begun: calls that must fall in one fixed hourly window (a rate limit's)
/// then never straddle two, however slow the machine.
pub async fn clear_of_the_hour(margin: Duration) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let into_hour = Duration::from_secs(since_epoch.as_secs() % 3_600)
        + Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
    let left = Duration::from_secs(3_600).saturating_sub(into_hour);
    if left <= margin {
        tokio::time::sleep(left + Duration::from_millis(100)).await;
    }
}
