//! The validation rules users rely on, each with its location, key path and advice.

use wandb_sweep::{Diagnostic, Method, Parameter, Parameters, Severity, SweepConfig, Value, check};

/// The diagnostics at `path`, as `(severity, line, column, message)`.
fn at(text: &str, path: &str) -> Vec<(Severity, usize, usize, String)> {
    check(text)
        .diagnostics()
        .iter()
        .filter(|d| d.path == path)
        .map(|d: &Diagnostic| {
            let l = d.location.expect("located");
            (d.severity, l.line, l.column, d.message.clone())
        })
        .collect()
}

fn only(text: &str, path: &str) -> (Severity, usize, usize, String) {
    let found = at(text, path);
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic at {path}, got {found:?}\nall: {:?}",
        check(text).diagnostics()
    );
    found.into_iter().next().expect("one diagnostic")
}

#[test]
fn nested_parameters_get_every_rule_the_engine_skips() {
    let text = include_str!("fixtures/cases/c17_nested_validation_gaps.yaml");
    let (s, line, col, msg) = only(text, "parameters.outer.parameters.bad_range.min");
    assert_eq!((s, line, col), (Severity::Error, 7, 14));
    assert!(msg.contains("min 5 must be less than max 1"), "{msg}");
    let (_, line, _, msg) = only(text, "parameters.outer.parameters.old_log.distribution");
    assert_eq!(line, 10);
    assert!(msg.contains("log_uniform_values"), "{msg}");
    let (_, _, _, msg) = only(text, "parameters.outer.parameters.bad_probs.probabilities");
    assert!(msg.contains("sum to 1.8"), "{msg}");
}

#[test]
fn engine_runtime_failures_are_validation_errors() {
    let grid = "method: grid\nparameters:\n  lr: {min: 0.0, max: 1.0}\n";
    let (s, line, col, msg) = only(grid, "parameters.lr");
    assert_eq!((s, line, col), (Severity::Error, 3, 7));
    assert!(
        msg.contains("grid search cannot enumerate `uniform`"),
        "{msg}"
    );

    let hb = "method: random\nmetric: {name: loss}\nearly_terminate: {type: hyperband, max_iter: 27, min_iter: 2}\nparameters:\n  a: {values: [1]}\n";
    let (s, _, _, msg) = only(hb, "early_terminate.max_iter");
    assert_eq!(s, Severity::Error);
    assert!(msg.contains("max_iter needs `s`"), "{msg}");

    let bayes = "method: bayes\nparameters:\n  a: {min: 0.0, max: 1.0}\n";
    assert!(
        only(bayes, "method")
            .3
            .contains("bayes search needs `metric`")
    );
}

#[test]
fn metric_mistakes_the_engine_hides() {
    let text = "method: bayes\nmetric:\n  name: loss\n  goal: max\n  direction: down\nparameters:\n  a: {min: 0.0, max: 1.0}\n";
    let (_, line, col, msg) = only(text, "metric.goal");
    assert_eq!((line, col), (4, 9));
    assert!(msg.contains("did you mean `maximize`?"), "{msg}");
    let (_, line, col, msg) = only(text, "metric.direction");
    assert_eq!((line, col), (5, 3));
    assert!(msg.contains("unknown key `direction`"), "{msg}");
}

#[test]
fn did_you_mean_for_keys_and_distributions() {
    let text = "method: random\nparamters: {}\nparameters:\n  lr: {distribution: log_uniform_value, min: 0.001, max: 0.1}\n";
    assert!(
        only(text, "paramters")
            .3
            .contains("did you mean `parameters`?")
    );
    let (_, line, col, msg) = only(text, "parameters.lr.distribution");
    assert_eq!((line, col), (4, 22));
    assert!(msg.contains("did you mean `log_uniform_values`?"), "{msg}");
}

#[test]
fn duplicate_keys_name_both_places() {
    let text = "method: grid\nparameters:\n  a: {values: [1]}\n  a: {values: [2]}\n";
    let (s, line, col, msg) = only(text, "parameters.a");
    assert_eq!((s, line, col), (Severity::Error, 4, 3));
    assert!(msg.contains("first at line 3, column 3"), "{msg}");
}

#[test]
fn mixed_int_float_bounds_are_ambiguous_as_in_the_wandb_client() {
    let text = "method: random\nparameters:\n  lr: {min: 0, max: 1.5}\n";
    let (s, line, _, msg) = only(text, "parameters.lr");
    assert_eq!((s, line), (Severity::Error, 3));
    assert!(msg.contains("ambiguous"), "{msg}");
    let explicit = "method: random\nparameters:\n  lr: {distribution: uniform, min: 0, max: 1.5}\n";
    assert!(check(explicit).is_valid());
}

#[test]
fn yaml_1_1_pitfalls_are_warnings() {
    let text =
        "method: grid\nparameters:\n  lr: {values: [1e-5, 1.0e-4]}\n  flag: {values: [yes, no]}\n";
    let report = check(text);
    assert!(report.is_valid());
    let (s, line, col, msg) = only(text, "parameters.lr.values[0]");
    assert_eq!((s, line, col), (Severity::Warning, 3, 17));
    assert!(
        msg.contains("local controller") && msg.contains("1.0e-5"),
        "{msg}"
    );
    assert!(
        only(text, "parameters.flag.values[0]")
            .3
            .contains("boolean")
    );
    // The cloud reads them as W&B does: 1e-5 a float, yes a boolean.
    let cfg = report.config().unwrap();
    assert_eq!(
        cfg.parameters["flag"],
        Parameter::Categorical {
            values: vec![Value::Bool(true), Value::Bool(false)]
        }
    );
}

#[test]
fn grid_warnings_for_collapsing_values_and_run_cap() {
    let text = "method: grid\nrun_cap: 10\nparameters:\n  s: {values: [3, 3.0, 4]}\n";
    let (s, line, col, msg) = only(text, "parameters.s.values[1]");
    assert_eq!((s, line, col), (Severity::Warning, 4, 19));
    assert!(msg.contains("same grid point"), "{msg}");
    assert!(only(text, "run_cap").3.contains("above the grid size 2"));
    let below = "method: grid\nrun_cap: 1\nparameters:\n  s: {values: [3, 4]}\n";
    assert!(
        only(below, "run_cap")
            .3
            .contains("after 1 of the 2 grid points")
    );
}

#[test]
fn configs_built_in_code_are_validated_without_locations() {
    let mut params = Parameters::new();
    params.insert(
        "lr".into(),
        Parameter::Uniform {
            min: 1.0.into(),
            max: 0.5.into(),
        },
    );
    let cfg = SweepConfig::new(Method::Grid, params);
    let found = cfg.validate();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|d| d.is_error() && d.location.is_none()));
    assert_eq!(found[0].path, "parameters.lr.min");
}

#[test]
fn non_mapping_parameter_is_an_error_not_a_crash() {
    let text = include_str!("fixtures/cases/c20_param_not_mapping.yaml");
    let (_, line, col, msg) = only(text, "parameters.lr");
    assert_eq!((line, col), (4, 7));
    assert!(msg.contains("a parameter must be a mapping"), "{msg}");
}

#[test]
fn impute_latest_or_best_warns_that_missing_values_count_as_zero() {
    let text = "method: bayes\nmetric:\n  name: loss\n  impute: latest\nparameters:\n  x: {min: 0.0, max: 1.0}\n";
    let (s, line, col, msg) = only(text, "metric.impute");
    assert_eq!((s, line, col), (Severity::Warning, 4, 11));
    assert!(msg.contains("counts as 0.0"), "{msg}");
    assert!(msg.contains("impute: worst"), "{msg}");
    let maximize = text.replace("  impute: latest", "  goal: maximize\n  impute: best");
    assert!(at(&maximize, "metric.impute").is_empty());
    let worst = text.replace("latest", "worst");
    assert!(at(&worst, "metric.impute").is_empty());
}
