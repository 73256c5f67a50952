//! Which init files the environment names, in which order, and how each is loaded; pure.
//!
//! The init process takes every variable whose name contains `aws_fluent_bit_init_s3` (an S3 object
//! ARN, `arn:aws:s3:::bucket/key`) or `aws_fluent_bit_init_file` (a local path), `s3`/`S3` and
//! `file`/`File` in either case, as its regular expressions do. It handles them in the order the
//! environment lists them, which a task definition does not fix; here the order is the number the
//! name ends with (`_1`, `_2`, ..., `_10`), then the name, so that `_N` means what users expect.
//! A file with a `[PARSER]` or `[MULTILINE_PARSER]` section is a parsers file (the init process
//! passes it with `-R`); any other file is `@INCLUDE`d after the main configuration.

use std::path::PathBuf;

/// What an init variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine.
    Local(PathBuf),
    /// An object to download first.
    S3(S3Object),
}

/// An S3 object, from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    /// The ARN as written.
    pub arn: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    pub bucket: String,
    pub key: String,
}

impl S3Object {
    /// The object's file name: the key's last `/` segment (where the init process saves it).
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }

    /// The region to ask about the bucket when nothing else says: the partition's first region.
    pub fn partition_default_region(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "cn-north-1",
            "aws-us-gov" => "us-gov-west-1",
            _ => "us-east-1",
        }
    }
}

/// One init variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFile {
    /// The variable's name (`aws_fluent_bit_init_file_1`).
    pub var: String,
    pub source: Source,
}

/// How a file is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Included after the main configuration.
    Config,
    /// Loaded as a parsers file.
    Parsers,
}

/// The init files `vars` name, in load order, and a message for each variable that cannot be used
/// (`(name, message)`).
pub fn collect(vars: &[(String, String)]) -> (Vec<InitFile>, Vec<(String, String)>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in vars {
        let source = if is_init_var(name, "s3") {
            parse_s3_arn(value.trim()).map(Source::S3)
        } else if is_init_var(name, "file") {
            match value.trim() {
                "" => Err("is empty: it must be the path of a file".to_owned()),
                path => Ok(Source::Local(PathBuf::from(path))),
            }
        } else {
            continue;
        };
        match source {
            Ok(source) => found.push(InitFile {
                var: name.clone(),
                source,
            }),
            Err(message) => problems.push((name.clone(), message)),
        }
    }
    found.sort_by(|a, b| order_key(&a.var).cmp(&order_key(&b.var)));
    problems.sort();
    (found, problems)
}

/// `aws_fluent_bit_init_` then `kind` (`s3`, `file`) with its first letter in either case,
/// anywhere in the name (the init process's patterns are not anchored).
fn is_init_var(name: &str, kind: &str) -> bool {
    const PREFIX: &str = "aws_fluent_bit_init_";
    let mut rest = name;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at + PREFIX.len()..];
        let mut want = kind.chars();
        let mut have = after.chars();
        let first_matches = match (want.next(), have.next()) {
            (Some(w), Some(h)) => w.eq_ignore_ascii_case(&h),
            _ => false,
        };
        if first_matches && have.as_str().starts_with(want.as_str()) {
            return true;
        }
        rest = &rest[at + 1..];
    }
    false
}

/// The number the name ends with (none sorts last), then the name.
fn order_key(name: &str) -> (u64, &str) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let n = name[name.len() - digits..].parse().unwrap_or(u64::MAX);
    (n, name)
}

/// `arn:PARTITION:s3:::BUCKET/KEY` (what the init process accepts: no region, no account).
pub fn parse_s3_arn(arn: &str) -> Result<S3Object, String> {
    let bad =
        |why: &str| format!("`{arn}` is not an S3 object ARN (arn:aws:s3:::bucket/key): {why}");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, _region, _account, resource] = parts[..] else {
        return Err(bad("it needs six `:`-separated fields"));
    };
    if prefix != "arn" || partition.is_empty() {
        return Err(bad("it must start with `arn:` and a partition"));
    }
    if service != "s3" {
        return Err(bad("the service must be `s3`"));
    }
    let Some((bucket, key)) = resource.split_once('/') else {
        return Err(bad("the resource must be `bucket/key`"));
    };
    if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
        return Err(bad("the bucket and the key's file name must not be empty"));
    }
    Ok(S3Object {
        arn: arn.to_owned(),
        partition: partition.to_owned(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
}

/// A file with a `[PARSER]` or `[MULTILINE_PARSER]` section is a parsers file. Fluent Bit reads
/// only those sections from a parsers file, so one that also has other sections would lose them:
/// that is refused, naming the first such section and its line.
pub fn classify(text: &str) -> Result<Kind, String> {
    let mut parsers = false;
    let mut other: Option<(String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(name) = line
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
        else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("PARSER") || name.eq_ignore_ascii_case("MULTILINE_PARSER") {
            parsers = true;
        } else if other.is_none() {
            other = Some((name.to_owned(), i + 1));
        }
    }
    match (parsers, other) {
        (false, _) => Ok(Kind::Config),
        (true, None) => Ok(Kind::Parsers),
        (true, Some((name, line))) => Err(format!(
            "it has [PARSER]/[MULTILINE_PARSER] sections, so it is loaded as a parsers file (as the \
             init process does), where its [{name}] at line {line} would be ignored: put parsers \
             and other sections in separate files"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn init_variables_are_found_as_the_init_process_matches_them_and_ordered_by_number() {
        let (files, problems) = collect(&vars(&[
            ("aws_fluent_bit_init_file_10", "/ten.conf"),
            ("PATH", "/bin"),
            (
                "aws_fluent_bit_init_S3_2",
                "arn:aws:s3:::bucket/dir/two.conf",
            ),
            ("aws_fluent_bit_init_File_1", "/one.conf"),
            ("aws_fluent_bit_init_file_extra", "/extra.conf"),
            ("my_aws_fluent_bit_init_file_3", "/three.conf"),
            ("aws_fluent_bit_init_files", "/x.conf"),
            ("aws_fluent_bit_init_fil", "/not.conf"),
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = files.iter().map(|f| f.var.as_str()).collect();
        assert_eq!(
            names,
            [
                "aws_fluent_bit_init_File_1",
                "aws_fluent_bit_init_S3_2",
                "my_aws_fluent_bit_init_file_3",
                "aws_fluent_bit_init_file_10",
                "aws_fluent_bit_init_file_extra",
                "aws_fluent_bit_init_files",
            ]
        );
        assert_eq!(files[0].source, Source::Local(PathBuf::from("/one.conf")));
        let Source::S3(obj) = &files[1].source else {
            panic!("{:?}", files[1]);
        };
        assert_eq!(
            (obj.bucket.as_str(), obj.key.as_str(), obj.file_name()),
            ("bucket", "dir/two.conf", "two.conf")
        );
    }

    #[test]
    fn unusable_values_are_reported_by_variable() {
        let (files, problems) = collect(&vars(&[
            ("aws_fluent_bit_init_file_1", " "),
            ("aws_fluent_bit_init_s3_1", "s3://bucket/key.conf"),
        ]));
        assert!(files.is_empty());
        assert_eq!(problems[0].0, "aws_fluent_bit_init_file_1");
        assert!(problems[0].1.contains("empty"), "{problems:?}");
        assert_eq!(problems[1].0, "aws_fluent_bit_init_s3_1");
        assert!(
            problems[1].1.contains("not an S3 object ARN"),
            "{problems:?}"
        );
    }

    #[test]
    fn s3_arns_need_a_bucket_and_a_key() {
        let obj = parse_s3_arn("arn:aws-cn:s3:::b/k.conf").unwrap();
        assert_eq!(obj.partition_default_region(), "cn-north-1");
        assert_eq!(
            parse_s3_arn("arn:aws:s3:::b/a/b/c.conf").unwrap().key,
            "a/b/c.conf"
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:s3:::/key",
            "arn:aws:s3:::bucket/dir/",
            "arn:aws:sqs:::bucket/key",
            "arn:aws:s3::bucket/key",
            "aws:s3:::bucket/key",
        ] {
            assert!(parse_s3_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_with_parser_sections_is_a_parsers_file_and_may_hold_nothing_else() {
        let parsers = "[PARSER]\n    Name a\n    Format json\n\n[multiline_parser]\n    name m\n";
        assert_eq!(classify(parsers), Ok(Kind::Parsers));
        assert_eq!(
            classify("[FILTER]\n    Name grep\n# [PARSER] in a comment\n"),
            Ok(Kind::Config)
        );
        assert_eq!(classify("@INCLUDE x.conf\n"), Ok(Kind::Config));
        let mixed = classify("[PARSER]\n    Name a\n[FILTER]\n    Name grep\n").unwrap_err();
        assert!(mixed.contains("[FILTER] at line 3"), "{mixed}");
    }
}
