//! Every number the emitter writes reads back as the same type and value in PyYAML (YAML
//! 1.1, what `wandb sweep` and the local controller use) and in YAML 1.2. PyYAML's resolver
//! regexes were captured once by `scripts/sweep_fixtures.py` (tests/fixtures/yaml).

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use regex::Regex;
use serde_json::Value as Json;
use wandb_sweep::{Number, Value, check, parse_value};

struct Resolvers {
    pyyaml: Vec<(&'static str, Regex)>,
    yaml12_int: Regex,
    yaml12_float: Regex,
    samples: Vec<Json>,
}

fn resolvers() -> Resolvers {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml/resolvers.json");
    let fixture: Json =
        serde_json::from_str(&fs::read_to_string(path).expect("fixture")).expect("json");
    // PyYAML's patterns are verbose-mode (re.X); it tries them in this order.
    let py = |kind: &str| {
        let pattern = fixture["pyyaml"][kind].as_str().expect("pattern");
        Regex::new(&format!("(?x){pattern}")).expect("regex")
    };
    let core = |kind: &str| {
        Regex::new(fixture["yaml12_core"][kind].as_str().expect("pattern")).expect("regex")
    };
    Resolvers {
        pyyaml: ["bool", "float", "int", "null"]
            .into_iter()
            .map(|k| (k, py(k)))
            .collect(),
        yaml12_int: core("int"),
        yaml12_float: core("float"),
        samples: fixture["samples"].as_array().expect("samples").clone(),
    }
}

impl Resolvers {
    /// The Python type PyYAML gives a plain scalar.
    fn pyyaml_type(&self, text: &str) -> &'static str {
        self.pyyaml.iter().find(|(_, rx)| rx.is_match(text)).map_or(
            "str",
            |(kind, _)| match *kind {
                "null" => "NoneType",
                other => other,
            },
        )
    }

    /// Checks that `text` is read as `x` by PyYAML, by YAML 1.2 and by this crate.
    fn assert_float(&self, text: &str, x: f64) {
        assert_eq!(
            self.pyyaml_type(text),
            "float",
            "PyYAML reads {text:?} as a string"
        );
        assert!(self.yaml12_float.is_match(text), "YAML 1.2: {text:?}");
        assert!(!self.yaml12_int.is_match(text), "YAML 1.2 int: {text:?}");
        if x.is_finite() {
            let back: f64 = text.replace('_', "").parse().expect("float text");
            assert_eq!(back.to_bits(), x.to_bits(), "{text:?} is not {x:e}");
        }
        match parse_value(text) {
            Ok(Value::Number(Number::Float(y))) => {
                assert!(
                    y.to_bits() == x.to_bits() || (x.is_nan() && y.is_nan()),
                    "{text}"
                );
            }
            other => panic!("{text:?} read back as {other:?}"),
        }
    }
}

fn emitted(v: &Value) -> String {
    v.to_yaml().trim_end().to_owned()
}

#[test]
fn the_captured_regexes_classify_the_samples_as_pyyaml_did() {
    let r = resolvers();
    assert!(r.samples.len() > 20);
    for s in &r.samples {
        let text = s["text"].as_str().expect("text");
        assert_eq!(
            r.pyyaml_type(text),
            s["type"].as_str().expect("type"),
            "{text}"
        );
    }
}

#[test]
fn floats_read_back_as_the_same_float_everywhere() {
    let r = resolvers();
    let two63 = 2f64.powi(63);
    let xs = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        4.35,
        1e15,
        1e16,
        -1e16,
        2e300,
        -2.5e17,
        1e21,
        1e22,
        1e-5,
        1e-7,
        3e6,
        5e-324,
        -5e-324,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::MAX,
        f64::MIN,
        two63,
        -two63,
        2f64.powi(64),
        9_007_199_254_740_993.0,
        123_456_789_012_345_680.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    for x in xs {
        r.assert_float(&emitted(&Value::from(x)), x);
    }
    // u64 beyond i64::MAX becomes the nearest float.
    r.assert_float(&emitted(&Value::from(u64::MAX)), u64::MAX as f64);
}

#[test]
fn integers_read_back_as_the_same_integer_everywhere() {
    let r = resolvers();
    for i in [0, 1, -1, 10, 1_000_000, i64::MAX, i64::MIN, i64::MIN + 1] {
        let text = emitted(&Value::from(i));
        assert_eq!(r.pyyaml_type(&text), "int", "{text}");
        assert!(r.yaml12_int.is_match(&text), "{text}");
        assert_eq!(text.parse::<i64>().expect("int"), i);
        assert_eq!(parse_value(&text), Ok(Value::from(i)));
    }
}

#[test]
fn the_fix_for_a_yaml_1_1_exponent_is_a_float_in_pyyaml() {
    let r = resolvers();
    for text in [
        "3e6", "1e-5", "-2E3", "+1e6", "1.5e3", ".5e3", "2.5E3", "7e+2", "-.5",
    ] {
        let yaml = format!("method: random\nparameters:\n  x: {{value: {text}}}\n");
        let report = check(&yaml);
        let warning = report
            .warnings()
            .into_iter()
            .find(|d| d.path == "parameters.x.value")
            .unwrap_or_else(|| panic!("no warning for {text}"));
        let fix = warning
            .message
            .split("e.g. `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_else(|| panic!("no fix in {:?}", warning.message));
        let x: f64 = text.parse().expect("float");
        r.assert_float(fix, x);
    }
}

proptest! {
    #[test]
    fn any_float_reads_back_the_same(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        resolvers().assert_float(&emitted(&Value::from(x)), x);
    }
}
