//! Configs built in code: validation catches what parsing catches, and nothing panics on
//! them (grid, search, ppf), whatever the numbers.

use indexmap::IndexMap;
use proptest::prelude::*;
use wandb_sweep::{
    BayesSampler, EarlyTerminate, Goal, Grid, GridSampler, Hyperband, Method, Metric, Number,
    Parameter, Parameters, RandomSampler, Run, RunState, Sampler, SweepConfig, Value, next_run,
};

fn config(method: Method, params: &[(&str, Parameter)]) -> SweepConfig {
    let parameters: Parameters = params
        .iter()
        .map(|(k, p)| ((*k).to_owned(), p.clone()))
        .collect();
    SweepConfig::new(method, parameters)
}

/// The error messages at `path` when the config is validated.
fn errors_at(cfg: &SweepConfig, path: &str) -> Vec<String> {
    cfg.validate()
        .into_iter()
        .filter(|d| d.is_error() && d.path == path)
        .map(|d| d.message)
        .collect()
}

fn f(x: f64) -> Number {
    Number::Float(x)
}

#[test]
fn non_finite_numbers_are_located_errors() {
    let cases = [
        (
            Parameter::Uniform {
                min: f(0.0),
                max: f(f64::INFINITY),
            },
            "parameters.p.max",
        ),
        (
            Parameter::Uniform {
                min: f(f64::NAN),
                max: f(1.0),
            },
            "parameters.p.min",
        ),
        (
            Parameter::QUniform {
                min: f(0.0),
                max: f(f64::INFINITY),
                q: None,
            },
            "parameters.p.max",
        ),
        (
            Parameter::QUniform {
                min: f(0.0),
                max: f(1.0),
                q: Some(f(f64::INFINITY)),
            },
            "parameters.p.q",
        ),
        (
            Parameter::Normal {
                mu: Some(f(f64::NAN)),
                sigma: None,
            },
            "parameters.p.mu",
        ),
        (
            Parameter::Normal {
                mu: None,
                sigma: Some(f(f64::INFINITY)),
            },
            "parameters.p.sigma",
        ),
        (
            Parameter::Beta {
                a: Some(f(f64::INFINITY)),
                b: None,
            },
            "parameters.p.a",
        ),
    ];
    for (p, path) in cases {
        let cfg = config(Method::Random, &[("p", p.clone())]);
        let errors = errors_at(&cfg, path);
        assert!(
            errors.iter().any(|m| m.contains("finite")),
            "{p:?}: {errors:?} (all: {:?})",
            cfg.validate()
        );
    }
    // The same in YAML.
    let yaml = "method: random\nparameters:\n  p: {distribution: uniform, min: 0, max: .inf}\n";
    let err = SweepConfig::from_yaml(yaml).unwrap_err().to_string();
    assert!(
        err.contains("parameters.p.max") && err.contains("finite"),
        "{err}"
    );
}

#[test]
fn a_nan_probability_is_not_called_negative() {
    let cfg = config(
        Method::Random,
        &[(
            "p",
            Parameter::CategoricalWProbabilities {
                values: vec![Value::from(1), Value::from(2)],
                probabilities: vec![f(f64::NAN), f(1.0)],
            },
        )],
    );
    let errors = errors_at(&cfg, "parameters.p.probabilities[0]");
    assert_eq!(errors.len(), 1, "{:?}", cfg.validate());
    assert!(!errors[0].contains("negative"), "{}", errors[0]);
    assert!(
        errors[0].contains("NaN") || errors[0].contains("nan"),
        "{}",
        errors[0]
    );
}

#[test]
fn validate_catches_what_from_yaml_catches() {
    let ok = Parameter::Categorical {
        values: vec![Value::from(1)],
    };
    let bad_name = config(Method::Random, &[("--lr", ok.clone())]);
    assert_eq!(
        errors_at(&bad_name, "parameters.--lr").len(),
        1,
        "{:?}",
        bad_name.validate()
    );
    let empty_group = config(
        Method::Random,
        &[(
            "g",
            Parameter::Nested {
                parameters: Parameters::new(),
            },
        )],
    );
    assert_eq!(errors_at(&empty_group, "parameters.g.parameters").len(), 1);
    let mut zero_cap = config(Method::Random, &[("a", ok)]);
    zero_cap.run_cap = Some(0);
    assert_eq!(
        errors_at(&zero_cap, "run_cap").len(),
        1,
        "{:?}",
        zero_cap.validate()
    );
    // The YAML forms are errors too, each reported once.
    for (yaml, path) in [
        (
            "method: random\nparameters:\n  --lr: {value: 1}\n",
            "parameters.--lr",
        ),
        (
            "method: random\nparameters:\n  g:\n    parameters: {}\n",
            "parameters.g.parameters",
        ),
        (
            "method: random\nrun_cap: 0\nparameters:\n  a: {value: 1}\n",
            "run_cap",
        ),
    ] {
        let report = wandb_sweep::check(yaml);
        let n = report.errors().iter().filter(|d| d.path == path).count();
        assert_eq!(n, 1, "{yaml}: {:?}", report.diagnostics());
    }
}

#[test]
fn grid_with_q_0_or_an_infinite_bound_is_an_error_not_a_panic() {
    let q0 = config(
        Method::Grid,
        &[(
            "p",
            Parameter::QUniform {
                min: Number::Int(0),
                max: Number::Int(4),
                q: Some(Number::Int(0)),
            },
        )],
    );
    assert!(!errors_at(&q0, "parameters.p.q").is_empty());
    assert!(Grid::new(&q0).is_err());
    let inf = config(
        Method::Grid,
        &[(
            "p",
            Parameter::QUniform {
                min: f(0.0),
                max: f(f64::INFINITY),
                q: Some(f(1.0)),
            },
        )],
    );
    assert!(
        Grid::new(&inf).is_err(),
        "an infinite q_uniform is no empty grid"
    );
    assert!(next_run(&inf, &[], 0).is_err());
    // q below the precision of min: every point would be the same value.
    let flat = config(
        Method::Grid,
        &[(
            "p",
            Parameter::QUniform {
                min: f(1e16),
                max: f(2e16),
                q: None,
            },
        )],
    );
    assert!(Grid::new(&flat).is_err());
    assert_eq!(
        errors_at(&flat, "parameters.p.q").len(),
        1,
        "{:?}",
        flat.validate()
    );
}

#[test]
fn ppf_at_the_i64_extremes_does_not_overflow() {
    let p = Parameter::IntUniform {
        min: i64::MIN,
        max: i64::MAX,
    };
    for u in [0.0, 1e-300, 0.5, 1.0] {
        assert!(matches!(p.ppf(u), Ok(Value::Number(Number::Int(_)))), "{u}");
    }
    let q = Parameter::QUniform {
        min: Number::Int(i64::MIN),
        max: Number::Int(i64::MAX),
        q: Some(Number::Int(1)),
    };
    assert!(q.ppf(0.5).is_ok());
}

// ---- no panics for any config built in code

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        prop::sample::select(vec![i64::MIN, i64::MAX, -1, 0, 1, 2, 10]).prop_map(Number::Int),
        any::<f64>().prop_map(Number::Float),
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            1e-320,
            1e300,
            -1e300,
            0.5,
            1.0
        ])
        .prop_map(Number::Float),
        (-10.0..10.0f64).prop_map(Number::Float),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        "[a-z]{0,3}".prop_map(Value::String),
    ]
}

fn leaf() -> impl Strategy<Value = Parameter> {
    let o = || prop::option::of(number());
    let ints = || prop_oneof![any::<i64>(), -5i64..5, Just(i64::MIN), Just(i64::MAX)];
    prop_oneof![
        value().prop_map(|value| Parameter::Constant { value }),
        prop::collection::vec(value(), 0..4).prop_map(|values| Parameter::Categorical { values }),
        (
            prop::collection::vec(value(), 0..4),
            prop::collection::vec(number(), 0..4)
        )
            .prop_map(
                |(values, probabilities)| Parameter::CategoricalWProbabilities {
                    values,
                    probabilities
                }
            ),
        (ints(), ints()).prop_map(|(min, max)| Parameter::IntUniform { min, max }),
        (number(), number()).prop_map(|(min, max)| Parameter::Uniform { min, max }),
        (number(), number(), o()).prop_map(|(min, max, q)| Parameter::QUniform { min, max, q }),
        (number(), number()).prop_map(|(min, max)| Parameter::LogUniform { min, max }),
        (number(), number()).prop_map(|(min, max)| Parameter::LogUniformValues { min, max }),
        (number(), number(), o()).prop_map(|(min, max, q)| Parameter::QLogUniform { min, max, q }),
        (number(), number(), o()).prop_map(|(min, max, q)| Parameter::QLogUniformValues {
            min,
            max,
            q
        }),
        (number(), number()).prop_map(|(min, max)| Parameter::InvLogUniform { min, max }),
        (number(), number()).prop_map(|(min, max)| Parameter::InvLogUniformValues { min, max }),
        (o(), o()).prop_map(|(mu, sigma)| Parameter::Normal { mu, sigma }),
        (o(), o(), o()).prop_map(|(mu, sigma, q)| Parameter::QNormal { mu, sigma, q }),
        (o(), o()).prop_map(|(mu, sigma)| Parameter::LogNormal { mu, sigma }),
        (o(), o(), o()).prop_map(|(mu, sigma, q)| Parameter::QLogNormal { mu, sigma, q }),
        (o(), o()).prop_map(|(a, b)| Parameter::Beta { a, b }),
        (o(), o(), o()).prop_map(|(a, b, q)| Parameter::QBeta { a, b, q }),
    ]
}

fn parameters() -> impl Strategy<Value = Parameters> {
    let leaves = prop::collection::vec(("[a-c]", leaf()), 0..4)
        .prop_map(|v| v.into_iter().collect::<Parameters>());
    leaves.prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec(
            (
                "[a-d]",
                prop_oneof![
                    leaf(),
                    inner.prop_map(|parameters| Parameter::Nested { parameters })
                ],
            ),
            0..3,
        )
        .prop_map(|v| v.into_iter().collect::<Parameters>())
    })
}

fn built_config() -> impl Strategy<Value = SweepConfig> {
    (
        parameters(),
        prop::sample::select(vec![
            Method::Grid,
            Method::Random,
            Method::Bayes,
            Method::Custom,
        ]),
        any::<bool>(),
        prop::option::of(any::<u64>()),
        prop::option::of((
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
            prop::option::of(number()),
        )),
        prop::option::of(number()),
    )
        .prop_map(|(parameters, method, maximize, run_cap, hb, target)| {
            let mut cfg = SweepConfig::new(method, parameters);
            cfg.run_cap = run_cap;
            cfg.metric = Some(Metric {
                name: "loss".into(),
                goal: Some(if maximize {
                    Goal::Maximize
                } else {
                    Goal::Minimize
                }),
                target,
                impute: None,
                impute_while_running: None,
            });
            cfg.early_terminate = hb.map(|(min_iter, max_iter, s, eta)| {
                EarlyTerminate::Hyperband(Hyperband {
                    min_iter,
                    max_iter,
                    s,
                    eta,
                    strict: None,
                })
            });
            cfg
        })
}

fn runs(params: &[Value]) -> Vec<Run> {
    let states = [
        RunState::Finished,
        RunState::Running,
        RunState::Failed,
        RunState::Pending,
    ];
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut r = Run::new(format!("r{i}"), states[i % states.len()].clone(), p.clone());
            let loss = [f64::NAN, 1.0, f64::INFINITY, -3.0][i % 4];
            r.history = vec![Value::Map(IndexMap::from([(
                "loss".to_owned(),
                Value::from(loss),
            )]))];
            r
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn nothing_panics_on_any_config_built_in_code(cfg in built_config(), seed in any::<u64>()) {
        let clean = !cfg.validate().iter().any(|d| d.is_error());
        let mut seen = Vec::new();
        if let Ok(grid) = Grid::new(&cfg) {
            let _ = grid.size();
            let _ = grid.to_string();
            for p in grid.points().take(3) {
                prop_assert_eq!(grid.index_of(&p).is_some(), true, "{} not on its grid", p);
                seen.push(p);
            }
            let _ = grid.point(u128::MAX);
        }
        let runs = runs(&seen);
        if let Ok(mut s) = GridSampler::new(&cfg) {
            let _ = s.ask(&runs);
        }
        let _ = RandomSampler::new(&cfg, seed).ask(&runs);
        let _ = RandomSampler::new(&cfg, seed).without_replacement().ask(&runs);
        if let Ok(mut s) = BayesSampler::new(&cfg, seed) {
            let _ = s.ask(&runs);
        }
        let next = next_run(&cfg, &runs, seed);
        if clean && cfg.method != Method::Custom {
            prop_assert!(next.is_ok(), "valid config, but {:?}", next);
        }
        if let Some(EarlyTerminate::Hyperband(hb)) = &cfg.early_terminate {
            let _ = hb.decide(cfg.metric.as_ref().expect("metric"), &runs);
            let _ = hb.describe();
        }
        for flat in wandb_sweep::flatten(&cfg.parameters) {
            for u in [0.0, 1e-300, 0.25, 0.5, 1.0 - 1e-16, 1.0] {
                let _ = flat.parameter.ppf(u);
            }
            let _ = flat.parameter.cdf(&Value::from(0.5));
        }
    }
}
