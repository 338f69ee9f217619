//! One venue limit as the client counts it: weight per slot over `SLOTS + 1` slots of
//! `window_s / SLOTS` seconds; a slot counts in full until a whole window has passed since its last
//! instant. The arithmetic is `tickwire.limits.window`'s reference implementation's, step for step
//! (`tests/limits/test_window_reference.py` holds the two together on random sequences).

pub const SLOTS: i64 = 20;
pub const RING: usize = SLOTS as usize + 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub limit: i64,
    pub window_s: f64,
    pub slot_s: f64,
    pub slots: [i64; RING],
    /// `slots`' sum, kept as it changes: a check costs O(1) unless time moved on.
    pub total: i64,
    /// The number of the oldest slot still counted.
    pub start: i64,
    /// Nothing at all before this (a 429/418 and its Retry-After).
    pub blocked_until: f64,
    /// What the venue last reported used (other processes on the IP included) ...
    pub floor: i64,
    /// ... counted until then.
    pub floor_until: f64,
    /// The latest takes, `(now, weight)`, oldest overwritten first: a report of usage does not hold
    /// what was taken after the request it answers (still on its way), which must be added to it.
    pub recent: [(f64, i64); RECENT],
    /// Takes ever recorded (the next goes to `recent[taken % RECENT]`).
    pub taken: u64,
}

/// Takes remembered exactly; more inside one report's round trip are counted by whole slots.
pub const RECENT: usize = 64;

/// 2^52: slot numbers below it are exact in an f64.
const MAX_SLOT: f64 = 4_503_599_627_370_496.0;

#[inline]
fn slot_of(now: f64, slot_s: f64) -> i64 {
    (now / slot_s).floor() as i64
}

#[inline]
fn ring(n: i64) -> usize {
    n.rem_euclid(RING as i64) as usize
}

impl Window {
    /// `None` unless the limit and the window are positive (and the window finite).
    pub fn new(limit: i64, window_s: f64) -> Option<Self> {
        (limit > 0 && window_s > 0.0 && window_s.is_finite()).then(|| Self {
            limit,
            window_s,
            slot_s: window_s / SLOTS as f64,
            slots: [0; RING],
            total: 0,
            start: 0,
            blocked_until: 0.0,
            floor: 0,
            floor_until: 0.0,
            recent: [(0.0, 0); RECENT],
            taken: 0,
        })
    }

    /// Whether `now` is a time these methods can count at: finite, and few enough slots from 0
    /// that slot numbers stay exact and far from i64's ends (seconds on a monotonic or Unix clock
    /// are; nanoseconds passed as seconds are not). Callers outside Rust check it first.
    pub fn counts_at(&self, now: f64) -> bool {
        now.is_finite() && (now / self.slot_s).abs() < MAX_SLOT
    }

    pub fn advance(&mut self, now: f64) {
        let oldest = slot_of(now, self.slot_s) - SLOTS;
        if oldest > self.start {
            for n in self.start..oldest.min(self.start + RING as i64) {
                // Never below 0: a saturated total holds less than its slots' sum.
                self.total = (self.total - self.slots[ring(n)]).max(0);
                self.slots[ring(n)] = 0;
            }
            self.start = oldest;
        }
        if self.floor != 0 && now >= self.floor_until {
            self.floor = 0;
        }
    }

    pub fn used(&mut self, now: f64) -> i64 {
        self.advance(now);
        self.total.max(self.floor)
    }

    /// Seconds until `weight` fits under `cap` (≤ `limit`): 0.0 when it fits now, infinity when it
    /// never can (heavier than the cap).
    pub fn wait(&mut self, weight: i64, cap: i64, now: f64) -> f64 {
        if now < self.blocked_until {
            return self.blocked_until - now;
        }
        if weight > cap {
            return f64::INFINITY;
        }
        self.advance(now);
        let mut total = self.total;
        if total.max(self.floor).saturating_add(weight) <= cap {
            return 0.0;
        }
        if self.floor.saturating_add(weight) > cap {
            return self.floor_until - now;
        }
        // The oldest slots leave one by one: the first moment enough has left.
        for k in 0..RING as i64 {
            total -= self.slots[ring(self.start + k)];
            if total.saturating_add(weight) <= cap {
                return (self.start + k + RING as i64) as f64 * self.slot_s - now;
            }
        }
        self.window_s // unreachable: an empty window fits any weight ≤ cap
    }

    pub fn take(&mut self, weight: i64, now: f64) {
        self.advance(now);
        // Saturated, not wrapped: past an i64 a full window would read as empty (or panic).
        let slot = &mut self.slots[ring(slot_of(now, self.slot_s))];
        *slot = slot.saturating_add(weight);
        self.total = self.total.saturating_add(weight);
        self.recent[(self.taken % RECENT as u64) as usize] = (now, weight);
        self.taken += 1;
        if self.floor != 0 {
            // The floor is what the venue reported (any number it sends).
            self.floor = self.floor.saturating_add(weight);
        }
    }

    /// Whether a take at `then` is still counted at `now` (its slot has not left the window).
    pub fn counted(&mut self, then: f64, now: f64) -> bool {
        self.advance(now);
        slot_of(then, self.slot_s) >= self.start
    }

    /// A take of `weight` made at `then` counted from `now` instead: its request was written only now
    /// (a new connection's set-up, a stall of the process), and the venue counts it from when it
    /// arrives — counted from the take, its weight would leave this window early and let the next
    /// take in while the venue still counts it. Moved out of its slot while that is still counted
    /// (the count does not grow), else taken anew (the caller checked for room: `counted`, `wait`).
    pub fn restamp(&mut self, weight: i64, then: f64, now: f64) {
        self.advance(now);
        let old = slot_of(then, self.slot_s);
        if old >= self.start && old <= self.start + SLOTS {
            let slot = &mut self.slots[ring(old)];
            let moved = weight.min(*slot).max(0);
            *slot -= moved;
            self.total = (self.total - moved).max(0);
        }
        let slot = &mut self.slots[ring(slot_of(now, self.slot_s))];
        *slot = slot.saturating_add(weight);
        self.total = self.total.saturating_add(weight);
        // A report of usage holds what was written before its request: this take from now on (the
        // newest take of that time and weight, in its place in the record).
        let n = self.taken.min(RECENT as u64);
        for k in 1..=n {
            let r = &mut self.recent[((self.taken - k) % RECENT as u64) as usize];
            if r.0 == then && r.1 == weight {
                r.0 = now;
                break;
            }
        }
    }

    /// The venue says `used` weight is counted in its current window (ours and anyone else's on the
    /// same IP or key): count at least that until `until` (default: a whole window). `since`: when
    /// the request that brought the report was taken — what was taken after it may not have reached
    /// the venue yet and is added (None: nothing added).
    pub fn observe(&mut self, used: i64, now: f64, until: Option<f64>, since: Option<f64>) {
        self.advance(now);
        let after = since.map_or(0, |t| self.taken_after(t));
        self.floor = used.saturating_add(after);
        self.floor_until = until.unwrap_or(now + self.window_s);
    }

    /// The weight taken after `t`: exact from `recent` while it reaches back that far, else every
    /// slot from `t`'s on (more, never less).
    pub fn taken_after(&self, t: f64) -> i64 {
        let n = self.taken.min(RECENT as u64) as usize;
        // Full, the ring's oldest take is the one written over next.
        if n == RECENT && self.recent[(self.taken % RECENT as u64) as usize].0 > t {
            let from = slot_of(t, self.slot_s).max(self.start);
            let to = self.start + SLOTS;
            return (from..=to).fold(0i64, |a, k| a.saturating_add(self.slots[ring(k)]));
        }
        let after = self.recent[..n].iter().filter(|(at, _)| *at > t);
        after.fold(0i64, |a, (_, w)| a.saturating_add(*w))
    }

    /// The venue refused for `seconds` (429/418 with Retry-After): nothing before then.
    pub fn block(&mut self, seconds: f64, now: f64) {
        self.blocked_until = self.blocked_until.max(now + seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_restamped_at_its_write_leaves_the_window_a_window_after_the_write() {
        let mut w = Window::new(5, 1.0).unwrap();
        w.take(1, 0.0);
        w.take(4, 0.2);
        // Full: the take at 0.0 leaves first, a window after its slot (0.05 s) ends.
        assert!((w.wait(1, 5, 0.5) - 0.55).abs() < 1e-9);
        // Written only at 0.5: moved there, the count unchanged.
        assert!(w.counted(0.0, 0.5));
        w.restamp(1, 0.0, 0.5);
        assert_eq!(w.used(0.5), 5);
        // The take at 0.0 alone would have left at 1.05; now the room comes when 0.2's takes leave.
        assert!(w.wait(1, 5, 1.1) > 0.0);
        assert_eq!(w.wait(1, 5, 1.25), 0.0);
        assert_eq!(w.used(1.25), 1);
        // A take whose slot already left the window is taken anew.
        let mut w = Window::new(5, 1.0).unwrap();
        w.take(2, 0.0);
        assert!(!w.counted(0.0, 2.0));
        w.restamp(2, 0.0, 2.0);
        assert_eq!(w.used(2.0), 2);
    }

    #[test]
    fn a_full_window_names_the_moment_its_oldest_slot_leaves() {
        let mut w = Window::new(3, 2.0).unwrap();
        for t in [10.0, 10.05, 10.3] {
            assert_eq!(w.wait(1, 3, t), 0.0);
            w.take(1, t);
        }
        let wait = w.wait(1, 3, 10.4);
        // The slot of 10.0 and 10.05 (10.0..10.1) leaves a whole window after its end: 12.1.
        assert!((10.4 + wait - 12.1).abs() < 1e-9, "{wait}");
        assert_eq!(w.wait(1, 3, 12.11), 0.0);
        assert_eq!(w.used(12.11), 1);
    }

    #[test]
    fn a_report_counts_what_was_taken_after_its_request() {
        let mut w = Window::new(100, 3.0).unwrap();
        for (t, weight) in [(10.0, 1), (10.1, 2), (10.2, 4), (10.3, 8)] {
            w.take(weight, t);
        }
        // The report answers the request taken at 10.1: those of 10.2 and 10.3 are not in it.
        w.observe(70, 10.35, None, Some(10.1));
        assert_eq!(w.used(10.35), 70 + 4 + 8);
        w.observe(70, 10.35, None, None);
        assert_eq!(w.used(10.35), 70);
    }

    #[test]
    fn past_the_exact_record_whole_slots_are_counted_never_less() {
        let mut w = Window::new(10_000, 3.0).unwrap();
        for k in 0..RECENT as i64 + 10 {
            w.take(1, 20.0 + k as f64 * 0.001);
        }
        // 74 taken after 19.99; the ring holds 64 of them: the slots from 19.99's on count all 74.
        assert_eq!(w.taken_after(19.99), RECENT as i64 + 10);
        assert_eq!(w.taken_after(20.0 + 0.0735), 0);
        assert_eq!(w.taken_after(20.0 + 0.0705), 3);
    }

    #[test]
    fn a_limit_and_a_window_must_be_positive() {
        assert!(Window::new(0, 1.0).is_none() && Window::new(1, 0.0).is_none());
        assert!(Window::new(1, f64::INFINITY).is_none() && Window::new(1, f64::NAN).is_none());
    }

    #[test]
    fn only_times_on_a_clock_are_counted_at() {
        let w = Window::new(10, 1.0).unwrap();
        for now in [0.0, 12_345.678, 1.8e9, -5.0] {
            assert!(w.counts_at(now), "{now}");
        }
        // time.time_ns() passed as seconds, and what is no time at all.
        for now in [1.7e18, -1e300, f64::INFINITY, f64::NAN] {
            assert!(!w.counts_at(now), "{now}");
        }
    }

    #[test]
    fn a_reported_floor_near_i64_max_saturates_and_still_blocks() {
        // What the venue reports is any number it sends; counting on top of it must not wrap.
        let mut w = Window::new(10, 1.0).unwrap();
        w.observe(i64::MAX, 0.0, None, None);
        w.take(1, 0.0);
        assert_eq!(w.used(0.0), i64::MAX);
        assert_eq!(w.wait(1, 10, 0.5), 0.5, "blocked until the report lapses");
    }
}
