//! Reading runs back: project runs with filters and paging, history pages and scans, summary.

mod support;

use serde_json::json;
use support::{bodies, reply, setup};
use wandb_api::RunQuery;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn runs_are_listed_with_filters_order_and_cursor() {
    let (server, client) = setup().await;
    reply(&server, "Runs", json!({ "project": { "runCount": 3, "runs": {
        "edges": [ { "cursor": "c1", "node": { "id": "UnVuOjE=", "name": "r1", "displayName": "one", "sweepName": "sw1",
            "state": "finished", "config": "{\"lr\": {\"value\": 0.1}}", "group": null, "jobType": null, "createdAt": null,
            "tags": ["a"], "notes": null, "summaryMetrics": "{\"loss\": NaN}", "historyLineCount": 10 } } ],
        "pageInfo": { "endCursor": "c1", "hasNextPage": true } } } })).await;
    let query = RunQuery {
        filters: Some(json!({ "sweep": "sw1" })),
        order: Some("-summary_metrics.loss".into()),
        per_page: Some(1),
        cursor: None,
    };
    let page = client
        .runs("mock-entity", "proj", &query)
        .await
        .expect("page");
    assert_eq!((page.total, page.next.as_deref()), (Some(3), Some("c1")));
    let run = &page.runs[0];
    assert_eq!(
        (
            run.run_id.as_str(),
            run.sweep.as_deref(),
            run.history_line_count
        ),
        ("r1", Some("sw1"), 10)
    );
    assert_eq!(run.config["lr"], 0.1);
    assert_eq!(run.summary.to_string(), "{loss: nan}");
    let vars = &bodies(&server, "Runs").await[0]["variables"];
    assert_eq!(
        vars["filters"], "{\"sweep\":\"sw1\"}",
        "filters go as a JSON string"
    );
    assert_eq!(
        (vars["order"].clone(), vars["perPage"].clone()),
        (json!("-summary_metrics.loss"), json!(1))
    );
}

#[tokio::test]
async fn history_scan_pages_by_step_until_a_short_page() {
    let (server, client) = setup().await;
    let page = |from: i64, n: i64| -> Vec<String> {
        (from..from + n)
            .map(|s| format!(r#"{{"_step":{s},"loss":{s}}}"#))
            .collect()
    };
    for (i, (min, rows)) in [(0, page(0, 3)), (3, page(3, 3)), (6, page(6, 1))]
        .into_iter()
        .enumerate()
    {
        Mock::given(method("POST"))
            .and(body_partial_json(
                json!({ "operationName": "HistoryPage", "variables": { "minStep": min } }),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({ "data": { "project": { "run": { "history": rows } } } }),
                ),
            )
            .with_priority(u8::try_from(i + 1).expect("small"))
            .mount(&server)
            .await;
    }
    let rows = client
        .history("mock-entity", "proj", "r1", 3)
        .await
        .expect("scan");
    let steps: Vec<i64> = rows
        .iter()
        .map(|r| r.to_json()["_step"].as_i64().expect("step"))
        .collect();
    assert_eq!(steps, [0, 1, 2, 3, 4, 5, 6]);
    let sent = bodies(&server, "HistoryPage").await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0]["variables"]["pageSize"], 3);
}

#[tokio::test]
async fn summary_keeps_non_finite_values_and_unknown_runs_are_not_found() {
    let (server, client) = setup().await;
    reply(&server, "RunSummary", json!({ "project": { "run": { "id": "x", "name": "r1", "state": "finished", "summaryMetrics": "{\"loss\": -Infinity, \"_step\": 9}" } } })).await;
    let s = client
        .summary("mock-entity", "proj", "r1")
        .await
        .expect("summary");
    assert_eq!(s.to_string(), "{loss: -inf, _step: 9}");
    let (server2, client2) = setup().await;
    reply(
        &server2,
        "RunSummary",
        json!({ "project": { "run": null } }),
    )
    .await;
    assert!(matches!(
        client2.summary("mock-entity", "proj", "nope").await,
        Err(wandb_api::Error::NotFound { .. })
    ));
    drop(server);
}
