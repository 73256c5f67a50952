use super::super::tests::run;
use super::*;
use crate::event::EventTime;

fn parse_builtin(name: &str, line: &str) -> Option<(String, Option<EventTime>)> {
    run(&builtin(name).unwrap(), line)
}

#[test]
fn every_builtin_compiles_and_unknown_names_are_none() {
    // The embedded file reads without a problem, so the built-ins are all of it.
    let defs = super::super::file::parser_defs(STANDARD_PARSERS_FILE, "parsers.conf").unwrap();
    assert_eq!(defs.len(), builtin_count());
    for name in builtin_names() {
        assert!(
            super::super::Parser::compile(&builtin(name).unwrap()).is_ok(),
            "{name}"
        );
    }
    assert!(builtin("nope").is_none());
}

#[test]
fn the_builtins_are_fluent_bit_s_standard_parsers() {
    // The names of Fluent Bit's conf/parsers.conf (5.1.1), in its order.
    let names: Vec<&str> = builtin_names().collect();
    assert_eq!(
        names,
        [
            "apache",
            "apache2",
            "apache_error",
            "nginx",
            "k8s-nginx-ingress",
            "json",
            "logfmt",
            "docker",
            "docker-daemon",
            "syslog-rfc5424",
            "syslog-rfc3164-local",
            "syslog-rfc3164",
            "mongodb",
            "envoy",
            "istio-envoy-proxy",
            "cri",
            "kube-custom",
            "kmsg-netfilter-log",
        ]
    );
}

#[test]
fn apache_common_log() {
    assert_eq!(
        parse_builtin(
            "apache",
            r#"192.168.2.20 - - [28/Jul/2006:10:27:10 -0300] "GET /cgi-bin/try/ HTTP/1.0" 200 3395"#
        ),
        Some((
            r#"{"host":"192.168.2.20","user":"-","method":"GET","path":"/cgi-bin/try/","code":"200","size":"3395"}"#
                .to_owned(),
            Some(EventTime::new(1_154_093_230, 0))
        ))
    );
}

#[test]
fn apache2_combined_log() {
    assert_eq!(
        parse_builtin(
            "apache2",
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#
        ),
        Some((
            r#"{"host":"127.0.0.1","user":"frank","method":"GET","path":"/apache_pb.gif","code":"200","size":"2326","referer":"http://www.example.com/start.html","agent":"Mozilla/4.08 [en] (Win98; I ;Nav)"}"#
                .to_owned(),
            Some(EventTime::new(971_211_336, 0))
        ))
    );
}

#[test]
fn nginx_access_log() {
    assert_eq!(
        parse_builtin(
            "nginx",
            r#"93.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET /downloads/product_1 HTTP/1.1" 304 0 "-" "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)""#
        ),
        Some((
            r#"{"remote":"93.180.71.3","host":"-","user":"-","method":"GET","path":"/downloads/product_1","code":"304","size":"0","referer":"-","agent":"Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)"}"#
                .to_owned(),
            Some(EventTime::new(1_431_849_932, 0))
        ))
    );
    assert_eq!(parse_builtin("nginx", "not an access log"), None);
}

#[test]
fn docker_json_keeps_its_time() {
    assert_eq!(
        parse_builtin(
            "docker",
            r#"{"log":"hello\n","stream":"stdout","time":"2019-01-01T12:00:00.123456789Z"}"#
        ),
        Some((
            r#"{"log":"hello\n","stream":"stdout","time":"2019-01-01T12:00:00.123456789Z"}"#
                .to_owned(),
            Some(EventTime::new(1_546_344_000, 123_456_789))
        ))
    );
}

#[test]
fn syslog_rfc5424() {
    assert_eq!(
        parse_builtin(
            "syslog-rfc5424",
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry"#
        ),
        Some((
            r#"{"pri":"165","time":"2003-10-11T22:14:15.003Z","host":"mymachine.example.com","ident":"evntslog","pid":"-","msgid":"ID47","extradata":"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"]","message":"An application event log entry"}"#
                .to_owned(),
            Some(EventTime::new(1_065_910_455, 3_000_000))
        ))
    );
}

#[test]
fn syslog_rfc3164_takes_the_year_from_the_event() {
    assert_eq!(
        parse_builtin(
            "syslog-rfc3164",
            "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8"
        ),
        Some((
            r#"{"pri":"34","time":"Oct 11 22:14:15","host":"mymachine","ident":"su","pid":"123","message":"'su root' failed for lonvick on /dev/pts/8"}"#
                .to_owned(),
            Some(EventTime::new(1_791_756_855, 0))
        ))
    );
}

#[test]
fn json_and_logfmt_builtins() {
    assert_eq!(
        parse_builtin("json", r#"{"a":1,"time":"10/Oct/2000:13:55:36 -0700"}"#),
        Some((
            r#"{"a":1}"#.to_owned(),
            Some(EventTime::new(971_211_336, 0))
        ))
    );
    assert_eq!(
        parse_builtin("logfmt", "a=1 b=two").unwrap().0,
        r#"{"a":"1","b":"two"}"#
    );
}

#[test]
fn apache_error_log() {
    assert_eq!(
        parse_builtin(
            "apache_error",
            "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test"
        ),
        Some((
            r#"{"time":"Oct 11 14:32:52 2000","level":"error","client":"127.0.0.1","message":"client denied by server configuration: /export/home/live/ap/htdocs/test"}"#
                .to_owned(),
            None
        ))
    );
}
