use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Where the handlers get `now` from. The system clock in production; a [`ManualClock`] in tests
/// so expiry is driven by moving time, not by sleeping.
#[derive(Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(ManualClock),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            // Millisecond precision: what the stores keep, so every echo of a time matches.
            Self::System => {
                let now = Utc::now();
                now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now)
            }
            Self::Manual(clock) => clock.now(),
        }
    }
}

/// A clock that stands still until told to move.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn starting_at(t: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}
