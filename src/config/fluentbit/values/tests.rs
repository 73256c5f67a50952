use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::filter::FilterConfig;
use crate::config::fluentbit::memfs::MemFiles;
use crate::config::fluentbit::{FbFormat, load};
use crate::config::model::{Config, InputConfig, OutputConfig};

const ROOT: &str = "/etc/fb/fluent-bit.conf";

fn no_env(_: &str) -> Option<String> {
    None
}

/// Loads `text` as a classic file: the config and its warnings as `line: message`, or the errors.
fn load_classic(text: &str) -> Result<(Config, Vec<String>), Vec<String>> {
    let fs = MemFiles::new(&[(ROOT, text)]);
    let shown =
        |p: &crate::config::errors::Problem| format!("{}: {}", p.line.unwrap_or(0), p.message);
    match load(Path::new(ROOT), FbFormat::Classic, &fs, &no_env) {
        Ok((cfg, warnings)) => Ok((cfg, warnings.iter().map(shown).collect())),
        Err(e) => Err(e.problems.iter().map(shown).collect()),
    }
}

/// The sections a row's key is tried in: `{}` is replaced by `Key value`.
const FORWARD_IN: &str =
    "[INPUT]\n    Name forward\n    {}\n[OUTPUT]\n    Name null\n    Match *\n";
const TCP_IN: &str = "[INPUT]\n    Name tcp\n    {}\n[OUTPUT]\n    Name null\n    Match *\n";
const MULTILINE: &str = "[INPUT]\n    Name forward\n[FILTER]\n    Name multiline\n    Match *\n    multiline.parser docker\n    {}\n[OUTPUT]\n    Name null\n    Match *\n";
const S3_OUT: &str = "[INPUT]\n    Name forward\n[OUTPUT]\n    Name s3\n    Match *\n    bucket logs\n    region us-east-1\n    {}\n";
const FORWARD_OUT: &str = "[INPUT]\n    Name forward\n[OUTPUT]\n    Name forward\n    Match *\n    Host 127.0.0.1\n    {}\n";

fn forward_in(c: &Config) -> &crate::config::model::ForwardInputConfig {
    match &c.inputs[0] {
        InputConfig::Forward(f) => f,
        other => panic!("{other:?}"),
    }
}

fn tcp_in(c: &Config) -> &crate::config::model::TcpInputConfig {
    match &c.inputs[0] {
        InputConfig::Tcp(t) => t,
        other => panic!("{other:?}"),
    }
}

fn multiline(c: &Config) -> &crate::config::filter::MultilineFilterConfig {
    match &c.filters[0] {
        FilterConfig::Multiline(m) => m,
        other => panic!("{other:?}"),
    }
}

fn s3(c: &Config) -> &crate::config::output::s3::S3OutputConfig {
    match &c.outputs[0] {
        OutputConfig::S3(s) => s,
        other => panic!("{other:?}"),
    }
}

fn forward_out(c: &Config) -> &crate::config::output::forward::ForwardOutputConfig {
    match &c.outputs[0] {
        OutputConfig::Forward(f) => f,
        other => panic!("{other:?}"),
    }
}

/// One size key firelane reads from a Fluent Bit file: the value as written there, the bytes
/// Fluent Bit reads it as (and so firelane uses), and where Fluent Bit's source says so.
struct SizeRow {
    section: &'static str,
    entry: &'static str,
    bytes: u64,
    source: &'static str,
    get: fn(&Config) -> u64,
}

#[test]
fn every_size_key_reads_as_fluent_bit_reads_it() {
    let rows = [
        SizeRow {
            section: FORWARD_IN,
            entry: "Mem_Buf_Limit 25MB",
            bytes: 25_000_000,
            source: "src/flb_input.c flb_input_set_property: flb_utils_size_to_bytes",
            get: |c| forward_in(c).mem_buf_limit.0,
        },
        SizeRow {
            section: TCP_IN,
            entry: "Mem_Buf_Limit 1.5m",
            bytes: 1_500_000,
            source: "src/flb_input.c flb_input_set_property: flb_utils_size_to_bytes",
            get: |c| tcp_in(c).mem_buf_limit.0,
        },
        SizeRow {
            section: FORWARD_IN,
            entry: "Buffer_Chunk_Size 512k",
            bytes: 512_000,
            source: "plugins/in_forward/fw.c config map: FLB_CONFIG_MAP_SIZE",
            get: |c| forward_in(c).buffer_chunk_size.0,
        },
        SizeRow {
            section: FORWARD_IN,
            entry: "Buffer_Max_Size 6144000",
            bytes: 6_144_000,
            source: "plugins/in_forward/fw.c config map: FLB_CONFIG_MAP_SIZE",
            get: |c| forward_in(c).buffer_max_size.0,
        },
        SizeRow {
            section: FORWARD_IN,
            entry: "max_decompressed_size 64M",
            bytes: 64_000_000,
            source: "firelane's own key, read with Fluent Bit's size type (src/flb_utils.c)",
            get: |c| forward_in(c).max_decompressed_size.0,
        },
        SizeRow {
            section: FORWARD_IN,
            entry: "storage.total_limit_size 2G",
            bytes: 2_000_000_000,
            source: "src/flb_output.c flb_output_set_property (the outputs' key): flb_utils_size_to_bytes",
            get: |c| forward_in(c).storage.total_limit_size.0,
        },
        SizeRow {
            section: TCP_IN,
            entry: "Buffer_Size 64",
            bytes: 65_536,
            source: "plugins/in_tcp/tcp_config.c: atoi(buffer_size) * 1024",
            get: |c| tcp_in(c).buffer_size.0,
        },
        SizeRow {
            section: TCP_IN,
            entry: "Buffer_Size 64k",
            bytes: 65_536,
            source: "plugins/in_tcp/tcp_config.c: atoi stops at `k`, * 1024",
            get: |c| tcp_in(c).buffer_size.0,
        },
        SizeRow {
            section: TCP_IN,
            entry: "Chunk_Size 64",
            bytes: 65_536,
            source: "plugins/in_tcp/tcp_config.c: atoi(chunk_size) * 1024; Buffer_Size defaults to it",
            get: |c| tcp_in(c).buffer_size.0,
        },
        SizeRow {
            section: MULTILINE,
            entry: "max_group_bytes 1MB",
            bytes: 1_000_000,
            source: "firelane's own key, read with Fluent Bit's size type (src/flb_utils.c)",
            get: |c| multiline(c).max_group_bytes.unwrap().0,
        },
        SizeRow {
            section: MULTILINE,
            entry: "max_total_bytes 8M",
            bytes: 8_000_000,
            source: "firelane's own key, read with Fluent Bit's size type (src/flb_utils.c)",
            get: |c| multiline(c).max_total_bytes.unwrap().0,
        },
        SizeRow {
            section: S3_OUT,
            entry: "total_file_size 50M",
            bytes: 50_000_000,
            source: "plugins/out_s3/s3.c config map: FLB_CONFIG_MAP_SIZE",
            get: |c| s3(c).total_file_size.0,
        },
        SizeRow {
            section: S3_OUT,
            entry: "upload_chunk_size 6M",
            bytes: 6_000_000,
            source: "plugins/out_s3/s3.c config map: FLB_CONFIG_MAP_SIZE",
            get: |c| s3(c).upload_chunk_size.0,
        },
        SizeRow {
            section: S3_OUT,
            entry: "store_dir_limit_size 1G",
            bytes: 1_000_000_000,
            source: "plugins/out_s3/s3.c config map: FLB_CONFIG_MAP_SIZE",
            get: |c| s3(c).store_dir_limit_size.unwrap_or_default().0,
        },
        SizeRow {
            section: FORWARD_OUT,
            entry: "max_frame_size 2M",
            bytes: 2_000_000,
            source: "firelane's own key, read with Fluent Bit's size type (src/flb_utils.c)",
            get: |c| forward_out(c).max_frame_size.0,
        },
    ];
    for row in rows {
        let text = row.section.replace("{}", row.entry);
        let (cfg, _) =
            load_classic(&text).unwrap_or_else(|e| panic!("{} ({}): {e:?}", row.entry, row.source));
        assert_eq!((row.get)(&cfg), row.bytes, "{} ({})", row.entry, row.source);
    }
}

#[test]
fn the_emf_tcp_input_keeps_64_kilobyte_lines() {
    // The AWS EMF-over-TCP example: Chunk_Size 32, Buffer_Size 64 (kilobytes).
    let text = TCP_IN.replace("{}", "Chunk_Size 32\n    Buffer_Size 64\n    Format none");
    let (cfg, warnings) = load_classic(&text).unwrap();
    assert_eq!(tcp_in(&cfg).buffer_size.0, 65_536);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_tcp_buffer_holds_whole_chunks_as_in_fluent_bit() {
    // Fluent Bit grows the buffer by Chunk_Size (default 32768) only within Buffer_Size.
    for (entries, held) in [
        ("Buffer_Size 40", 32_768),
        ("Buffer_Size 16", 32_768),
        ("Chunk_Size 10\n    Buffer_Size 35", 30_720),
        ("Chunk_Size 64\n    Buffer_Size 32", 65_536),
    ] {
        let (cfg, warnings) = load_classic(&TCP_IN.replace("{}", entries)).unwrap();
        assert_eq!(tcp_in(&cfg).buffer_size.0, held, "{entries}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("at most {held} bytes"))),
            "{entries}: {warnings:?}"
        );
    }
}

#[test]
fn sizes_fluent_bit_would_refuse_or_misread_are_errors_saying_what_to_write() {
    for (section, entry, expected) in [
        (
            FORWARD_IN,
            "Mem_Buf_Limit 32MiB",
            "3: `32MiB` is not a size Fluent Bit reads (it has no binary units such as KiB or MiB, which are firelane's TOML format's); write 33554432 (bytes)",
        ),
        (
            FORWARD_IN,
            "Mem_Buf_Limit 5 M",
            "3: `5 M` is not a size: Fluent Bit sizes are a number of bytes, or a number with K, M or G (x1000), optionally followed by B: 6144000, 5M, 25MB",
        ),
        (
            FORWARD_IN,
            "Mem_Buf_Limit false",
            "3: `false` means \"no limit\" to Fluent Bit; firelane bounds every input's buffers: give a size (such as 25M)",
        ),
        (
            FORWARD_IN,
            "Mem_Buf_Limit 0",
            "3: `0` means \"no limit\" to Fluent Bit; firelane bounds every input's buffers: give a size (such as 25M)",
        ),
        (
            FORWARD_IN,
            "storage.total_limit_size off",
            "3: `off` means \"no limit\" to Fluent Bit; firelane bounds every input's buffers: give a size (such as 25M)",
        ),
        (
            FORWARD_IN,
            "Buffer_Max_Size 5B",
            "3: `5B`: Fluent Bit refuses the unit B on its own; write 5 (bytes)",
        ),
        (
            FORWARD_IN,
            "Buffer_Max_Size 5x5",
            "3: `5x5` is not a size: Fluent Bit sizes are a number of bytes, or a number with K, M or G (x1000), optionally followed by B: 6144000, 5M, 25MB",
        ),
        (
            TCP_IN,
            "Buffer_Size 1M",
            "3: `1M`: Fluent Bit's tcp input reads Buffer_Size as a whole number of kilobytes (the digits before any other character, so `1M` is 1 KB there): write kilobytes (`977` for 1000000 bytes)",
        ),
        (
            TCP_IN,
            "Chunk_Size 1.5",
            "3: `1.5`: Fluent Bit's tcp input reads Chunk_Size as a whole number of kilobytes (the digits before any other character, so `1M` is 1 KB there): write kilobytes",
        ),
        (
            TCP_IN,
            "Chunk_Size 0",
            "3: `Chunk_Size` must be at least 1 (kilobyte)",
        ),
    ] {
        let errors = load_classic(&section.replace("{}", entry)).unwrap_err();
        assert_eq!(errors, [expected], "{entry}");
    }
}

#[test]
fn size_to_bytes_matches_fluent_bits_own_test_vectors() {
    // tests/internal/utils.c, size_to_bytes_checks (-1 there is an error here).
    for (text, bytes) in [
        ("922337.63", Some(922_337)),
        ("2K", Some(2000)),
        ("5.7263K", Some(5726)),
        ("9223372036854775.23K", None),
        ("1M", Some(1_000_000)),
        ("1.1M", Some(1_100_000)),
        ("3.592M", Some(3_592_000)),
        ("52.752383M", Some(52_752_383)),
        ("9223372036854.42M", None),
        ("492.364G", Some(492_364_000_000)),
        ("1.2973G", Some(1_297_300_000)),
        ("9223372036.78G", None),
        // And the forms around them.
        ("25mb", Some(25_000_000)),
        ("1e3", Some(1000)),
        (".5K", Some(500)),
        ("FALSE", Some(0)),
        ("-5", None),
        ("5KiB", None),
        ("5KBB", None),
        ("", None),
    ] {
        assert_eq!(size_to_bytes(text).ok(), bytes, "{text}");
    }
}

/// One duration key: its value, what firelane uses, and whether Fluent Bit reads it differently.
#[test]
fn durations_keep_firelanes_reading_and_warn_where_fluent_bit_differs() {
    let service =
        "[SERVICE]\n    {}\n[INPUT]\n    Name forward\n[OUTPUT]\n    Name null\n    Match *\n";
    let throttle = "[INPUT]\n    Name forward\n[FILTER]\n    Name throttle\n    Match *\n    Rate 10\n    {}\n[OUTPUT]\n    Name null\n    Match *\n";
    type Get = fn(&Config) -> Duration;
    let flush: Get = |c| c.service.flush.0;
    let grace: Get = |c| c.service.grace.0;
    let upload: Get = |c| s3(c).upload_timeout.0;
    let connect: Get = |c| forward_out(c).connect_timeout.0;
    let interval: Get = |c| match &c.filters[0] {
        FilterConfig::Throttle(t) => {
            crate::filter::throttle::parse_interval(t.interval.as_deref().unwrap()).unwrap()
        }
        other => panic!("{other:?}"),
    };
    let ms = Duration::from_millis;
    for (section, entry, get, want, warning) in [
        (service, "Flush 0.2", flush, ms(200), None),
        (service, "Flush 1s", flush, ms(1000), None),
        (
            service,
            "Flush 500ms",
            flush,
            ms(500),
            Some(
                "2: Fluent Bit reads `500ms` as 500s (seconds, up to the first character that is not part of a number); firelane uses 0.5s; write `0.5` to mean the same to both",
            ),
        ),
        (service, "Grace 30", grace, ms(30_000), None),
        (
            service,
            "Grace 1m",
            grace,
            ms(60_000),
            Some(
                "2: Fluent Bit reads `1m` as 1s (whole seconds, up to the first character that is not a digit); firelane uses 60s; write `60` to mean the same to both",
            ),
        ),
        (S3_OUT, "upload_timeout 10m", upload, ms(600_000), None),
        (
            S3_OUT,
            "upload_timeout 1m30s",
            upload,
            ms(90_000),
            Some(
                "8: Fluent Bit reads `1m30s` as 1s (a whole number in the unit of the last letter (s, m, h or d)); firelane uses 90s; write `90` to mean the same to both",
            ),
        ),
        (
            FORWARD_OUT,
            "net.connect_timeout 1D",
            connect,
            ms(86_400_000),
            None,
        ),
        (throttle, "Interval 1.5m", interval, ms(90_000), None),
        (
            throttle,
            "Interval 1m30s",
            interval,
            ms(90_000),
            Some(
                "7: Fluent Bit reads `1m30s` as 1s (a number with at most one unit letter (s, m, h or d), cut to whole seconds); firelane uses 90s; write `90` to mean the same to both",
            ),
        ),
    ] {
        let (cfg, warnings) = load_classic(&section.replace("{}", entry))
            .unwrap_or_else(|e| panic!("{entry}: {e:?}"));
        assert_eq!(get(&cfg), want, "{entry}");
        assert_eq!(warnings, warning.into_iter().collect::<Vec<_>>(), "{entry}");
    }
}

#[test]
fn fluent_bits_duration_readers_are_modelled() {
    use ValueKind::*;
    for (kind, text, secs) in [
        (Time, "1m30s", 1.0),
        (Time, "2H", 7200.0),
        (Time, "1.5h", 3600.0),
        (Time, "500ms", 500.0),
        (SecondsInt, "1.9", 1.0),
        (SecondsFloat, "0.25", 0.25),
        (SecondsFloat, "2m", 2.0),
        (ThrottleInterval, "0.5h", 1800.0),
        (ThrottleInterval, "500ms", 500.0),
        (ThrottleInterval, "0.5", 0.0),
    ] {
        assert_eq!(fluent_bit_seconds(kind, text), secs, "{kind:?} {text}");
    }
}

#[test]
fn yaml_files_read_sizes_and_durations_the_same_way() {
    let root = "/etc/fb/fluent-bit.yaml";
    let yaml = "service:\n  flush: 500ms\npipeline:\n  inputs:\n    - name: tcp\n      buffer_size: 64\n      mem_buf_limit: 5MB\n  outputs:\n    - name: null\n      match: '*'\n";
    let fs = MemFiles::new(&[(root, yaml)]);
    let (cfg, warnings) = load(Path::new(root), FbFormat::Yaml, &fs, &no_env).unwrap();
    assert_eq!(tcp_in(&cfg).buffer_size.0, 65_536);
    assert_eq!(tcp_in(&cfg).mem_buf_limit.0, 5_000_000);
    assert_eq!(cfg.service.flush.0, Duration::from_millis(500));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .message
            .contains("Fluent Bit reads `500ms` as 500s")
    );
}
