//! Memory accounting for the whole process: one [`Account`] every load-dependent buffer charges
//! before it allocates (see `account`).

mod account;

pub use account::{Account, Charge};
