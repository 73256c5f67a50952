//! The aws-for-fluent-bit `init` image, built in (its `init/fluent_bit_init_process.go`), for
//! `firelane run` and `firelane validate`:
//!
//! 1. With `ECS_CONTAINER_METADATA_URI_V4` set, the task metadata is read once
//!    ([`TaskAtStart::read`]: 5 attempts, each bounded; if it cannot be read, start-up says so and
//!    goes on without it). Its values become `ECS_CLUSTER`, `ECS_TASK_ARN`, `ECS_TASK_ID`,
//!    `ECS_FAMILY`, `ECS_REVISION`, `ECS_TASK_DEFINITION`, `ECS_LAUNCH_TYPE`, `AWS_REGION` and
//!    `AWS_AVAILABILITY_ZONE` for `${VAR}` in Fluent Bit files ([`crate::ecs::init_vars`]), except
//!    where the environment already sets the name: what the user set wins (the init process's
//!    `export` would overwrite it). They are an overlay given to the loader
//!    ([`crate::env::Overlay`]); the process environment is not changed.
//! 2. The AWS SDK reads `AWS_REGION` from the process environment, which the overlay does not
//!    reach; so an AWS output with no `region`, where the environment sets neither `AWS_REGION` nor
//!    `AWS_DEFAULT_REGION`, gets the task's region, as the exported variable would give it.
//! 3. Every `aws_fluent_bit_init_file_N` (a path) and `aws_fluent_bit_init_s3_N` (an S3 object ARN,
//!    downloaded first) is taken in `N` order ([`files`]): a parsers file is loaded as one, any
//!    other file is read after the main configuration (and so after the outputs FireLens
//!    generates), as the `@INCLUDE` lines of the init process's main config place it. A file that
//!    cannot be read or downloaded stops start-up: the configuration would be incomplete.
//!
//! Invariant: nothing here writes the process environment; downloads go to a directory of this
//! process only ([`download_dir`]), which `run` removes once the pipeline is built and `validate`
//! once it has checked them.

pub mod files;
mod s3;

use std::path::{Path, PathBuf};

use crate::config::discover::{self, Loaded};
use crate::config::errors::{ConfigErrors, Problem};
use crate::config::fluentbit::Extras;
use crate::config::model::OutputConfig;
use crate::config::resolve::output_alias;
use crate::ecs::TaskAtStart;
use crate::ecs::init_vars::init_variables;
use crate::env::{Env, Overlay};
use files::{InitFile, Kind, Source};

/// What start-up found: the configuration, the task, and what was taken from the environment.
#[derive(Debug)]
pub struct Started {
    pub loaded: Loaded,
    pub task: TaskAtStart,
    /// One line per variable, init file and region given to an output, for logs and `validate`.
    pub report: Vec<String>,
}

impl Started {
    /// The task metadata line ([`TaskAtStart::describe`]; none off ECS), then the report.
    pub fn summary(&self) -> Vec<String> {
        let task = match self.task {
            TaskAtStart::NotOnEcs => None,
            _ => Some(self.task.describe()),
        };
        task.into_iter()
            .chain(self.report.iter().cloned())
            .collect()
    }
}

/// The directory S3 init files are downloaded to: one per process, under the temporary directory.
pub fn download_dir() -> PathBuf {
    std::env::temp_dir().join(format!("firelane-init-{}", std::process::id()))
}

/// Reads the task metadata, gets the init files and loads `config` (as
/// [`discover::load_with`]) with both. Every init file problem is reported at once.
pub async fn start(
    config: Option<&Path>,
    env: &dyn Env,
    download_dir: &Path,
) -> Result<Started, ConfigErrors> {
    let task = TaskAtStart::read(env).await;
    let mut report = Vec::new();
    let mut overlay: Vec<(String, String)> = Vec::new();
    if let Some(meta) = task.task() {
        for (name, value) in init_variables(meta) {
            match env.var(name) {
                Some(own) => report.push(format!(
                    "${{{name}}} = {own} (set in the environment; the task metadata says {value})"
                )),
                None => {
                    report.push(format!("${{{name}}} = {value} (from the task metadata)"));
                    overlay.push((name.to_owned(), value));
                }
            }
        }
    }
    let task_region = overlay
        .iter()
        .find(|(k, _)| k == "AWS_REGION")
        .map(|(_, v)| v.clone());

    let (found, bad) = files::collect(&env.vars());
    let mut problems: Vec<Problem> = bad
        .into_iter()
        .map(|(var, message)| problem(&var, message))
        .collect();
    let mut includes = Vec::new();
    let mut parsers_files = Vec::new();
    let s3_region = task.task().and_then(|t| t.region());
    for file in &found {
        match fetch(file, s3_region, download_dir).await {
            Ok((path, shown)) => {
                match std::fs::read_to_string(&path).map(|t| files::classify(&t)) {
                    Ok(Ok(Kind::Config)) => {
                        report.push(format!(
                            "{} = {shown}: read after the main configuration",
                            file.var
                        ));
                        includes.push(path);
                    }
                    Ok(Ok(Kind::Parsers)) => {
                        report.push(format!("{} = {shown}: loaded as a parsers file", file.var));
                        parsers_files.push(path);
                    }
                    Ok(Err(message)) => {
                        problems.push(problem(&file.var, format!("{}: {message}", path.display())))
                    }
                    Err(e) => problems.push(problem(
                        &file.var,
                        format!("cannot read {}: {e}", path.display()),
                    )),
                }
            }
            Err(message) => problems.push(problem(&file.var, message)),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigErrors {
            problems,
            warnings: Vec::new(),
        });
    }

    let env = Overlay {
        base: env,
        extra: &overlay,
    };
    let extras = Extras {
        includes: &includes,
        parsers_files: &parsers_files,
        task: task.task(),
    };
    let mut loaded = discover::load_with(config, &env, &extras)?;
    let sdk_sees_a_region =
        env.base.var("AWS_REGION").is_some() || env.base.var("AWS_DEFAULT_REGION").is_some();
    if let Some(region) = task_region.filter(|_| !sdk_sees_a_region) {
        for name in give_region(&mut loaded.config.outputs, &region) {
            report.push(format!(
                "{name}: region {region} (AWS_REGION from the task metadata)"
            ));
        }
    }
    Ok(Started {
        loaded,
        task,
        report,
    })
}

/// The local path of `file` (downloaded first from S3) and how to show where it came from.
async fn fetch(
    file: &InitFile,
    task_region: Option<&str>,
    download_dir: &Path,
) -> Result<(PathBuf, String), String> {
    match &file.source {
        Source::Local(path) => {
            let path =
                std::path::absolute(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
            Ok((path.clone(), path.display().to_string()))
        }
        Source::S3(obj) => {
            // One directory per variable: two objects with the same file name stay apart.
            let dir = download_dir.join(&file.var);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let dest = dir.join(obj.file_name());
            s3::download(obj, task_region, &dest)
                .await
                .map_err(|e| format!("{}: {e}", obj.arn))?;
            let shown = format!("{} (downloaded to {})", obj.arn, dest.display());
            Ok((dest, shown))
        }
    }
}

/// Sets `region` on every AWS output without one; returns their names.
fn give_region(outputs: &mut [OutputConfig], region: &str) -> Vec<String> {
    let mut named = Vec::new();
    for output in outputs {
        let Some(aws) = output.entry_mut().aws_mut() else {
            continue;
        };
        let slot = aws.region_mut();
        if slot.is_none() {
            *slot = Some(region.to_owned());
            named.push(output_alias(output).to_owned());
        }
    }
    named
}

fn problem(var: &str, message: impl Into<String>) -> Problem {
    Problem {
        origin: var.to_owned(),
        line: None,
        key: String::new(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    #[tokio::test]
    async fn every_init_file_problem_is_reported_at_once_by_variable() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("fluent-bit.conf");
        std::fs::write(&main, "[OUTPUT]\n    Name null\n    Match *\n").unwrap();
        let mixed = dir.path().join("mixed.conf");
        std::fs::write(
            &mixed,
            "[MULTILINE_PARSER]\n    Name m\n[OUTPUT]\n    Name null\n",
        )
        .unwrap();
        let env = MapEnv::new([
            (
                "aws_fluent_bit_init_file_1",
                "/no/such/file.conf".to_owned(),
            ),
            ("aws_fluent_bit_init_file_2", mixed.display().to_string()),
            ("aws_fluent_bit_init_s3_3", "s3://bucket/key".to_owned()),
        ]);
        let err = start(Some(&main), &env, dir.path()).await.unwrap_err();
        let shown: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert!(
            shown[0]
                .starts_with("aws_fluent_bit_init_s3_3: `s3://bucket/key` is not an S3 object ARN"),
            "{shown:#?}"
        );
        assert!(
            shown[1].starts_with("aws_fluent_bit_init_file_1: cannot read /no/such/file.conf: "),
            "{shown:#?}"
        );
        assert!(shown[2].contains("[OUTPUT] at line 3"), "{shown:#?}");
    }

    #[tokio::test]
    async fn off_ecs_and_without_init_files_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("fluent-bit.conf");
        std::fs::write(
            &main,
            "[INPUT]\n    Name forward\n[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    log_group_name g-${ECS_CLUSTER}\n    log_stream_name s\n",
        )
        .unwrap();
        let started = start(Some(&main), &MapEnv::default(), dir.path())
            .await
            .unwrap();
        assert!(matches!(started.task, TaskAtStart::NotOnEcs));
        assert!(started.summary().is_empty());
        let OutputConfig::CloudwatchLogs(cw) = &started.loaded.config.outputs[0] else {
            panic!("{:?}", started.loaded.config.outputs);
        };
        assert_eq!(cw.log_group_name.as_deref(), Some("g-"));
        assert_eq!(cw.region, None);
    }

    #[test]
    fn the_task_region_goes_to_aws_outputs_without_one() {
        let cfg = crate::config::load_str(
            "[[inputs]]\nname = \"forward\"\n\
             [[outputs]]\nname = \"s3\"\nmatch = \"*\"\nbucket = \"logs\"\n\
             [[outputs]]\nname = \"cloudwatch_logs\"\nmatch = \"*\"\nlog_group_name = \"g\"\n\
             log_stream_name = \"s\"\nregion = \"eu-west-1\"\n\
             [[outputs]]\nname = \"null\"\nmatch = \"*\"\n",
            "t.toml",
        )
        .unwrap();
        let mut outputs = cfg.outputs;
        assert_eq!(give_region(&mut outputs, "us-west-2"), ["s3.0"]);
        let (OutputConfig::S3(s3), OutputConfig::CloudwatchLogs(cw)) = (&outputs[0], &outputs[1])
        else {
            panic!("{outputs:?}");
        };
        assert_eq!(s3.region.as_deref(), Some("us-west-2"));
        assert_eq!(
            cw.region.as_deref(),
            Some("eu-west-1"),
            "the config's own is kept"
        );
    }
}
