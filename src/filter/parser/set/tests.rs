use super::*;

#[test]
fn builtins_are_all_there() {
    let set = ParserSet::with_builtins();
    let mut want: Vec<&str> = builtin_names().collect();
    want.sort_unstable();
    assert_eq!(set.names(), want);
    assert!(set.get("nope").is_none());
}

#[test]
fn user_parsers_override_builtins_but_not_each_other() {
    let mut set = ParserSet::with_builtins();
    set.add(&ParserDef::new("nginx", "logfmt")).unwrap();
    assert_eq!(set.get("nginx").unwrap().name(), "nginx");
    assert!(matches!(
        set.get("nginx").unwrap().kind,
        super::super::Kind::Logfmt { .. }
    ));
    assert_eq!(
        set.add(&ParserDef::new("nginx", "json"))
            .unwrap_err()
            .to_string(),
        "parser `nginx` is defined twice (first in config)"
    );
    let file = parse_parsers_file("[PARSER]\n  Name nginx\n  Format json\n", "p.conf").unwrap();
    assert_eq!(
        set.add_file(file, "p.conf").unwrap_err().to_string(),
        "p.conf:1: parser `nginx` is defined twice (first in config)"
    );
}

#[test]
fn load_file_adds_parsers_and_returns_multiline_sections() {
    let dir = std::env::temp_dir().join(format!("firelane-parsers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("parsers.conf");
    std::fs::write(
        &path,
        "[PARSER]\n Name kv\n Format logfmt\n[MULTILINE_PARSER]\n Name ml\n Type regex\n Rule \"start_state\" \"/^x/\" \"cont\"\n",
    )
    .unwrap();
    let mut set = ParserSet::with_builtins();
    let multiline = set.load_file(&path).unwrap();
    assert!(set.get("kv").is_some());
    assert_eq!(multiline.len(), 1);
    assert_eq!(multiline[0].rules[0].regex, "/^x/");
    // The same file again: every name is now a duplicate, and nothing changes.
    let err = set.load_file(&path).unwrap_err().to_string();
    let p = path.display();
    assert_eq!(
        err,
        format!("{p}:1: parser `kv` is defined twice (first in {p}:1)")
    );
    let missing = set
        .load_file(&dir.join("missing.conf"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot read parsers file "),
        "{missing}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_builtin_is_compiled_once_and_shared() {
    let set = ParserSet::with_builtins();
    let first = set.get("apache").unwrap();
    assert!(Arc::ptr_eq(&first, &set.get("apache").unwrap()));
}
