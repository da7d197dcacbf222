//! The sandbox's state: every account, the tokens, the fault rules, what tests read back. One
//! mutex guards it all; no handler holds it across an await.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::accounts::Account;
use crate::auth::Tokens;
use crate::control::Stats;
use crate::faults::Faults;
use crate::journal::Journal;

#[derive(Debug)]
pub struct Sandbox {
    pub accounts: Vec<Account>,
    pub tokens: Tokens,
    pub faults: Faults,
    pub stats: Stats,
    pub journal: Journal,
    /// Requests a minute per account.
    pub rate_limit: u32,
}

pub type Shared = Arc<Mutex<Sandbox>>;

/// Whose request it is: set by the authentication gate, read by the handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountId(pub usize);

pub fn lock(shared: &Shared) -> MutexGuard<'_, Sandbox> {
    // A panic while holding the lock leaves data still consistent enough for a sandbox.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sandbox {
    pub fn account(&mut self, id: AccountId) -> Option<&mut Account> {
        self.accounts.get_mut(id.0)
    }

    /// An account and the statistics, borrowed together.
    pub fn account_and_stats(&mut self, id: AccountId) -> Option<(&mut Account, &mut Stats)> {
        let Self { accounts, stats, .. } = self;
        accounts.get_mut(id.0).map(|account| (account, stats))
    }
}
