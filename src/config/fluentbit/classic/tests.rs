use super::*;
use crate::config::fluentbit::memfs::MemFiles;

fn no_env(_: &str) -> Option<String> {
    None
}

fn read(files: &[(&str, &str)]) -> (Doc, Findings) {
    read_env(files, &no_env)
}

fn read_env(files: &[(&str, &str)], env: &dyn Fn(&str) -> Option<String>) -> (Doc, Findings) {
    let fs = MemFiles::new(files);
    let root = files[0].0;
    read_classic(Path::new(root), &fs, env)
}

/// `kind key=value key=value ...` per section, for compact expectations.
fn summary(doc: &Doc) -> Vec<String> {
    doc.sections
        .iter()
        .map(|s| {
            let mut out = format!("{}@{}", s.kind.header(), s.at.line);
            for e in &s.entries {
                out.push_str(&format!(" {}={}", e.key, e.value));
            }
            out
        })
        .collect()
}

fn messages(problems: &[crate::config::errors::Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// The config the ECS agent generates for a CloudWatch output (firelens.md), with CRLF endings
/// on some lines and a comment.
const GENERATED: &str = "\
[INPUT]
    Name forward
    Mem_Buf_Limit 25MB
    unix_path /var/run/fluent.sock

[INPUT]\r
    Name forward\r
    Listen 0.0.0.0
    Port 24224

# health check pair
[INPUT]
    Name tcp
    Tag firelens-healthcheck
    Listen 127.0.0.1
    Port 8877

[FILTER]
    Name record_modifier
    Match *
    Record ecs_cluster my-cluster
    Record ecs_task_definition my-family:7

@INCLUDE /fluent-bit/etc/external.conf

[OUTPUT]
    Name cloudwatch_logs
    Match app-firelens*
    log_stream_prefix app/
";

const EXTERNAL: &str = "\
[FILTER]
\tName   grep
\tMatch  app-firelens*
\tExclude log ^.*health.*$
";

#[test]
fn the_generated_config_reads_with_includes_in_place() {
    let (doc, findings) = read(&[
        ("/fluent-bit/etc/fluent-bit.conf", GENERATED),
        ("/fluent-bit/etc/external.conf", EXTERNAL),
    ]);
    assert_eq!(findings, Findings::default());
    assert_eq!(
        summary(&doc),
        [
            "INPUT@1 name=forward mem_buf_limit=25MB unix_path=/var/run/fluent.sock",
            "INPUT@6 name=forward listen=0.0.0.0 port=24224",
            "INPUT@12 name=tcp tag=firelens-healthcheck listen=127.0.0.1 port=8877",
            "FILTER@18 name=record_modifier match=* record=ecs_cluster my-cluster record=ecs_task_definition my-family:7",
            "FILTER@1 name=grep match=app-firelens* exclude=log ^.*health.*$",
            "OUTPUT@26 name=cloudwatch_logs match=app-firelens* log_stream_prefix=app/",
        ]
    );
    let grep = &doc.sections[4];
    assert_eq!(&*grep.at.file, "/fluent-bit/etc/external.conf");
    assert_eq!(grep.entries[2].raw_key, "Exclude");
    assert_eq!(grep.entries[2].at.line, 4);
    assert_eq!(doc.base_dir, Path::new("/fluent-bit/etc"));
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let (doc, findings) = read(&[("/c/f.conf", "\u{feff}[INPUT]\r\n    Name tcp\r\n")]);
    assert!(findings.errors.is_empty(), "{:?}", findings.errors);
    assert_eq!(summary(&doc), ["INPUT@1 name=tcp"]);
}

#[test]
fn a_hash_inside_a_value_is_kept() {
    let (doc, findings) = read(&[(
        "/c/f.conf",
        "[FILTER]\n  Name grep\n  Regex log ^#[0-9]+ # not a comment\n",
    )]);
    assert!(findings.errors.is_empty());
    assert_eq!(
        doc.sections[0].entries[1].value,
        "log ^#[0-9]+ # not a comment"
    );
}

#[test]
fn set_variables_and_environment_expand_with_defaults() {
    let env = |n: &str| match n {
        "AWS_REGION" => Some("eu-west-1".to_owned()),
        "GROUP" => Some("from-env".to_owned()),
        _ => None,
    };
    let text = "\
@SET GROUP=from-set
[OUTPUT]
    Name cloudwatch_logs
    region ${AWS_REGION}
    log_group_name /ecs/${GROUP}
    log_stream_prefix ${PREFIX:-app/}
    role_arn ${ROLE_ARN}
";
    let (doc, findings) = read_env(&[("/c/f.conf", text)], &env);
    assert!(findings.errors.is_empty(), "{:?}", findings.errors);
    let values: Vec<&str> = doc.sections[0]
        .entries
        .iter()
        .map(|e| e.value.as_str())
        .collect();
    assert_eq!(
        values,
        ["cloudwatch_logs", "eu-west-1", "/ecs/from-set", "app/", ""]
    );
    assert_eq!(
        messages(&findings.warnings),
        ["/c/f.conf:7: role_arn: `${ROLE_ARN}` is not set: it is replaced by an empty value"]
    );
}

#[test]
fn indentation_must_stay_as_the_first_entry_set_it() {
    let text = "[INPUT]\n    Name forward\n  Port 24224\n\tListen 0.0.0.0\n    Tag x\n";
    let (doc, findings) = read(&[("/c/f.conf", text)]);
    assert_eq!(
        messages(&findings.errors),
        [
            "/c/f.conf:3: indentation 2 spaces differs from the 4 spaces this file uses since line 2",
            "/c/f.conf:4: indentation 1 tab differs from the 4 spaces this file uses since line 2",
        ]
    );
    // Reading went on: every entry is there, so later checks still see them.
    assert_eq!(doc.sections[0].entries.len(), 4);
}

#[test]
fn structural_mistakes_are_each_reported_with_their_line() {
    let text = "\
Name forward
[INPUT]
    Name
    Port 24224
  [OUTPUT]
[CUSTOM]
    Name calyptia
[OUTPUT
@UNSET x
@SET novalue
";
    let (doc, findings) = read(&[("/c/f.conf", text)]);
    assert_eq!(
        messages(&findings.errors),
        [
            "/c/f.conf:1: `Name forward`: entries must be indented under a [SECTION] header",
            "/c/f.conf:3: Name: `Name` has no value",
            "/c/f.conf:5: a section header must start at the beginning of the line",
            "/c/f.conf:6: unknown section [CUSTOM]; known: SERVICE, INPUT, FILTER, OUTPUT, PARSER, MULTILINE_PARSER",
            "/c/f.conf:8: `[OUTPUT`: a section header is `[NAME]`",
            "/c/f.conf:9: @UNSET: unknown command `@UNSET`; known: @INCLUDE, @SET",
            "/c/f.conf:10: @SET: expected `@SET KEY=VALUE`",
        ]
    );
    assert_eq!(
        summary(&doc),
        ["INPUT@2 port=24224", "OUTPUT@5"],
        "the unknown section's entries are skipped, not blamed"
    );
}

#[test]
fn entries_after_an_include_need_a_header_of_their_own() {
    let (_, findings) = read(&[
        (
            "/c/f.conf",
            "[INPUT]\n    Name tcp\n@INCLUDE x.conf\n    Port 1\n",
        ),
        ("/c/x.conf", ""),
    ]);
    assert_eq!(
        messages(&findings.errors),
        ["/c/f.conf:4: entry outside a section: add a [SECTION] header above it"]
    );
}

#[test]
fn includes_expand_globs_relative_to_the_root_file_in_name_order() {
    let (doc, findings) = read(&[
        ("/etc/fb/main.conf", "@INCLUDE conf.d/*.conf\n"),
        (
            "/etc/fb/conf.d/b.conf",
            "[OUTPUT]\n    Name null\n    Match b\n",
        ),
        (
            "/etc/fb/conf.d/a.conf",
            "[OUTPUT]\n    Name null\n    Match a\n@INCLUDE conf.d/sub/c.conf\n",
        ),
        ("/etc/fb/conf.d/skip.yaml", "[OUTPUT]\n    Name null\n"),
        (
            "/etc/fb/conf.d/sub/c.conf",
            "[OUTPUT]\n    Name null\n    Match c\n",
        ),
    ]);
    assert!(findings.errors.is_empty(), "{:?}", findings.errors);
    assert_eq!(
        summary(&doc),
        [
            "OUTPUT@1 name=null match=a",
            "OUTPUT@1 name=null match=c",
            "OUTPUT@1 name=null match=b",
        ],
        "nested includes resolve against the root file's directory too"
    );
}

#[test]
fn include_cycles_and_missing_files_are_errors_at_the_include() {
    let (doc, findings) = read(&[
        (
            "/c/main.conf",
            "@INCLUDE a.conf\n@INCLUDE missing.conf\n@INCLUDE none*.conf\n[OUTPUT]\n    Name null\n",
        ),
        ("/c/a.conf", "[INPUT]\n    Name tcp\n@INCLUDE ./b.conf\n"),
        ("/c/b.conf", "@INCLUDE a.conf\n@INCLUDE main.conf\n"),
    ]);
    assert_eq!(
        messages(&findings.errors),
        [
            "/c/b.conf:1: @INCLUDE: include cycle: /c/a.conf -> /c/b.conf -> /c/a.conf",
            "/c/b.conf:2: @INCLUDE: include cycle: /c/main.conf -> /c/a.conf -> /c/b.conf -> /c/main.conf",
            "/c/main.conf:2: @INCLUDE: cannot read `/c/missing.conf`: No such file or directory",
        ]
    );
    assert_eq!(
        messages(&findings.warnings),
        ["/c/main.conf:3: @INCLUDE: `none*.conf` matches no file"]
    );
    assert_eq!(summary(&doc), ["INPUT@1 name=tcp", "OUTPUT@4 name=null"]);
}

#[test]
fn an_unreadable_root_is_one_file_level_error() {
    let fs = MemFiles::default();
    let (doc, findings) = read_classic(Path::new("/nope.conf"), &fs, &no_env);
    assert!(doc.sections.is_empty());
    assert_eq!(
        messages(&findings.errors),
        ["/nope.conf: cannot read the file: No such file or directory"]
    );
}

#[test]
fn keys_are_case_insensitive_and_repeats_are_kept_in_order() {
    let text = "[FILTER]\n    NAME modify\n    Add a 1\n    ADD b 2\n    Rename a c\n";
    let (doc, _) = read(&[("/c/f.conf", text)]);
    assert_eq!(
        summary(&doc),
        ["FILTER@1 name=modify add=a 1 add=b 2 rename=a c"]
    );
    assert_eq!(doc.sections[0].entries[2].raw_key, "ADD");
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "(\\PC|\n|\t|\\[|\\]|@|\\$\\{){0,200}") {
        let fs = MemFiles::new(&[("/c/f.conf", &text)]);
        let _ = read_classic(Path::new("/c/f.conf"), &fs, &no_env);
    }
}

#[test]
fn stream_task_and_plugins_sections_say_what_they_are() {
    let (doc, findings) = read(&[(
        "/etc/fb/streams.conf",
        "[STREAM_TASK]\n    Name count\n    Exec CREATE STREAM s AS SELECT * FROM TAG:'a*';\n\n[PLUGINS]\n    Path /fluent-bit/plugins/out_gstdout.so\n",
    )]);
    assert!(doc.sections.is_empty());
    assert_eq!(
        messages(&findings.errors),
        [
            "/etc/fb/streams.conf:1: [STREAM_TASK] is a Fluent Bit stream processor section (the kind a Streams_File holds): firelane does not support stream processing"
        ]
    );
    assert_eq!(
        messages(&findings.warnings),
        [
            "/etc/fb/streams.conf:5: [PLUGINS] is a Fluent Bit external plugins section (the kind a Plugins_File holds): firelane cannot load external plugins, so it is ignored; a section using one of them is reported as an unsupported plugin"
        ]
    );
}
