//! One history row encoded straight to `.wandb` record bytes (a `Record` holding a
//! `HistoryRecord`), without building protobuf messages: the writer's hot path.

use wandb_api::write_json_string;

/// Field 2 (`Record.history`, `HistoryRecord.step`), length-delimited.
const TAG_2: u8 = 0x12;
/// Field 1 (`HistoryRecord.item`, `HistoryItem.key`), length-delimited.
const TAG_1: u8 = 0x0a;
/// Field 16 (`HistoryItem.value_json`), length-delimited: two varint bytes.
const TAG_16: [u8; 2] = [0x82, 0x01];
/// Field 1 (`HistoryStep.num`), varint.
const TAG_NUM: u8 = 0x08;

/// A row's items (key and extended-JSON value), reused from row to row.
#[derive(Debug, Default)]
pub(crate) struct RowEncoder {
    text: String,
    /// Per item: where its key ends and where its value ends in `text`.
    ends: Vec<(usize, usize)>,
}

impl RowEncoder {
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Adds an item whose value `write` appends as extended JSON.
    pub(crate) fn push(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        self.text.push_str(key);
        let key_end = self.text.len();
        write(&mut self.text);
        self.ends.push((key_end, self.text.len()));
    }

    /// The items as `(key, value JSON)`.
    pub(crate) fn items(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(k, v)| {
            let item = (&self.text[start..k], &self.text[k..v]);
            start = v;
            item
        })
    }

    /// Appends the `Record { history: HistoryRecord { item, step: {num: step} } }` bytes.
    pub(crate) fn encode(&self, step: i64, out: &mut Vec<u8>) {
        let step_body = if step == 0 {
            0
        } else {
            1 + varint_len(step as u64)
        };
        let mut history = 2 + step_body;
        for (k, v) in self.items() {
            let n = item_len(k, v);
            history += 1 + varint_len(n as u64) + n;
        }
        out.push(TAG_2);
        put_varint(out, history as u64);
        for (k, v) in self.items() {
            out.push(TAG_1);
            put_varint(out, item_len(k, v) as u64);
            if !k.is_empty() {
                out.push(TAG_1);
                put_varint(out, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
            }
            if !v.is_empty() {
                out.extend_from_slice(&TAG_16);
                put_varint(out, v.len() as u64);
                out.extend_from_slice(v.as_bytes());
            }
        }
        out.push(TAG_2);
        put_varint(out, step_body as u64);
        if step != 0 {
            out.push(TAG_NUM);
            put_varint(out, step as u64);
        }
    }

    /// Appends the row as one extended-JSON file-stream line.
    pub(crate) fn line(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.items().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(k, out);
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
    }
}

/// The encoded length of a `HistoryItem` (proto3 leaves empty strings out).
fn item_len(key: &str, value: &str) -> usize {
    let field = |tag: usize, s: &str| {
        if s.is_empty() {
            0
        } else {
            tag + varint_len(s.len() as u64) + s.len()
        }
    };
    field(1, key) + field(2, value)
}

fn varint_len(mut x: u64) -> usize {
    let mut n = 1;
    while x >= 0x80 {
        x >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::proto::record::RecordType;
    use crate::proto::{HistoryItem, HistoryRecord, HistoryStep, Record};

    proptest! {
        #[test]
        fn bytes_equal_prost_encoding(
            step in prop_oneof![Just(0i64), any::<i64>()],
            items in proptest::collection::vec((".{0,40}", ".{0,300}"), 0..20),
        ) {
            let mut row = RowEncoder::default();
            for (k, v) in &items {
                row.push(k, |o| o.push_str(v));
            }
            let mut ours = Vec::new();
            row.encode(step, &mut ours);
            let record = Record {
                record_type: Some(RecordType::History(HistoryRecord {
                    item: items
                        .iter()
                        .map(|(k, v)| HistoryItem { key: k.clone(), nested_key: Vec::new(), value_json: v.clone() })
                        .collect(),
                    step: Some(HistoryStep { num: step }),
                })),
                ..Record::default()
            };
            prop_assert_eq!(ours, record.encode_to_vec());
        }
    }

    #[test]
    fn lines_escape_keys() {
        let mut row = RowEncoder::default();
        row.push("_step", |o| o.push('3'));
        row.push("a\"b", |o| o.push_str("NaN"));
        let mut line = String::new();
        row.line(&mut line);
        assert_eq!(line, r#"{"_step":3,"a\"b":NaN}"#);
    }
}
