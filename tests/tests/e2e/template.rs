//! infra/template.yaml against the code: every variable a function needs is
//! set for it (asked of the real binaries, which list what they miss), every
//! stage queue has exactly one consumer and a dead-letter queue, the table
//! the code names exists with the indexes the code queries, and the
//! operational settings the README promises are there. (`cfn-lint` and
//! `sam validate` check the template itself in scripts/test.sh.)

use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn template() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
        serde_norway::from_str(&text).unwrap()
    })
}

/// `!Ref X` → "X", `!GetAtt X.Arn` → "X.Arn", plain strings as they are.
fn reference(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => t.value.as_str().map(str::to_string),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn resources(kind: &str) -> BTreeMap<String, &'static Value> {
    template()["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

fn env_of(function: &Value) -> BTreeMap<String, Value> {
    let mut env = BTreeMap::new();
    for vars in [
        &template()["Globals"]["Function"]["Environment"]["Variables"],
        &function["Properties"]["Environment"]["Variables"],
    ] {
        if let Some(m) = vars.as_mapping() {
            for (k, v) in m {
                env.insert(k.as_str().unwrap().to_string(), v.clone());
            }
        }
    }
    env
}

fn binary_of(function: &Value) -> String {
    let uri = function["Properties"]["CodeUri"].as_str().unwrap();
    uri.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

/// The variables a function's binary refuses to start without: run with an
/// empty environment, it names every one.
fn required_by(binary: &str) -> BTreeSet<String> {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let path = target.join("debug").join(binary);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --all-targets` first (scripts/test.sh does)",
        path.display()
    );
    let out = Command::new(path).env_clear().output().unwrap();
    assert!(
        !out.status.success(),
        "{binary} started without configuration"
    );
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("invalid configuration"), "{binary}: {text}");
    text.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.starts_with("OMS_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_variable_a_function_needs_is_set_for_it() {
    let functions = resources("AWS::Serverless::Function");
    assert_eq!(functions.len(), 7, "{:?}", functions.keys());
    for (name, f) in functions {
        let binary = binary_of(f);
        let required = required_by(&binary);
        assert!(required.contains("OMS_TABLE"), "{binary} names its table");
        let env = env_of(f);
        let missing: Vec<_> = required.iter().filter(|v| !env.contains_key(*v)).collect();
        assert!(missing.is_empty(), "{name} ({binary}) lacks {missing:?}");
        assert_eq!(reference(&env["OMS_TABLE"]).as_deref(), Some("Table"));
        // Secrets come from Secrets Manager, never as literals.
        for secret in [
            "OMS_API_KEYS",
            "OMS_STRIPE_WEBHOOK_SECRET",
            "OMS_WAREHOUSE_SECRET",
        ] {
            if let Some(v) = env.get(secret) {
                let text = reference(v).unwrap();
                assert!(
                    text.starts_with("{{resolve:secretsmanager:"),
                    "{name} {secret} = {text}"
                );
            }
        }
    }
}

#[test]
fn every_stage_queue_has_one_consumer_a_dead_letter_queue_and_an_alarm() {
    let queues = resources("AWS::SQS::Queue");
    let functions = resources("AWS::Serverless::Function");
    let timeout = template()["Globals"]["Function"]["Timeout"]
        .as_u64()
        .unwrap();
    let alarms = resources("AWS::CloudWatch::Alarm");
    let dlqs: BTreeSet<String> = queues
        .values()
        .filter_map(|q| reference(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .map(|r| r.trim_end_matches(".Arn").to_string())
        .collect();
    let mut consumed_stages = BTreeSet::new();
    for (name, q) in &queues {
        let consumers: Vec<(&String, &Value)> = functions
            .iter()
            .flat_map(|(f, def)| {
                def["Properties"]["Events"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(move |(_, e)| (f, e))
            })
            .filter(|(_, e)| e["Type"] == "SQS")
            .filter(|(_, e)| reference(&e["Properties"]["Queue"]) == Some(format!("{name}.Arn")))
            .collect();
        if dlqs.contains(name) {
            assert!(consumers.is_empty(), "dead-letter queue {name} is consumed");
            let alarmed = alarms.values().any(|a| {
                reference(&a["Properties"]["Dimensions"][0]["Value"])
                    == Some(format!("{name}.QueueName"))
            });
            assert!(alarmed, "no alarm on {name}");
            continue;
        }
        assert_eq!(
            consumers.len(),
            1,
            "{name} has {} consumers",
            consumers.len()
        );
        let (function, event) = consumers[0];
        let props = &q["Properties"];
        assert!(
            props["RedrivePolicy"]["maxReceiveCount"].as_u64().is_some(),
            "{name}"
        );
        assert!(
            props["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout,
            "{name}: visibility timeout below 6x the function timeout"
        );
        assert_eq!(
            event["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures",
            "{name}"
        );
        // The consumer knows the queue and its DLQ by the variables the code reads.
        let env = env_of(functions[function]);
        let stage = oms_aws::QUEUES
            .into_iter()
            .find(|q| {
                reference(env.get(&oms_aws::queue_vars(*q).0).unwrap_or(&Value::Null)).as_deref()
                    == Some(name)
            })
            .unwrap_or_else(|| panic!("{function} does not read {name}'s URL"));
        consumed_stages.insert(stage.as_str());
    }
    let code: BTreeSet<&str> = oms_aws::QUEUES.iter().map(|q| q.as_str()).collect();
    assert_eq!(
        consumed_stages, code,
        "the template's queues are the code's"
    );
}

#[test]
fn the_table_has_the_keys_indexes_and_safety_settings_the_code_uses() {
    let tables = resources("AWS::DynamoDB::Table");
    assert_eq!(tables.keys().collect::<Vec<_>>(), ["Table"]);
    let p = &tables["Table"]["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["TimeToLiveSpecification"]["AttributeName"], "expires_at");
    assert_eq!(
        p["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    assert_eq!(p["KeySchema"][0]["AttributeName"], "pk");
    let indexes = p["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), oms_aws::GSIS.len());
    for spec in oms_aws::GSIS {
        let gsi = indexes
            .iter()
            .find(|g| g["IndexName"] == spec.index)
            .unwrap_or_else(|| panic!("index {} missing", spec.index));
        assert_eq!(gsi["KeySchema"][0]["AttributeName"], spec.partition);
        assert_eq!(gsi["KeySchema"][1]["AttributeName"].as_str(), spec.sort);
        let projected: Vec<&str> = gsi["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(projected, spec.projected, "{}", spec.index);
    }
    // The relay reads the stream; every function has an errors alarm.
    let functions = resources("AWS::Serverless::Function");
    let relay = functions
        .values()
        .find(|f| binary_of(f) == "relay")
        .unwrap();
    let source = relay["Properties"]["Events"]["Outbox"]["Properties"]["Stream"].clone();
    assert_eq!(reference(&source).as_deref(), Some("Table.StreamArn"));
    let alarms = resources("AWS::CloudWatch::Alarm");
    for name in functions.keys() {
        assert!(
            alarms
                .values()
                .any(|a| a["Properties"]["MetricName"] == "Errors"
                    && reference(&a["Properties"]["Dimensions"][0]["Value"]).as_deref()
                        == Some(name)),
            "no errors alarm for {name}"
        );
    }
}
