//! Bayes search behaviour: what the engine does with runs of every state, goal and target,
//! and that it finds good regions of standard test functions.

use wandb_sweep::{
    BayesSampler, DoneReason, Run, RunState, Sampler, Suggestion, SweepConfig, Value, next_run,
};

fn cfg(yaml: &str) -> SweepConfig {
    SweepConfig::from_yaml(yaml).expect("valid")
}

fn run(name: &str, state: RunState, params: &str, losses: &[f64], metric: &str) -> Run {
    let mut r = Run::new(
        name,
        state,
        serde_json::from_str::<Value>(params).expect("params"),
    );
    r.history = losses
        .iter()
        .map(|l| serde_json::from_str(&format!(r#"{{"{metric}": {l}}}"#)).expect("row"))
        .collect();
    r
}

fn suggest(s: &mut BayesSampler, runs: &[Run]) -> serde_json::Value {
    match s.ask(runs).expect("suggestion") {
        Suggestion::Run(p) => p.to_json(),
        Suggestion::Done(d) => panic!("done: {d}"),
    }
}

#[test]
fn random_until_two_observations_then_model_based() {
    let c = cfg(
        "method: bayes\nmetric: {name: loss}\nparameters:\n  x: {min: 0.0, max: 1.0}\n  k: {value: 3}\n",
    );
    let mut s = BayesSampler::new(&c, 5).expect("sampler");
    let p = suggest(&mut s, &[]);
    assert_eq!(p["k"], 3, "constants are added");
    assert!(s.info().expect("info").warnings[0].contains("fewer than two"));
    let runs = [
        run("a", RunState::Finished, r#"{"x": 0.1}"#, &[1.0], "loss"),
        run("b", RunState::Finished, r#"{"x": 0.9}"#, &[0.2], "loss"),
        run("c", RunState::Finished, r#"{"x": 0.5}"#, &[0.6], "loss"),
    ];
    suggest(&mut s, &runs);
    let info = s.info().expect("info");
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert!(info.expected_improvement >= 0.0 && (0.0..=1.0).contains(&info.success_probability));
}

#[test]
fn maximize_moves_toward_high_values() {
    let c = cfg(
        "method: bayes\nmetric: {name: acc, goal: maximize}\nparameters:\n  x: {min: 0.0, max: 10.0}\n",
    );
    let mut s = BayesSampler::new(&c, 1).expect("sampler");
    let mut runs = Vec::new();
    for i in 0..15 {
        let x = suggest(&mut s, &runs)["x"].as_f64().expect("x");
        let acc = -(x - 7.0).powi(2);
        runs.push(run(
            &format!("r{i}"),
            RunState::Finished,
            &format!(r#"{{"x": {x}}}"#),
            &[acc],
            "acc",
        ));
    }
    let best = runs
        .iter()
        .map(|r| r.metric_history("acc")[0])
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(best > -0.05, "best {best}");
}

#[test]
fn failed_runs_are_imputed_and_categoricals_are_searched() {
    let c = cfg(
        "method: bayes\nmetric: {name: loss}\nparameters:\n  opt: {values: [adam, sgd, rmsprop]}\n  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}\n",
    );
    let mut s = BayesSampler::new(&c, 2).expect("sampler");
    let runs = [
        run(
            "a",
            RunState::Finished,
            r#"{"opt": "adam", "lr": 0.001}"#,
            &[0.3],
            "loss",
        ),
        run(
            "b",
            RunState::Failed,
            r#"{"opt": "sgd", "lr": 0.05}"#,
            &[],
            "loss",
        ),
        run(
            "c",
            RunState::Crashed,
            r#"{"opt": "rmsprop", "lr": 0.01}"#,
            &[0.01],
            "loss",
        ),
        run(
            "d",
            RunState::Finished,
            r#"{"opt": "sgd", "lr": 0.0002}"#,
            &[0.9],
            "loss",
        ),
        run(
            "e",
            RunState::Running,
            r#"{"opt": "adam", "lr": 0.002}"#,
            &[0.5],
            "loss",
        ),
    ];
    let p = suggest(&mut s, &runs);
    assert!(["adam", "sgd", "rmsprop"].contains(&p["opt"].as_str().expect("opt")));
    let lr = p["lr"].as_f64().expect("lr");
    assert!((0.0001..=0.1).contains(&lr), "{lr}");
}

#[test]
fn target_and_run_cap_end_the_sweep() {
    let c = cfg(
        "method: bayes\nrun_cap: 10\nmetric: {name: loss, target: 0.1}\nparameters:\n  x: {min: 0.0, max: 1.0}\n",
    );
    let runs = [run(
        "a",
        RunState::Finished,
        r#"{"x": 0.5}"#,
        &[0.5, 0.09],
        "loss",
    )];
    assert_eq!(
        next_run(&c, &runs, 0).expect("ok"),
        Suggestion::Done(DoneReason::TargetReached { value: 0.09 })
    );
    let many: Vec<Run> = (0..10)
        .map(|i| {
            run(
                &format!("r{i}"),
                RunState::Finished,
                r#"{"x": 0.5}"#,
                &[1.0],
                "loss",
            )
        })
        .collect();
    assert_eq!(
        next_run(&c, &many, 0).expect("ok"),
        Suggestion::Done(DoneReason::RunCapReached { run_cap: 10 })
    );
}

#[test]
fn more_than_100_observations_and_pending_runs_are_handled() {
    let c = cfg(
        "method: bayes\nmetric: {name: loss}\nparameters:\n  x: {min: 0.0, max: 1.0}\n  y: {min: 0.0, max: 1.0}\n",
    );
    let mut runs: Vec<Run> = (0..130)
        .map(|i| {
            let (x, y) = (f64::from(i % 13) / 13.0, f64::from(i / 13) / 10.0);
            run(
                &format!("r{i}"),
                RunState::Finished,
                &format!(r#"{{"x": {x}, "y": {y}}}"#),
                &[(x - 0.3).powi(2) + y],
                "loss",
            )
        })
        .collect();
    runs.push(run(
        "p",
        RunState::Pending,
        r#"{"x": 0.3, "y": 0.0}"#,
        &[],
        "loss",
    ));
    let mut s = BayesSampler::new(&c, 9).expect("sampler");
    let p = suggest(&mut s, &runs);
    assert!(p["x"].as_f64().is_some() && p["y"].as_f64().is_some());
}

#[test]
fn bayes_needs_a_metric_and_something_to_search() {
    assert!(
        BayesSampler::new(
            &cfg("method: random\nparameters:\n  x: {min: 0.0, max: 1.0}\n"),
            0
        )
        .is_err()
    );
    assert!(
        BayesSampler::new(
            &cfg("method: random\nmetric: {name: l}\nparameters:\n  x: {value: 1}\n"),
            0
        )
        .is_err()
    );
}

#[test]
fn configs_built_in_code_with_mismatched_lists_do_not_panic() {
    use wandb_sweep::{Hyperband, Metric, Number, Parameter};
    let p = Parameter::CategoricalWProbabilities {
        values: vec![Value::from(1), Value::from(2)],
        probabilities: vec![Number::Float(1.0)],
    };
    assert_eq!(p.cdf(&Value::from(2)), Some(1.0));
    let hb = Hyperband {
        min_iter: Some(1),
        max_iter: None,
        s: None,
        eta: Some(Number::Float(0.5)),
        strict: None,
    };
    let metric = Metric {
        name: "loss".into(),
        goal: None,
        target: None,
        impute: None,
        impute_while_running: None,
    };
    let runs = [run("r", RunState::Running, "{}", &[1.0, 2.0], "loss")];
    let decision = hb.decide(&metric, &runs);
    assert!(
        decision.bands.contains(&0),
        "eta < 1 makes bands shrink to 0"
    );
}
