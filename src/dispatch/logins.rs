//! Password guessing, slowed down: after five wrong passwords in a row for
//! one account, or from one address across accounts, each further try waits
//! (1 s, doubling, at most 60 s). Plain data and times, no clock of its own:
//! the dispatcher asks [`Tries::admit`] before a password goes to the
//! workers, and tells [`Tries::settle`] what they found.

use crate::ids::ConnId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong passwords in a row that cost no wait.
pub const FREE_TRIES: u32 = 5;
/// The wait after the fifth wrong password in a row; each further one doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);
/// A count with no wrong password for this long is forgotten, so that the
/// addresses of a long-gone attacker do not fill the memory.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// Whose count makes a try wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The account tried (whoever tries it).
    Account,
    /// The address trying (whichever account).
    Address,
}

/// A wait before the next try: whose count it is, that count, and the time left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub who: Who,
    /// Wrong passwords in a row so far.
    pub wrong: u32,
    pub left: Duration,
}

impl Wait {
    /// The time left in whole seconds, rounded up: a client that waits that
    /// long finds its next try taken.
    pub fn seconds(&self) -> u64 {
        let ms = u64::try_from(self.left.as_millis()).unwrap_or(u64::MAX);
        ms.div_ceil(1000).max(1)
    }

    /// The longer of two waits (the account's if they are equal).
    fn longer(a: Option<Wait>, b: Option<Wait>) -> Option<Wait> {
        match (a, b) {
            (Some(a), Some(b)) if b.left > a.left => Some(b),
            (Some(a), _) => Some(a),
            (None, b) => b,
        }
    }
}

/// The count of one account or one address.
#[derive(Debug, Default)]
struct Row {
    /// Wrong passwords in a row.
    wrong: u32,
    /// Tries handed to the workers and not answered yet.
    checking: u32,
    /// No try is taken before this.
    until: Option<Instant>,
    /// When the last wrong password was found.
    last: Option<Instant>,
}

impl Row {
    /// How long a try must wait now, if it must.
    fn wait(&self, who: Who, now: Instant) -> Option<Wait> {
        if self.wrong + self.checking < FREE_TRIES {
            return None;
        }
        let mut left = self
            .until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        if self.checking > 0 {
            // The tries being checked may be wrong as well: no more meanwhile.
            left = left.max(FIRST_WAIT);
        }
        (!left.is_zero()).then_some(Wait {
            who,
            wrong: self.wrong,
            left,
        })
    }

    /// Counts a wrong password found at `now`; the wait it starts, if any.
    fn wrong_at(&mut self, who: Who, now: Instant) -> Option<Wait> {
        self.wrong += 1;
        self.last = Some(now);
        let past = self.wrong.checked_sub(FREE_TRIES)?;
        let left = FIRST_WAIT
            .saturating_mul(1 << past.min(16))
            .min(LONGEST_WAIT);
        self.until = Some(now + left);
        Some(Wait {
            who,
            wrong: self.wrong,
            left,
        })
    }

    /// Nothing left to remember.
    fn is_idle(&self) -> bool {
        self.wrong == 0 && self.checking == 0
    }

    /// Forgotten: idle, or quiet for [`FORGET_AFTER`] with no try being checked.
    fn is_stale(&self, now: Instant) -> bool {
        self.is_idle()
            || (self.checking == 0
                && self
                    .last
                    .is_some_and(|last| now.saturating_duration_since(last) >= FORGET_AFTER))
    }
}

/// The counts of wrong passwords, per account and per source address.
#[derive(Debug)]
pub struct Tries {
    /// By account, lower case.
    accounts: HashMap<String, Row>,
    addresses: HashMap<IpAddr, Row>,
    /// Each try being checked: its account and address.
    checking: HashMap<ConnId, (String, IpAddr)>,
    /// Stale counts are swept when either map holds this many.
    sweep_at: usize,
}

impl Default for Tries {
    fn default() -> Tries {
        Tries {
            accounts: HashMap::new(),
            addresses: HashMap::new(),
            checking: HashMap::new(),
            sweep_at: 1024,
        }
    }
}

impl Tries {
    /// May connection `id` from `from` try a password for `account` now? If
    /// so it is counted as being checked until [`Tries::settle`] or
    /// [`Tries::withdraw`].
    ///
    /// # Errors
    /// The wait (the longer of the account's and the address's) before the
    /// next try is taken.
    pub fn admit(
        &mut self,
        id: ConnId,
        account: &str,
        from: IpAddr,
        now: Instant,
    ) -> Result<(), Wait> {
        let key = account.to_ascii_lowercase();
        let by_account = self
            .accounts
            .get(&key)
            .and_then(|row| row.wait(Who::Account, now));
        let by_address = self
            .addresses
            .get(&from)
            .and_then(|row| row.wait(Who::Address, now));
        if let Some(wait) = Wait::longer(by_account, by_address) {
            return Err(wait);
        }
        self.accounts.entry(key.clone()).or_default().checking += 1;
        self.addresses.entry(from).or_default().checking += 1;
        self.checking.insert(id, (key, from));
        Ok(())
    }

    /// The try of `id` was not checked after all (the workers were busy).
    pub fn withdraw(&mut self, id: ConnId) {
        if let Some((key, from)) = self.checking.remove(&id) {
            self.finish(&key, from, |row| {
                row.checking -= 1;
                None
            });
        }
    }

    /// What the workers found for the try of `id`: a right password clears
    /// the account's and the address's counts, a wrong one adds to both.
    /// Returns the wait the next try now faces, if any.
    pub fn settle(&mut self, id: ConnId, right: bool, now: Instant) -> Option<Wait> {
        let (key, from) = self.checking.remove(&id)?;
        let wait = self.finish(&key, from, |row| {
            row.checking -= 1;
            if right {
                row.wrong = 0;
                row.until = None;
                None
            } else {
                Some(now)
            }
        });
        if self.accounts.len().max(self.addresses.len()) >= self.sweep_at {
            self.sweep(now);
        }
        wait
    }

    /// Applies `change` to both rows of a try; counts a wrong password at the
    /// time it returns. Idle rows are dropped.
    fn finish(
        &mut self,
        key: &str,
        from: IpAddr,
        change: impl Fn(&mut Row) -> Option<Instant>,
    ) -> Option<Wait> {
        let mut by_account = None;
        if let Some(row) = self.accounts.get_mut(key) {
            by_account = change(row).and_then(|now| row.wrong_at(Who::Account, now));
            if row.is_idle() {
                self.accounts.remove(key);
            }
        }
        let mut by_address = None;
        if let Some(row) = self.addresses.get_mut(&from) {
            by_address = change(row).and_then(|now| row.wrong_at(Who::Address, now));
            if row.is_idle() {
                self.addresses.remove(&from);
            }
        }
        Wait::longer(by_account, by_address)
    }

    /// Forgets stale counts; the next sweep comes when the maps have doubled.
    fn sweep(&mut self, now: Instant) {
        self.accounts.retain(|_, row| !row.is_stale(now));
        self.addresses.retain(|_, row| !row.is_stale(now));
        self.sweep_at = (2 * self.accounts.len().max(self.addresses.len())).max(1024);
    }

    /// Accounts and addresses with a count (tests).
    #[cfg(test)]
    fn remembered(&self) -> (usize, usize) {
        (self.accounts.len(), self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    /// One try, checked and found wrong at once.
    fn wrong(tries: &mut Tries, account: &str, from: IpAddr, now: Instant) -> Option<Wait> {
        tries.admit(1, account, from, now).expect("admitted");
        tries.settle(1, false, now)
    }

    #[test]
    fn five_wrong_in_a_row_then_the_wait_doubles_up_to_a_minute() {
        let mut tries = Tries::default();
        let mut now = Instant::now();
        for _ in 1..FREE_TRIES {
            assert_eq!(wrong(&mut tries, "ana", ip(1), now), None);
        }
        let mut waits = Vec::new();
        for _ in 0..9 {
            let wait = wrong(&mut tries, "Ana", ip(1), now).expect("a wait");
            assert_eq!(wait.who, Who::Account);
            // Refused until the wait is over, to the millisecond.
            let early = now + wait.left - Duration::from_millis(1);
            let refused = tries.admit(2, "ANA", ip(2), early).unwrap_err();
            assert_eq!(refused.left, Duration::from_millis(1));
            assert_eq!(refused.seconds(), 1);
            waits.push(wait.left.as_secs());
            now += wait.left;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_right_password_clears_the_count() {
        let mut tries = Tries::default();
        let now = Instant::now();
        for _ in 0..FREE_TRIES {
            wrong(&mut tries, "ana", ip(1), now);
        }
        let later = now + FIRST_WAIT;
        tries
            .admit(7, "ana", ip(2), later)
            .expect("the wait is over");
        assert_eq!(tries.settle(7, true, later), None);
        assert_eq!(tries.remembered(), (0, 1), "only ip 1 still counts");
        for _ in 1..FREE_TRIES {
            assert_eq!(wrong(&mut tries, "ana", ip(3), later), None);
        }
    }

    #[test]
    fn one_address_across_accounts_is_counted_too() {
        let mut tries = Tries::default();
        let now = Instant::now();
        for n in 0..FREE_TRIES - 1 {
            assert_eq!(wrong(&mut tries, &format!("user{n}"), ip(9), now), None);
        }
        let wait = wrong(&mut tries, "user9", ip(9), now).expect("a wait");
        assert_eq!((wait.who, wait.wrong), (Who::Address, FREE_TRIES));
        let refused = tries.admit(3, "other", ip(9), now).unwrap_err();
        assert_eq!(refused.who, Who::Address);
        // Another address tries the same accounts freely.
        tries.admit(4, "user9", ip(8), now).expect("admitted");
    }

    #[test]
    fn tries_being_checked_count_so_a_crowd_gets_five_at_once() {
        let mut tries = Tries::default();
        let now = Instant::now();
        let admitted: Vec<ConnId> = (0..20)
            .filter(|&id| {
                let from = ip(u8::try_from(id).unwrap());
                tries.admit(id, "ana", from, now).is_ok()
            })
            .collect();
        assert_eq!(admitted, [0, 1, 2, 3, 4]);
        let refused = tries.admit(99, "ana", ip(99), now).unwrap_err();
        assert_eq!(refused.left, FIRST_WAIT);
        // A try the workers could not take is given back.
        tries.withdraw(4);
        tries.admit(98, "ana", ip(98), now).expect("its place");
        for id in [0, 1, 2, 3, 98] {
            tries.settle(id, false, now);
        }
        let refused = tries.admit(97, "ana", ip(97), now).unwrap_err();
        assert_eq!((refused.wrong, refused.left), (5, FIRST_WAIT));
    }

    #[test]
    fn an_answer_for_an_unknown_try_changes_nothing() {
        let mut tries = Tries::default();
        assert_eq!(tries.settle(5, false, Instant::now()), None);
        tries.withdraw(5);
        assert_eq!(tries.remembered(), (0, 0));
    }

    #[test]
    fn quiet_counts_are_forgotten_when_the_maps_grow() {
        let mut tries = Tries::default();
        let start = Instant::now();
        for n in 0..1100u32 {
            let from = IpAddr::from(n.to_be_bytes());
            wrong(&mut tries, &format!("u{n}"), from, start);
        }
        // Swept at 1024 (nothing stale yet), then at 2048 at the latest.
        assert_eq!(tries.remembered(), (1100, 1100));
        let later = start + FORGET_AFTER;
        for n in 0..1000u32 {
            let from = IpAddr::from((n + 100_000).to_be_bytes());
            wrong(&mut tries, &format!("f{n}"), from, later);
        }
        let (accounts, addresses) = tries.remembered();
        assert!(accounts <= 1000, "stale accounts kept: {accounts}");
        assert!(addresses <= 1000, "stale addresses kept: {addresses}");
    }
}
