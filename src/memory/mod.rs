//! Memory accounting for the whole process: one [`Account`] every load-dependent buffer charges
//! before it allocates (see `account`), its total configured or sized from the container's memory
//! limit (`sizing`, read by `cgroup`).

mod account;
pub mod allocator;
pub mod cgroup;
pub mod sizing;

pub use account::{Account, Charge};
pub use sizing::{BudgetSource, MemoryBudget};

pub use sizing::MemoryLimit;

/// The account's total for `configured`, from this process's cgroup (`/proc/self/cgroup`).
pub fn budget(configured: MemoryLimit) -> MemoryBudget {
    sizing::budget(
        configured,
        cgroup::container_limit(std::path::Path::new("/")),
    )
}
