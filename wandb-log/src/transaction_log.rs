//! The `.wandb` transaction log: W&B's LevelDB-style record log that `wandb sync` replays.
//!
//! Layout: a 7-byte file header (`:W&B`, magic `0xBEE1` little-endian, version 0), then
//! 32 KiB blocks counted from offset 0. Each record is one FULL chunk, or FIRST/MIDDLE/LAST
//! chunks when it does not fit the rest of the block. A chunk is a 7-byte header (CRC-32 IEEE
//! of type byte + payload, unmasked, little-endian; payload length u16 LE; type) and the
//! payload. Fewer than 7 bytes left in a block are zero padding.

use std::io::{self, Read, Write};

use prost::Message;

use crate::proto::Record;

/// The size of a block.
pub const BLOCK_SIZE: usize = 32 * 1024;
/// The size of a chunk header.
const CHUNK_HEADER: usize = 7;
/// The file header: `:W&B`, magic 0xBEE1 (LE), version 0.
pub const FILE_HEADER: [u8; 7] = [b':', b'W', b'&', b'B', 0xE1, 0xBE, 0x00];

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// Writes records to a `.wandb` file (or any writer).
///
/// ```
/// use wandb_log::{LogReader, LogWriter, proto};
/// let mut bytes = Vec::new();
/// let mut w = LogWriter::new(&mut bytes)?;
/// let exit = proto::Record { record_type: Some(proto::record::RecordType::Exit(proto::RunExitRecord { exit_code: 0, runtime: 3, not_complete: false })), ..Default::default() };
/// w.write(&exit)?;
/// w.flush()?;
/// let back: Vec<_> = LogReader::new(&bytes[..])?.collect::<Result<_, _>>()?;
/// assert_eq!(back, [exit]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    inner: W,
    /// Bytes used in the current block.
    block_offset: usize,
    /// The encoding buffer, reused from record to record.
    scratch: Vec<u8>,
}

impl<W: Write> LogWriter<W> {
    /// Starts a log: writes the file header.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(&FILE_HEADER)?;
        Ok(LogWriter {
            inner,
            block_offset: FILE_HEADER.len(),
            scratch: Vec::new(),
        })
    }

    /// Appends one record.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        record.encode_raw(&mut buf);
        let written = self.write_payload(&buf);
        self.scratch = buf;
        written
    }

    /// Appends one record's bytes, split into chunks at block boundaries.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write_payload(&mut self, mut payload: &[u8]) -> io::Result<()> {
        let mut first = true;
        loop {
            let left = BLOCK_SIZE - self.block_offset;
            if left < CHUNK_HEADER {
                self.inner.write_all(&[0u8; CHUNK_HEADER][..left])?;
                self.block_offset = 0;
                continue;
            }
            let room = left - CHUNK_HEADER;
            let take = payload.len().min(room);
            let last = take == payload.len();
            let kind = match (first, last) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, false) => MIDDLE,
                (false, true) => LAST,
            };
            self.chunk(kind, &payload[..take])?;
            payload = &payload[take..];
            first = false;
            if last {
                return Ok(());
            }
        }
    }

    fn chunk(&mut self, kind: u8, data: &[u8]) -> io::Result<()> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[kind]);
        crc.update(data);
        let len =
            u16::try_from(data.len()).map_err(|_| io::Error::other("chunk larger than a block"))?;
        let mut header = [0u8; CHUNK_HEADER];
        header[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        header[4..6].copy_from_slice(&len.to_le_bytes());
        header[6] = kind;
        self.inner.write_all(&header)?;
        self.inner.write_all(data)?;
        self.block_offset += CHUNK_HEADER + data.len();
        Ok(())
    }

    /// Flushes the underlying writer.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Reads records back from a `.wandb` log. Corrupt chunks are skipped up to the next block,
/// as W&B's reader does; [`LogReader::skipped`] counts them.
#[derive(Debug)]
pub struct LogReader {
    data: Vec<u8>,
    pos: usize,
    skipped: usize,
}

impl LogReader {
    /// Reads the whole log and checks the file header.
    ///
    /// # Errors
    /// I/O errors, or [`io::ErrorKind::InvalidData`] when the header is not a `.wandb` header.
    pub fn new(mut source: impl Read) -> io::Result<Self> {
        let mut data = Vec::new();
        source.read_to_end(&mut data)?;
        if data.len() < FILE_HEADER.len()
            || data[..4] != FILE_HEADER[..4]
            || data[4..6] != FILE_HEADER[4..6]
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a .wandb transaction log (bad header)",
            ));
        }
        Ok(LogReader {
            data,
            pos: FILE_HEADER.len(),
            skipped: 0,
        })
    }

    /// Chunks dropped for bad checksums or structure.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The next chunk `(type, payload)`, skipping padding; `None` at the end.
    fn next_chunk(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            let left = BLOCK_SIZE - self.pos % BLOCK_SIZE;
            if left < CHUNK_HEADER {
                self.pos += left;
                continue;
            }
            let header = self.data.get(self.pos..self.pos + CHUNK_HEADER)?;
            let crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let len = usize::from(u16::from_le_bytes([header[4], header[5]]));
            let kind = header[6];
            if kind == 0 && len == 0 && crc == 0 {
                self.pos += left;
                continue;
            }
            let start = self.pos + CHUNK_HEADER;
            let payload = match self.data.get(start..start + len) {
                Some(p) if len <= left - CHUNK_HEADER => p,
                _ => {
                    self.skip_block();
                    continue;
                }
            };
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&[kind]);
            hasher.update(payload);
            if hasher.finalize() != crc || !(FULL..=LAST).contains(&kind) {
                self.skip_block();
                continue;
            }
            let payload = payload.to_vec();
            self.pos = start + len;
            return Some((kind, payload));
        }
    }

    fn skip_block(&mut self) {
        self.skipped += 1;
        self.pos += BLOCK_SIZE - self.pos % BLOCK_SIZE;
    }

    /// The next record's bytes, reassembled from its chunks.
    pub fn next_payload(&mut self) -> Option<Vec<u8>> {
        let mut assembling: Option<Vec<u8>> = None;
        loop {
            let (kind, payload) = self.next_chunk()?;
            match (kind, assembling.as_mut()) {
                (FULL, None) => return Some(payload),
                (FIRST, None) => assembling = Some(payload),
                (MIDDLE, Some(buf)) => buf.extend_from_slice(&payload),
                (LAST, Some(buf)) => {
                    buf.extend_from_slice(&payload);
                    return assembling;
                }
                // A chunk out of sequence: drop what was being assembled, resync.
                (FULL | FIRST, Some(_)) => {
                    self.skipped += 1;
                    if kind == FULL {
                        return Some(payload);
                    }
                    assembling = Some(payload);
                }
                _ => self.skipped += 1,
            }
        }
    }
}

impl Iterator for LogReader {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let payload = self.next_payload()?;
        Some(
            Record::decode(&payload[..]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_first_chunk_bytes() {
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        w.write_payload(b"").unwrap();
        assert_eq!(&bytes[..7], b":W&B\xe1\xbe\x00");
        // An empty FULL chunk: CRC-32 of the type byte alone, length 0, type 1.
        let crc = crc32fast::hash(&[1]).to_le_bytes();
        assert_eq!(&bytes[7..], [crc[0], crc[1], crc[2], crc[3], 0, 0, 1]);
    }

    #[test]
    fn large_records_span_blocks_and_padding_fills_block_ends() {
        let big = vec![0xAB; 70_000];
        let small = vec![1u8; BLOCK_SIZE - 7 - 7 - 7 - 3];
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        w.write_payload(&small).unwrap(); // leaves 3 + 7 bytes in block 0
        w.write_payload(b"x").unwrap(); // fills to 2 bytes before the block end
        w.write_payload(&big).unwrap(); // starts in block 1 after 2 bytes of padding
        let mut r = LogReader::new(&bytes[..]).unwrap();
        assert_eq!(r.next_payload().unwrap(), small);
        assert_eq!(r.next_payload().unwrap(), b"x");
        assert_eq!(r.next_payload().unwrap(), big);
        assert_eq!(r.next_payload(), None);
        assert_eq!(r.skipped(), 0);
        assert_eq!(
            bytes[BLOCK_SIZE + 6],
            FIRST,
            "the big record starts a fresh block"
        );
    }

    #[test]
    fn corruption_skips_to_the_next_block() {
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        w.write_payload(b"one").unwrap();
        w.write_payload(&vec![7u8; BLOCK_SIZE]).unwrap();
        w.write_payload(b"three").unwrap();
        bytes[7 + 7] ^= 0xFF; // break the first record's payload
        let mut r = LogReader::new(&bytes[..]).unwrap();
        let rest: Vec<Vec<u8>> = std::iter::from_fn(|| r.next_payload()).collect();
        assert_eq!(rest.last().unwrap(), b"three");
        assert!(r.skipped() >= 1);
    }

    #[test]
    fn bad_header_is_refused() {
        assert!(LogReader::new(&b"not a log"[..]).is_err());
    }
}
