//! Property tests: YAML → model → YAML → model is the identity (JSON too), and no text makes
//! the checker panic.

use indexmap::IndexMap;
use proptest::prelude::*;
use wandb_sweep::{
    EarlyTerminate, Goal, Hyperband, Method, Metric, Number, Parameter, Parameters, SweepConfig,
    Value, check,
};

/// Strings that YAML 1.1 or 1.2 would read as something else if written bare.
const TRICKY: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "Yes",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "null",
    "~",
    "",
    "1e-5",
    "3e6",
    "010",
    "0o17",
    "0x1F",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "1.0",
    "-3",
    "+1",
    "1:30",
    "a: b",
    "- x",
    "#c",
    "x #c",
    "'q'",
    "\"d\"",
    " lead",
    "trail ",
    "multi\nline",
    "tab\there",
    "{a}",
    "[1]",
    "&a",
    "*a",
    "!t",
    "%p",
    "@x",
    "`x",
    "|",
    ">",
    "é",
    "日本",
    "--lr",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TRICKY).prop_map(str::to_owned),
        "[a-zA-Z0-9_ .:#-]{0,12}",
        any::<String>().prop_map(|s| s
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect()),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        -1e6..1e6f64,
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(1.0),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        finite().prop_map(Number::Float)
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec((string(), inner), 0..4)
                .prop_map(|kv| Value::Map(kv.into_iter().collect::<IndexMap<_, _>>())),
        ]
    })
}

fn bounds() -> impl Strategy<Value = (Number, Number)> {
    (-1e6..1e6f64, 1e-3..1e6f64).prop_map(|(lo, w)| (Number::Float(lo), Number::Float(lo + w)))
}

fn positive() -> impl Strategy<Value = Option<Number>> {
    prop::option::of(prop_oneof![
        (1i64..100).prop_map(Number::Int),
        (1e-3..100.0f64).prop_map(Number::Float)
    ])
}

fn leaf_parameter() -> impl Strategy<Value = Parameter> {
    prop_oneof![
        value().prop_map(|value| Parameter::Constant { value }),
        prop::collection::vec(value(), 1..5).prop_map(|values| Parameter::Categorical { values }),
        (-1000i64..1000, 1i64..1000)
            .prop_map(|(min, w)| Parameter::IntUniform { min, max: min + w }),
        bounds().prop_map(|(min, max)| Parameter::Uniform { min, max }),
        (bounds(), positive()).prop_map(|((min, max), q)| Parameter::QUniform { min, max, q }),
        (1e-6..1.0f64, 2.0..1e3f64).prop_map(|(a, b)| Parameter::LogUniformValues {
            min: Number::Float(a),
            max: Number::Float(b)
        }),
        (prop::option::of(number()), positive())
            .prop_map(|(mu, sigma)| Parameter::Normal { mu, sigma }),
        (positive(), positive(), positive()).prop_map(|(a, b, q)| Parameter::QBeta { a, b, q }),
        prop::collection::vec(value(), 2..4).prop_map(|values| {
            let p = 1.0 / values.len() as f64;
            let probabilities = vec![Number::Float(p); values.len()];
            Parameter::CategoricalWProbabilities {
                values,
                probabilities,
            }
        }),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.-]{0,8}"
}

fn parameters() -> impl Strategy<Value = Parameters> {
    let leaf = prop::collection::vec((name(), leaf_parameter()), 1..4)
        .prop_map(|v| v.into_iter().collect::<Parameters>());
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop::collection::vec(
            (
                name(),
                prop_oneof![
                    leaf_parameter(),
                    inner.prop_map(|parameters| Parameter::Nested { parameters })
                ],
            ),
            1..4,
        )
        .prop_map(|v| v.into_iter().collect::<Parameters>())
    })
}

fn config() -> impl Strategy<Value = SweepConfig> {
    (
        parameters(),
        prop::option::of(string()),
        prop::option::of((name(), any::<bool>())),
        prop::option::of(1i64..50),
        prop::option::of(prop::collection::vec(
            string().prop_map(Value::String),
            0..4,
        )),
    )
        .prop_map(|(params, program, metric, min_iter, command)| {
            let mut cfg = SweepConfig::new(Method::Random, params);
            cfg.program = program;
            cfg.command = command;
            cfg.metric = metric.map(|(name, max)| Metric {
                name,
                goal: Some(if max { Goal::Maximize } else { Goal::Minimize }),
                target: None,
                impute: None,
                impute_while_running: None,
            });
            if cfg.metric.is_some() {
                cfg.early_terminate = min_iter.map(|m| {
                    EarlyTerminate::Hyperband(Hyperband {
                        min_iter: Some(m),
                        max_iter: None,
                        s: None,
                        eta: Some(Number::Int(3)),
                        strict: Some(false),
                    })
                });
            }
            cfg
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        max_global_rejects: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn yaml_round_trip_is_identity(cfg in config()) {
        prop_assume!(cfg.validate().iter().all(|d| !d.is_error()));
        let yaml = cfg.to_yaml().unwrap();
        let back = SweepConfig::from_yaml(&yaml);
        prop_assert!(back.is_ok(), "{yaml}\n{:?}", back.err());
        prop_assert_eq!(back.unwrap(), cfg, "{}", yaml);
    }

    #[test]
    fn json_round_trip_is_identity(cfg in config()) {
        prop_assume!(cfg.validate().iter().all(|d| !d.is_error()));
        prop_assume!(!format!("{cfg:?}").contains("inf"));
        let json = cfg.to_json().unwrap();
        let back = SweepConfig::from_json(&json);
        prop_assert!(back.is_ok(), "{json}\n{:?}", back.err());
        prop_assert_eq!(back.unwrap(), cfg);
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let report = check(&text);
        for d in report.diagnostics() {
            prop_assert!(d.location.is_some_and(|l| l.line >= 1 && l.column >= 1), "{d}");
        }
    }

    #[test]
    fn mutated_sweep_files_never_panic(pos in 0usize..2000, byte in prop::sample::select(b"{}[]:,-'\"&*!| \n#0.x".to_vec())) {
        let base = include_str!("fixtures/cases/c07_invalid_many.yaml");
        let mut bytes = base.as_bytes().to_vec();
        let i = pos % bytes.len();
        bytes[i] = byte;
        let text = String::from_utf8_lossy(&bytes);
        let report = check(&text);
        let _rendered: Vec<String> = report.diagnostics().iter().map(|d| d.render("f.yaml", &text)).collect();
        let _grid = report.grid().map(|g| g.size());
    }
}

/// Inputs the fuzzer found; each must check, and a valid one must write back and re-read equal.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    for entry in std::fs::read_dir(dir).expect("fuzz fixtures") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(cfg) = check(&text).into_result() {
            let yaml = cfg.to_yaml().expect("writes");
            assert_eq!(
                SweepConfig::from_yaml(&yaml).expect("own output is valid"),
                cfg,
                "{yaml}"
            );
        }
    }
}
