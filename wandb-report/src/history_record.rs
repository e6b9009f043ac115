//! History records read straight from their protobuf bytes, without allocating per item: a
//! report of 100 runs × 100,000 rows reads ten million of them.
//!
//! Only the fields a chart needs are read: `Record.history` (2) → `HistoryRecord.item` (1)
//! and `.step` (2 → `HistoryStep.num` 1); `HistoryItem.key` (1), `.nested_key` (2),
//! `.value_json` (16), and the typed values of the official client 0.31's
//! `x_history_value_encoding=typed` (`integer` 5, sint64; `number` 6, double; `boolean` 4,
//! `text` 7, `json` 8). Field numbers: protocol.md §7.3.

pub(crate) use wandb_log::wire::Malformed;
use wandb_log::wire::{Field, Wire};

/// An item's value, borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ItemValue<'a> {
    /// Extended JSON text (`0.5`, `NaN`, `{"_type": "image-file", …}`), not yet checked
    /// to be UTF-8.
    Json(&'a [u8]),
    /// A typed number.
    Number(f64),
    /// A typed value that is not a number (boolean, text).
    Other,
}

/// The `history` field of a record (its bytes), or `None` for other records.
///
/// # Errors
/// [`Malformed`] when the record's fields cannot be walked.
pub(crate) fn history_field(record: &[u8]) -> Result<Option<&[u8]>, Malformed> {
    let mut wire = Wire::new(record);
    while let Some((number, field)) = wire.field()? {
        if let (2, Field::Bytes(bytes)) = (number, field) {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// Calls `item` with each item's name (nested keys joined by `.`) and value, both as bytes
/// not yet checked to be UTF-8 (most are compared with known names, or parsed as numbers,
/// and never need the check); returns the record's step number, if it has one.
///
/// # Errors
/// [`Malformed`] for bytes that are not a history record.
pub(crate) fn read_items<'a>(
    history: &'a [u8],
    mut item: impl FnMut(&[u8], ItemValue<'a>),
) -> Result<Option<i64>, Malformed> {
    let mut wire = Wire::new(history);
    let mut step = None;
    let mut nested = Vec::new();
    while let Some((number, field)) = wire.field()? {
        match (number, field) {
            (1, Field::Bytes(bytes)) => {
                let (name, value) = one_item(bytes, &mut nested)?;
                if let Some(value) = value {
                    item(name.unwrap_or(&nested), value);
                }
            }
            (2, Field::Bytes(bytes)) => {
                let mut inner = Wire::new(bytes);
                while let Some((n, f)) = inner.field()? {
                    if let (1, Field::Varint(v)) = (n, f) {
                        let num = v as i64;
                        step = Some(num);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(step)
}

/// One `HistoryItem`: its plain key (or `None`, with the nested key joined into `nested`)
/// and its value.
fn one_item<'a>(
    bytes: &'a [u8],
    nested: &mut Vec<u8>,
) -> Result<(Option<&'a [u8]>, Option<ItemValue<'a>>), Malformed> {
    let mut wire = Wire::new(bytes);
    let mut key = None;
    let mut value = None;
    nested.clear();
    while let Some((number, field)) = wire.field()? {
        match (number, field) {
            (1, Field::Bytes(b)) => key = Some(b),
            (2, Field::Bytes(b)) => {
                if !nested.is_empty() {
                    nested.push(b'.');
                }
                nested.extend_from_slice(b);
            }
            (16 | 8, Field::Bytes(b)) => value = Some(ItemValue::Json(b)),
            (5, Field::Varint(v)) => {
                value = Some(ItemValue::Number(
                    ((v >> 1) as i64 ^ -((v & 1) as i64)) as f64,
                ));
            }
            (6, Field::Fixed64(bits)) => value = Some(ItemValue::Number(f64::from_bits(bits))),
            (4 | 7, _) => value = Some(ItemValue::Other),
            _ => {}
        }
    }
    let key = key.filter(|k| !k.is_empty());
    if key.is_none() && nested.is_empty() {
        return Ok((None, None));
    }
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use wandb_log::proto::record::RecordType;
    use wandb_log::proto::{HistoryItem, HistoryRecord, HistoryStep, Record};

    use super::*;

    fn item(key: &str, nested: &[&str], value: &str) -> HistoryItem {
        HistoryItem {
            key: key.into(),
            nested_key: nested.iter().map(|s| (*s).to_owned()).collect(),
            value_json: value.into(),
        }
    }

    #[test]
    fn reads_what_prost_writes() {
        let record = Record {
            num: 7,
            record_type: Some(RecordType::History(HistoryRecord {
                item: vec![
                    item("_step", &[], "3"),
                    item("loss", &[], "NaN"),
                    item("", &["val", "acc"], "0.75"),
                ],
                step: Some(HistoryStep { num: 3 }),
            })),
            uuid: "u".into(),
        };
        let bytes = record.encode_to_vec();
        let history = history_field(&bytes).unwrap().unwrap();
        let mut items = Vec::new();
        let step = read_items(history, |k, v| items.push((k.to_owned(), v))).unwrap();
        assert_eq!(step, Some(3));
        let texts: Vec<(&str, &str)> = items
            .iter()
            .map(|(k, v)| {
                let k = std::str::from_utf8(k).unwrap();
                match v {
                    ItemValue::Json(t) => (k, std::str::from_utf8(t).unwrap()),
                    _ => (k, "?"),
                }
            })
            .collect();
        assert_eq!(
            texts,
            [("_step", "3"), ("loss", "NaN"), ("val.acc", "0.75")]
        );
    }

    #[test]
    fn other_records_and_garbage_are_told_apart() {
        let exit = Record {
            record_type: Some(RecordType::Exit(wandb_log::proto::RunExitRecord::default())),
            ..Record::default()
        };
        assert_eq!(history_field(&exit.encode_to_vec()), Ok(None));
        assert_eq!(history_field(&[0x12, 0x05, 0x0a]), Err(Malformed));
        assert_eq!(history_field(&[0xff; 11]), Err(Malformed));
    }

    #[test]
    fn typed_values_of_the_official_client_are_numbers() {
        // item { key "n" (1), integer -3 (5, zigzag 5), number 0.5 would be field 6 }
        let mut item = vec![0x0a, 0x01, b'n', 0x28, 0x05];
        let mut history = vec![0x0a, u8::try_from(item.len()).unwrap()];
        history.append(&mut item);
        let mut seen = Vec::new();
        read_items(&history, |k, v| seen.push((k.to_owned(), v))).unwrap();
        assert_eq!(seen, [(b"n".to_vec(), ItemValue::Number(-3.0))]);
    }
}
