//! Creates a run, streams history rows through the file stream, finishes it, and writes the
//! rows it sent to a file (the end-to-end check `scripts/e2e-openwandb.sh` reads them back).
//!
//! Needs `WANDB_BASE_URL`, `WANDB_API_KEY` and `WANDB_ENTITY` (see the script).
//! `cargo run -p wandb-api --example stream_run -- ROWS PROJECT OUT.jsonl`
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use std::time::{SystemTime, UNIX_EPOCH};

use wandb_api::{Chunk, Client, FileStream, Offsets, RunUpsert, to_extended_json};
use wandb_sweep::Value;

fn row(step: u64, rows: u64, t0: f64) -> Value {
    let mut m = indexmap::IndexMap::new();
    m.insert("_step".to_owned(), Value::from(step as i64));
    m.insert("_runtime".to_owned(), Value::from(step as f64 * 0.01));
    m.insert(
        "_timestamp".to_owned(),
        Value::from(t0 + step as f64 * 0.01),
    );
    m.insert("loss".to_owned(), Value::from(1.0 / (step as f64 + 1.0)));
    m.insert("acc".to_owned(), Value::from(step as f64 / rows as f64));
    m.insert("epoch".to_owned(), Value::from((step / 100) as i64));
    if step.is_multiple_of(250) {
        m.insert(
            "odd".to_owned(),
            Value::from(if step == 0 { f64::NAN } else { f64::INFINITY }),
        );
    }
    Value::Map(m)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let project = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "wandb-rs-e2e".to_owned());
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "sent.jsonl".to_owned());
    let t0 = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let run_id = format!("rs{:06x}", (t0 * 1000.0) as u64 % 0xFF_FFFF);

    let client = Client::from_env()?;
    let mut config = serde_json::Map::new();
    config.insert("lr".into(), serde_json::json!(0.01));
    let upsert = RunUpsert {
        run_id: Some(run_id.clone()),
        project: Some(project),
        config: Some(config),
        ..RunUpsert::default()
    };
    let run = client.upsert_run(&upsert).await?;
    let mut stream = FileStream::new(
        client,
        &run.entity,
        &run.project,
        &run.run_id,
        Offsets::default(),
    );

    let all: Vec<Value> = (0..rows).map(|s| row(s, rows, t0)).collect();
    let lines: Vec<String> = all.iter().map(to_extended_json).collect();
    for batch in lines.chunks(100) {
        stream
            .send(&Chunk {
                history: batch.to_vec(),
                ..Chunk::default()
            })
            .await?;
    }
    let summary = all.last().map(to_extended_json);
    stream
        .send(&Chunk {
            summary,
            exit_code: Some(0),
            ..Chunk::default()
        })
        .await?;
    std::fs::write(&out, lines.join("\n") + "\n")?;
    println!(
        "{}",
        serde_json::json!({ "run_id": run.run_id, "entity": run.entity, "project": run.project, "rows": rows, "history_offset": stream.offsets().history })
    );
    Ok(())
}
