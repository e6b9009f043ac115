//! The file under a run's `.wandb` log, so that a failed write (a full disk) never leaves a
//! torn record: records are buffered and written whole at record boundaries; a write that
//! fails part-way is cut back to the end of the last complete write, and its bytes stay
//! buffered for the next attempt, so nothing is lost while the buffer lasts and the block
//! framing stays what the writer computed.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Buffered bytes are written once this many are waiting.
pub(crate) const WRITE_SIZE: usize = 256 * 1024;
/// The most bytes kept while writes fail; past this, new records are refused.
pub(crate) const MAX_PENDING: usize = 64 * 1024 * 1024;

/// A file that can be cut back to a length.
pub(crate) trait Truncate: Write + Seek {
    /// Sets the file's length.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Truncate for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// The log's file and the bytes not yet in it.
#[derive(Debug)]
pub(crate) struct LogFile<F> {
    file: F,
    pending: Vec<u8>,
    /// The file's length after the last complete write.
    durable: u64,
}

impl<F: Truncate> LogFile<F> {
    /// A file whose first `durable` bytes are written.
    pub(crate) fn new(file: F, durable: u64) -> Self {
        LogFile {
            file,
            pending: Vec::with_capacity(WRITE_SIZE),
            durable,
        }
    }

    /// Bytes buffered and not yet in the file.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Refuses a record while too much is waiting for a failing disk (the error of the
    /// last attempt to write it says why).
    pub(crate) fn check_room(&mut self) -> io::Result<()> {
        if self.pending.len() < MAX_PENDING {
            return Ok(());
        }
        self.write_pending()
    }

    /// Writes the pending bytes once enough are waiting (call at record boundaries).
    pub(crate) fn write_if_due(&mut self) -> io::Result<()> {
        if self.pending.len() >= WRITE_SIZE {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes every pending byte, or cuts the file back to its last complete write and
    /// keeps them for the next attempt.
    pub(crate) fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        match self
            .file
            .write_all(&self.pending)
            .and_then(|()| self.file.flush())
        {
            Ok(()) => {
                self.durable += self.pending.len() as u64;
                self.pending.clear();
                Ok(())
            }
            Err(e) => {
                let cut = self
                    .file
                    .truncate(self.durable)
                    .and_then(|()| self.file.seek(SeekFrom::Start(self.durable)));
                match cut {
                    Ok(_) => Err(e),
                    Err(cut) => Err(io::Error::new(
                        e.kind(),
                        format!(
                            "{e}; cutting the log back to its last whole record failed too: {cut}"
                        ),
                    )),
                }
            }
        }
    }
}

impl<F: Truncate> Write for LogFile<F> {
    /// Buffers `data` (the file is written at record boundaries, see [`LogFile::write_if_due`]).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction_log::{LogReader, LogWriter};

    /// An in-memory file with a disk of `room` bytes: a write past it stores what fits
    /// (a partial write) and fails with "no space".
    #[derive(Debug, Default)]
    struct SmallDisk {
        bytes: Vec<u8>,
        at: usize,
        room: usize,
    }

    impl Write for SmallDisk {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let fits = self.room.saturating_sub(self.at).min(data.len());
            if fits == 0 && !data.is_empty() {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"));
            }
            self.bytes.truncate(self.at);
            self.bytes.extend_from_slice(&data[..fits]);
            self.at += fits;
            Ok(fits)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for SmallDisk {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            let SeekFrom::Start(at) = to else {
                return Err(io::Error::other("only SeekFrom::Start"));
            };
            self.at = usize::try_from(at).map_err(io::Error::other)?;
            Ok(at)
        }
    }

    impl Truncate for SmallDisk {
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.bytes
                .truncate(usize::try_from(len).map_err(io::Error::other)?);
            Ok(())
        }
    }

    fn payload(i: usize) -> Vec<u8> {
        format!("record {i:05} ").repeat(40).into_bytes()
    }

    #[test]
    fn a_full_disk_leaves_whole_records_and_loses_none_once_there_is_room() {
        let disk = SmallDisk {
            room: 600_000,
            ..SmallDisk::default()
        };
        let mut log = LogWriter::new(LogFile::new(disk, 0)).expect("header");
        log.flush()
            .expect("the header is written first, as OfflineRun does");
        let mut failures = 0;
        for i in 0..2_000 {
            log.write_payload(&payload(i)).expect("buffered");
            let file = log.inner_mut();
            if file.write_if_due().is_err() {
                failures += 1;
                // Whatever failed, the file holds whole records only.
                let bytes = &file.file.bytes;
                let mut reader = LogReader::new(&bytes[..]).expect("header");
                while reader.next_payload().is_some() {}
                assert_eq!(reader.skipped(), 0, "no torn record after a failed write");
                assert_eq!(reader.position(), bytes.len() as u64, "ends on a record");
            }
        }
        assert!(failures > 0, "the disk filled up");
        // Room again: everything arrives, once, in order.
        log.inner_mut().file.room = usize::MAX;
        log.flush().expect("written");
        let bytes = &log.inner_mut().file.bytes;
        let mut reader = LogReader::new(&bytes[..]).expect("header");
        let read: Vec<Vec<u8>> = std::iter::from_fn(|| reader.next_payload()).collect();
        assert_eq!(read.len(), 2_000);
        assert!(read.iter().enumerate().all(|(i, p)| *p == payload(i)));
    }

    #[test]
    fn records_are_refused_once_too_much_waits_for_a_failing_disk() {
        let mut file = LogFile::new(SmallDisk::default(), 0);
        file.pending.resize(MAX_PENDING, 0);
        let refused = file.check_room().expect_err("no room");
        assert_eq!(refused.kind(), io::ErrorKind::StorageFull);
        assert_eq!(file.pending(), MAX_PENDING, "nothing dropped");
        file.file.room = usize::MAX;
        file.check_room().expect("room again");
        assert_eq!(file.pending(), 0);
    }
}
