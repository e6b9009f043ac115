//! Writer/reader round trip for any sequence of records, including records spanning blocks.

use proptest::prelude::*;
use wandb_log::proto::record::RecordType;
use wandb_log::proto::{HistoryItem, HistoryRecord, HistoryStep, Record};
use wandb_log::{BLOCK_SIZE, LogReader, LogWriter};

fn record(step: i64, blob: usize) -> Record {
    let item = vec![
        HistoryItem {
            key: "_step".into(),
            nested_key: vec![],
            value_json: step.to_string(),
        },
        HistoryItem {
            key: "text".into(),
            nested_key: vec![],
            value_json: format!("\"{}\"", "x".repeat(blob)),
        },
    ];
    Record {
        num: step,
        record_type: Some(RecordType::History(HistoryRecord {
            item,
            step: Some(HistoryStep { num: step }),
        })),
        ..Record::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn records_round_trip(sizes in prop::collection::vec(prop_oneof![0usize..64, 32_700usize..32_800, 60_000usize..100_000], 1..12)) {
        let records: Vec<Record> = sizes.iter().enumerate().map(|(i, &n)| record(i as i64, n)).collect();
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        for r in &records {
            w.write(r).unwrap();
        }
        let mut reader = LogReader::new(&bytes[..]).unwrap();
        let back: Vec<Record> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, records);
        prop_assert_eq!(reader.skipped(), 0);
    }

    #[test]
    fn raw_payloads_round_trip_and_blocks_hold(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40_000), 1..8)) {
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        for p in &payloads {
            w.write_payload(p).unwrap();
        }
        let mut reader = LogReader::new(&bytes[..]).unwrap();
        let back: Vec<Vec<u8>> = std::iter::from_fn(|| reader.next_payload()).collect();
        prop_assert_eq!(back, payloads);
        // Every chunk header lies wholly inside a block.
        prop_assert!(bytes.len() % BLOCK_SIZE == 0 || bytes.len() % BLOCK_SIZE >= 7);
    }

    #[test]
    fn truncated_or_damaged_logs_never_panic(cut in 7usize..70_000, flip in 0usize..70_000) {
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        for i in 0..4 {
            w.write(&record(i, 20_000)).unwrap();
        }
        let mut damaged = bytes.clone();
        let i = flip % damaged.len();
        damaged[i] ^= 0x55;
        damaged.truncate(cut.min(damaged.len()));
        if let Ok(reader) = LogReader::new(&damaged[..]) {
            let _ = reader.count();
        }
    }
}
