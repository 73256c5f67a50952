//! One row of the real-world table: a public FireLens setup, what to send through it, where the
//! record must land, and what keeps it from running unchanged today (each blocker with the issue
//! or fix that removes it). Removing a row's last blocker is how a fix flips it.

/// Where the setup comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// ECS generates the config from this task definition (a path under tests/data/firelens/).
    Task(&'static str),
    /// The same, with the `firelensConfiguration` extra file the example's README says to add:
    /// (task definition, `config-file-type`, `config-file-value`).
    TaskWithExtra(&'static str, &'static str, &'static str),
    /// The image runs this config itself (a path in the container, given by `files`).
    Own(&'static str),
    /// A Kubernetes ConfigMap (a path under tests/data/firelens/) mounted at /fluent-bit/etc/,
    /// running its fluent-bit.conf.
    ConfigMap(&'static str),
}

/// How an application hands a record to the router. Lines may hold `{marker}`.
#[derive(Debug, Clone, Copy)]
pub enum Send {
    /// A line an app container writes to stdout: Docker's fluentd driver, on the Unix socket.
    Stdout {
        container: &'static str,
        line: &'static str,
    },
    /// One long stdout line that Docker splits into partial messages.
    Partial {
        container: &'static str,
        parts: &'static [&'static str],
    },
    /// A raw line on a TCP input (the port as the config says).
    Tcp { port: u16, line: &'static str },
    /// A Forward message from a fluent logger library (the port as the config says).
    Forward {
        port: u16,
        tag: &'static str,
        line: &'static str,
    },
}

/// A property of the delivered record. Values may hold `{marker}`, `{cluster}`, `{task_id}`.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    /// The whole message (CloudWatch event, S3 line) is this text.
    Message(&'static str),
    /// The message is a JSON object whose top-level string field has this value.
    Field(&'static str, &'static str),
}

/// Where the record must land. Names may hold `{cluster}` and `{task_id}`.
#[derive(Debug, Clone, Copy)]
pub enum Land {
    CloudWatch {
        region: &'static str,
        group: &'static str,
        stream: &'static str,
        want: &'static [Want],
    },
    S3 {
        region: &'static str,
        bucket: &'static str,
        want: &'static [Want],
    },
    /// A `forward` output: another firelane run by the test as the aggregator.
    Aggregator { want: &'static [Want] },
    /// A destination in another account, reached by assuming this role (`role_arn`): read
    /// back with the role's credentials.
    AssumingRole(&'static str, &'static Land),
    /// A service that cannot run here: once unblocked the row is validated, not run.
    Elsewhere(&'static str),
}

/// The stage at which a blocker shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The task definition gives no config (ECS would refuse it, or it is not Fluent Bit).
    Generate,
    /// `firelane validate` exits 64 with an error line containing `says`.
    Validate,
    /// The record is not delivered as wanted; the report of what happened contains `says`.
    Deliver,
}

/// Who removes a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// A firelane issue.
    Issue(u32),
    /// A fix being made in issue 23 (the helper's name, for the lead flipping the row).
    Issue23(&'static str),
    /// No issue plans it.
    Unplanned,
    /// Not firelane's to fix (the example itself, or not Fluent Bit).
    Upstream,
}

#[derive(Debug, Clone, Copy)]
pub struct Blocker {
    pub stage: Stage,
    pub says: &'static str,
    pub by: By,
    /// For the docs table: what is missing or wrong, in a few words.
    pub why: &'static str,
}

pub const fn refused(says: &'static str, by: By, why: &'static str) -> Blocker {
    Blocker {
        stage: Stage::Validate,
        says,
        by,
        why,
    }
}

pub const fn lost(says: &'static str, by: By, why: &'static str) -> Blocker {
    Blocker {
        stage: Stage::Deliver,
        says,
        by,
        why,
    }
}

pub const fn no_config(says: &'static str, by: By, why: &'static str) -> Blocker {
    Blocker {
        stage: Stage::Generate,
        says,
        by,
        why,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The example's path in its repository (its README link).
    pub name: &'static str,
    pub source: Source,
    /// Files the setup names: (a path in the container, or an S3 ARN; a path under
    /// tests/data/firelens/).
    pub files: &'static [(&'static str, &'static str)],
    /// Variables the user sets that no task definition gives (rows without one).
    pub env: &'static [(&'static str, &'static str)],
    pub send: &'static [Send],
    pub land: Land,
    pub blockers: &'static [Blocker],
    /// For the docs table: a difference from Fluent Bit worth knowing even when the row runs.
    pub note: &'static str,
}

/// What a row should do today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Blocked(Stage),
    /// Validates; its destination cannot run here.
    ValidatesOnly,
    Delivers,
}

impl Row {
    pub fn expected(&self) -> Expected {
        match self.blockers.iter().map(|b| b.stage).min() {
            Some(stage) => Expected::Blocked(stage),
            None if matches!(self.land, Land::Elsewhere(_)) => Expected::ValidatesOnly,
            None => Expected::Delivers,
        }
    }

    /// The blockers that show at the row's first blocked stage.
    pub fn first_blockers(&self) -> Vec<&Blocker> {
        let Expected::Blocked(stage) = self.expected() else {
            return Vec::new();
        };
        self.blockers.iter().filter(|b| b.stage == stage).collect()
    }
}

/// Checks `lines` (a stage's findings) against the blockers of that stage: every finding is
/// explained by a blocker and every blocker explains a finding. Returns what does not match.
pub fn unexplained(blockers: &[&Blocker], lines: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for l in lines {
        if !blockers.iter().any(|b| l.contains(b.says)) {
            problems.push(format!("not in the table: {l}"));
        }
    }
    for b in blockers {
        if !lines.iter().any(|l| l.contains(b.says)) {
            problems.push(format!(
                "no longer happens (flip it): `{}` ({})",
                b.says, b.why
            ));
        }
    }
    problems
}

/// The docs table's cell for who removes a blocker.
pub fn by_text(by: By) -> String {
    match by {
        By::Issue(n) => format!("issue {n}"),
        By::Issue23(_) => "issue 23".to_owned(),
        By::Unplanned => "not planned".to_owned(),
        By::Upstream => "the example".to_owned(),
    }
}

/// The table of `rows` in docs/guide/firelens.md (markdown, one line per row).
pub fn docs_table(rows: &[&Row]) -> String {
    let count = |want: Expected| rows.iter().filter(|r| r.expected() == want).count();
    let parts = [
        (Expected::Delivers, "run unchanged end to end"),
        (
            Expected::ValidatesOnly,
            "validate (their destination cannot run here)",
        ),
        (Expected::Blocked(Stage::Deliver), "run but deliver wrongly"),
        (
            Expected::Blocked(Stage::Validate),
            "are refused by `firelane validate`",
        ),
        (Expected::Blocked(Stage::Generate), "give no config"),
    ];
    let said: Vec<String> = parts
        .into_iter()
        .map(|(e, what)| (count(e), what))
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    let mut out = format!("Of {} setups: {}.\n\n", rows.len(), said.join(", "));
    out.push_str("| Example | Runs unchanged | What stops it |\n|---|---|---|\n");
    for row in rows {
        let land = match row.land {
            Land::AssumingRole(_, land) => *land,
            other => other,
        };
        let verdict = match row.expected() {
            Expected::Delivers => match land {
                Land::CloudWatch { .. } => "yes, to CloudWatch Logs (moto)",
                Land::S3 { .. } => "yes, to S3 (moto)",
                Land::Aggregator { .. } => "yes, to a Forward aggregator",
                Land::Elsewhere(_) | Land::AssumingRole(..) => unreachable!(),
            },
            Expected::ValidatesOnly => "validates (destination not run here)",
            Expected::Blocked(Stage::Generate) => "no config",
            Expected::Blocked(Stage::Validate) => "no: refused",
            Expected::Blocked(Stage::Deliver) => "runs, but wrong",
        };
        let mut why: Vec<String> = Vec::new();
        for b in row.blockers {
            let text = format!("{} ({})", b.why, by_text(b.by));
            if !why.contains(&text) {
                why.push(text);
            }
        }
        if let Land::Elsewhere(dest) = row.land {
            why.push(format!("needs {dest}"));
        }
        if !row.note.is_empty() {
            why.push(row.note.to_owned());
        }
        out.push_str(&format!(
            "| `{}` | {verdict} | {} |\n",
            row.name,
            why.join("; ")
        ));
    }
    out
}
