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

    /// The underlying writer, borrowed (records are whole between calls to `write`).
    pub(crate) fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

/// Reads records back from a `.wandb` log as a stream (memory stays at one block and one
/// record, whatever the log's size). Corrupt chunks are skipped up to the next block, as
/// W&B's reader does; [`LogReader::skipped`] counts them.
///
/// A log still being written can be followed: at the end of what is written so far (a torn
/// last record included) [`LogReader::next_payload`] returns `None`, and a later call reads
/// what was written since, from where it stopped.
#[derive(Debug)]
pub struct LogReader<R> {
    source: R,
    /// The current block: `block[..filled]` is read; the next chunk starts at `at`.
    block: Vec<u8>,
    filled: usize,
    at: usize,
    /// Bytes of the blocks before the current one.
    block_start: u64,
    /// Chunks of a record being assembled across calls.
    assembling: Option<Vec<u8>>,
    skipped: usize,
}

impl<R: Read> LogReader<R> {
    /// Checks the file header; records are read as they are asked for.
    ///
    /// # Errors
    /// I/O errors, or [`io::ErrorKind::InvalidData`] when the header is not a `.wandb` header.
    pub fn new(source: R) -> io::Result<Self> {
        let mut reader = LogReader {
            source,
            block: vec![0; BLOCK_SIZE],
            filled: 0,
            at: FILE_HEADER.len(),
            block_start: 0,
            assembling: None,
            skipped: 0,
        };
        reader.fill(FILE_HEADER.len())?;
        let header = &reader.block[..reader.filled.min(FILE_HEADER.len())];
        if header.len() < FILE_HEADER.len() || header[..6] != FILE_HEADER[..6] {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a .wandb transaction log (bad header)",
            ));
        }
        Ok(reader)
    }

    /// Corrupt or out-of-sequence chunks skipped so far.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Where the next record starts, in bytes from the start of the log (the end of what was
    /// read when the log ends in a torn record).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.block_start + self.at as u64
    }

    /// Reads until `block[..want]` is filled or the source has nothing more now.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while self.filled < want {
            match self.source.read(&mut self.block[self.filled..]) {
                Ok(0) => break,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves to the next block, once the current one is read to its end.
    fn next_block(&mut self) -> io::Result<bool> {
        self.fill(BLOCK_SIZE)?;
        if self.filled < BLOCK_SIZE {
            return Ok(false);
        }
        self.block_start += BLOCK_SIZE as u64;
        self.filled = 0;
        self.at = 0;
        Ok(true)
    }

    /// The next whole chunk, or `None` at the end of what is written so far.
    fn next_chunk(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        loop {
            let left = BLOCK_SIZE - self.at;
            if left < CHUNK_HEADER {
                if !self.next_block()? {
                    return Ok(None);
                }
                continue;
            }
            self.fill(self.at + CHUNK_HEADER)?;
            let Some(header) = self.block.get(self.at..self.at + CHUNK_HEADER) else {
                return Ok(None);
            };
            if self.filled < self.at + CHUNK_HEADER {
                return Ok(None);
            }
            let crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let len = usize::from(u16::from_le_bytes([header[4], header[5]]));
            let kind = header[6];
            if kind == 0 && len == 0 && crc == 0 {
                // Zero padding (or a preallocated tail): the rest of the block is empty.
                self.at = BLOCK_SIZE;
                continue;
            }
            let start = self.at + CHUNK_HEADER;
            if len > left - CHUNK_HEADER {
                self.skip_block();
                continue;
            }
            self.fill(start + len)?;
            if self.filled < start + len {
                return Ok(None);
            }
            let payload = &self.block[start..start + len];
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&[kind]);
            hasher.update(payload);
            if hasher.finalize() != crc || !(FULL..=LAST).contains(&kind) {
                self.skip_block();
                continue;
            }
            let payload = payload.to_vec();
            self.at = start + len;
            return Ok(Some((kind, payload)));
        }
    }

    fn skip_block(&mut self) {
        self.skipped += 1;
        self.at = BLOCK_SIZE;
    }

    /// The next record's bytes, or `None` at the end of what is written so far.
    pub fn next_payload(&mut self) -> Option<Vec<u8>> {
        self.try_next_payload().ok().flatten()
    }

    /// [`LogReader::next_payload`], with the source's I/O errors.
    ///
    /// # Errors
    /// The source's I/O error.
    pub fn try_next_payload(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            let Some((kind, payload)) = self.next_chunk()? else {
                return Ok(None);
            };
            match (kind, self.assembling.as_mut()) {
                (FULL, None) => return Ok(Some(payload)),
                (FIRST, None) => self.assembling = Some(payload),
                (MIDDLE, Some(buf)) => buf.extend_from_slice(&payload),
                (LAST, Some(buf)) => {
                    buf.extend_from_slice(&payload);
                    return Ok(self.assembling.take());
                }
                // A chunk out of sequence: drop what was being assembled, resync.
                (FULL | FIRST, Some(_)) => {
                    self.skipped += 1;
                    self.assembling = None;
                    if kind == FULL {
                        return Ok(Some(payload));
                    }
                    self.assembling = Some(payload);
                }
                _ => self.skipped += 1,
            }
        }
    }

    /// The next record, or `None` at the end of what is written so far.
    ///
    /// # Errors
    /// The source's I/O error, or [`io::ErrorKind::InvalidData`] for a record that does not
    /// decode.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        let Some(payload) = self.try_next_payload()? else {
            return Ok(None);
        };
        Record::decode(&payload[..])
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
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
    fn a_growing_log_is_followed_record_by_record() {
        let mut bytes = Vec::new();
        let mut w = LogWriter::new(&mut bytes).unwrap();
        let big = vec![5u8; 3 * BLOCK_SIZE];
        for payload in [&b"one"[..], &big, b"three"] {
            w.write_payload(payload).unwrap();
        }
        // A reader over a file that grows a few bytes at a time sees each record once,
        // whole, and nothing of a torn one.
        let shared = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Growing(std::rc::Rc<std::cell::RefCell<Vec<u8>>>, usize);
        impl Read for Growing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let data = self.0.borrow();
                let n = buf.len().min(data.len() - self.1);
                buf[..n].copy_from_slice(&data[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        shared.borrow_mut().extend_from_slice(&bytes[..7]);
        let mut r = LogReader::new(Growing(shared.clone(), 0)).unwrap();
        let mut seen = Vec::new();
        for end in (7..=bytes.len()).step_by(1009).chain([bytes.len()]) {
            let have = shared.borrow().len();
            shared.borrow_mut().extend_from_slice(&bytes[have..end]);
            while let Some(p) = r.next_payload() {
                seen.push(p);
            }
        }
        assert_eq!(seen, [b"one".to_vec(), big, b"three".to_vec()]);
        assert_eq!(r.position(), bytes.len() as u64);
        assert_eq!(r.skipped(), 0);
    }

    #[test]
    fn bad_header_is_refused() {
        assert!(LogReader::new(&b"not a log"[..]).is_err());
    }
}
