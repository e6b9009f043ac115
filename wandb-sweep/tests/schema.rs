//! The exported JSON Schema is stable (snapshot) and describes what the checker accepts.

use serde_json::Value;

#[test]
fn json_schema_snapshot() {
    insta::assert_json_snapshot!(wandb_sweep::json_schema());
}

#[test]
fn schema_lists_every_top_level_key_and_distribution() {
    let schema = wandb_sweep::json_schema();
    let props = schema["properties"].as_object().expect("properties");
    for key in [
        "method",
        "parameters",
        "metric",
        "early_terminate",
        "run_cap",
        "apiVersion",
        "scheduler",
    ] {
        assert!(props.contains_key(key), "missing {key}");
    }
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
    let text = schema.to_string();
    for d in wandb_sweep::Distribution::ALL {
        assert!(
            text.contains(&format!("\"const\":\"{d}\"")),
            "missing distribution {d}"
        );
    }
}
