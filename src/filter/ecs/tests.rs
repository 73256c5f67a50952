use super::*;
use crate::filter::test_support::{json, msgpack};

const FARGATE_TASK: &[u8] = include_bytes!("../../../tests/data/ecs_task_v4.json");

/// An EC2 task from an older agent: short cluster name, old-style task ARN, numeric revision,
/// no launch type or availability zone.
const EC2_TASK: &str = r#"{
    "Cluster": "default",
    "TaskARN": "arn:aws:ecs:us-west-2:111122223333:task/158d1c8083dd49d6b527399fd6414f5c",
    "Family": "curltest",
    "Revision": 26,
    "DesiredStatus": "RUNNING",
    "KnownStatus": "RUNNING",
    "Containers": [{"DockerId": "ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66", "Name": "curl"}]
}"#;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn fargate() -> TaskMetadata {
    TaskMetadata::from_json(FARGATE_TASK).unwrap()
}

fn apply(filter: &EcsFilter, record: &str) -> serde_json::Value {
    let mut out = Vec::new();
    assert_eq!(
        filter.apply(&msgpack(record), &mut out),
        RecordOutcome::Replaced
    );
    json(&out)
}

#[test]
fn a_fargate_task_response_gives_the_cluster_short_name_and_task_id() {
    let m = fargate();
    assert_eq!(
        m.cluster,
        "arn:aws:ecs:us-west-2:111122223333:cluster/prod-web"
    );
    assert_eq!(m.cluster_name, "prod-web");
    assert_eq!(
        m.task_arn,
        "arn:aws:ecs:us-west-2:111122223333:task/prod-web/e9028f8d5d8e4f258373e7b93ce9a3c3"
    );
    assert_eq!(m.task_id, "e9028f8d5d8e4f258373e7b93ce9a3c3");
    assert_eq!(m.task_definition(), "checkout:42");
    assert_eq!(m.launch_type.as_deref(), Some("FARGATE"));
    assert_eq!(m.availability_zone.as_deref(), Some("us-west-2b"));
    assert_eq!(m.service_name, None);
    let names: Vec<&str> = m.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "log_router"]);
}

#[test]
fn an_ec2_task_response_with_few_fields_parses_too() {
    let m = TaskMetadata::from_json(EC2_TASK.as_bytes()).unwrap();
    assert_eq!(m.cluster_name, "default");
    assert_eq!(m.task_id, "158d1c8083dd49d6b527399fd6414f5c");
    assert_eq!(m.revision, "26");
    assert_eq!((m.launch_type, m.availability_zone), (None, None));
    assert_eq!(m.containers[0].docker_name, None);
}

#[test]
fn broken_responses_are_refused_with_the_reason() {
    let err = |body: &str| {
        TaskMetadata::from_json(body.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert!(err("<html>").starts_with("ECS task metadata is not valid: "));
    assert_eq!(
        err(r#"{"Cluster":"c","Family":"f","Revision":"1"}"#),
        "ECS task metadata is not valid: no `TaskARN` field"
    );
    assert_eq!(
        err(r#"{"Cluster":"c","TaskARN":"nope","Family":"f","Revision":"1"}"#),
        "ECS task metadata is not valid: TaskARN `nope` is not a task ARN"
    );
    assert!(
        err(r#"{"Cluster":"","TaskARN":"a/b","Family":"f","Revision":"1"}"#).contains("Cluster")
    );
    assert!(
        err(r#"{"Cluster":"c","TaskARN":"a/b","Family":"f","Revision":[1]}"#).contains("Revision")
    );
}

#[test]
fn default_keys_are_added_to_each_record() {
    let f = EcsRules::parse(&[]).unwrap().render(&fargate());
    assert_eq!(
        apply(&f, r#"{"log":"hello","container_name":"app"}"#),
        serde_json::json!({
            "log": "hello",
            "container_name": "app",
            "ecs_cluster": "prod-web",
            "ecs_task_arn": "arn:aws:ecs:us-west-2:111122223333:task/prod-web/e9028f8d5d8e4f258373e7b93ce9a3c3",
            "ecs_task_id": "e9028f8d5d8e4f258373e7b93ce9a3c3",
            "ecs_task_definition": "checkout:42",
            "ecs_launch_type": "FARGATE",
            "ecs_availability_zone": "us-west-2b",
        })
    );
}

#[test]
fn values_the_endpoint_did_not_report_add_no_key() {
    let m = TaskMetadata::from_json(EC2_TASK.as_bytes()).unwrap();
    let f = EcsRules::parse(&[]).unwrap().render(&m);
    let v = apply(&f, r#"{"log":"x"}"#);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        // serde_json sorts keys.
        [
            "ecs_cluster",
            "ecs_task_arn",
            "ecs_task_definition",
            "ecs_task_id",
            "log"
        ]
    );
    let f = EcsRules::parse(&strings(&["where zone-$AvailabilityZone", "task $TaskID"]))
        .unwrap()
        .render(&m);
    assert_eq!(
        apply(&f, r#"{"log":"x"}"#),
        serde_json::json!({"log":"x","task":"158d1c8083dd49d6b527399fd6414f5c"})
    );
}

#[test]
fn fluent_bit_example_1_task_id_and_cluster_name() {
    let rules =
        EcsRules::parse(&strings(&["ecs_task_id $TaskID", "cluster $ClusterName"])).unwrap();
    let f = rules.render(&fargate());
    assert_eq!(
        apply(
            &f,
            r#"{"date":1665003546.0,"log":"some message from your container"}"#
        ),
        serde_json::json!({
            "date": 1665003546.0,
            "log": "some message from your container",
            "ecs_task_id": "e9028f8d5d8e4f258373e7b93ce9a3c3",
            "cluster": "prod-web",
        })
    );
}

#[test]
fn fluent_bit_example_2_template_joins_variables_with_text() {
    let f = EcsRules::parse(&strings(&[
        "resource $ClusterName.$TaskDefinitionFamily.$TaskID,v$TaskDefinitionVersion",
    ]))
    .unwrap()
    .render(&fargate());
    assert_eq!(
        apply(&f, r#"{"log":"m"}"#)["resource"],
        "prod-web.checkout.e9028f8d5d8e4f258373e7b93ce9a3c3,v42"
    );
    // Its `$ECSContainerName` is per container (EC2 introspection API): refused, with why.
    let err = EcsRules::parse(&strings(&["resource $ClusterName.$ECSContainerName"])).unwrap_err();
    assert!(matches!(&err, EcsError::UnsupportedVariable { var, .. } if var == "ECSContainerName"));
    assert!(err.to_string().contains("introspection API"), "{err}");
}

#[test]
fn a_key_the_record_has_keeps_the_record_value() {
    let f = EcsRules::parse(&strings(&[
        "ecs_cluster $ClusterName",
        "ecs_task_id $TaskID",
    ]))
    .unwrap()
    .render(&fargate());
    assert_eq!(
        apply(&f, r#"{"ecs_cluster":"mine","log":"x"}"#),
        serde_json::json!({"ecs_cluster":"mine","log":"x","ecs_task_id":"e9028f8d5d8e4f258373e7b93ce9a3c3"})
    );
    let mut out = b"junk".to_vec();
    let full = msgpack(r#"{"ecs_task_id":"t","ecs_cluster":"c"}"#);
    assert_eq!(f.apply(&full, &mut out), RecordOutcome::Unchanged);
    assert_eq!(out, b"junk", "the output buffer is not touched");
    assert_eq!(f.apply(&[0x92, 1, 2], &mut out), RecordOutcome::Unchanged);
    assert_eq!(
        f.apply(&full[..full.len() - 1], &mut out),
        RecordOutcome::Unchanged
    );
    assert_eq!(f.apply(&[], &mut out), RecordOutcome::Unchanged);
}

#[test]
fn a_map_that_grows_past_fifteen_entries_gets_a_wider_header() {
    let fields: Vec<String> = (0..14).map(|i| format!("\"k{i}\":{i}")).collect();
    let rec = msgpack(&format!("{{{}}}", fields.join(",")));
    let f = EcsRules::parse(&[]).unwrap().render(&fargate());
    let mut out = Vec::new();
    f.apply(&rec, &mut out);
    let v = json(&out);
    assert_eq!(v.as_object().unwrap().len(), 20);
    assert_eq!(v["k13"], 13);
    assert_eq!(v["ecs_availability_zone"], "us-west-2b");
}

#[test]
fn variables_are_exposed_for_other_templates() {
    let vars = metadata::variables(&fargate());
    let get = |name: &str| {
        vars.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("ClusterName"), Some("prod-web"));
    assert_eq!(get("TaskID"), Some("e9028f8d5d8e4f258373e7b93ce9a3c3"));
    assert_eq!(get("TaskDefinitionFamily"), Some("checkout"));
    assert_eq!(get("TaskDefinitionVersion"), Some("42"));
    assert_eq!(get("TaskDefinition"), Some("checkout:42"));
    assert_eq!(get("LaunchType"), Some("FARGATE"));
    assert_eq!(get("ServiceName"), None, "absent values are left out");
    let f = EcsRules::parse(&[]).unwrap().render(&fargate());
    assert_eq!(f.variables(), vars.as_slice());
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    let err = |rules: &[&str]| EcsRules::parse(&strings(rules)).unwrap_err().to_string();
    assert_eq!(
        err(&["ecs_task_id"]),
        "`ecs_task_id`: an ADD rule needs a key and a value separated by a space"
    );
    assert_eq!(
        err(&["k $TaskId"]),
        "ADD rule `k $TaskId`: unknown variable `$TaskId`"
    );
    assert_eq!(
        err(&["k $TaskID", "k $TaskARN"]),
        "ADD key `k` is given twice"
    );
    let many: Vec<String> = (0..65).map(|i| format!("k{i} v")).collect();
    assert_eq!(EcsRules::parse(&many).unwrap_err(), EcsError::TooManyRules);
    assert!(EcsRules::parse(&many[..64]).is_ok());
}

#[test]
fn a_dollar_without_a_name_is_plain_text() {
    let f = EcsRules::parse(&strings(&[
        "note costs $ 5 in $$ or $",
        "plain  two  spaces",
    ]))
    .unwrap()
    .render(&fargate());
    let v = apply(&f, r#"{}"#);
    assert_eq!(v["note"], "costs $ 5 in $$ or $");
    assert_eq!(v["plain"], "two  spaces");
}

#[test]
fn sixty_four_rules_all_fit_in_the_mask() {
    let many: Vec<String> = (0..64).map(|i| format!("k{i} $TaskID")).collect();
    let f = EcsRules::parse(&many).unwrap().render(&fargate());
    let v = apply(&f, r#"{"k63":"own"}"#);
    assert_eq!(v.as_object().unwrap().len(), 64);
    assert_eq!(v["k63"], "own");
    assert_eq!(v["k0"], "e9028f8d5d8e4f258373e7b93ce9a3c3");
}
