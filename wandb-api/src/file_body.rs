//! A file as the body of an upload, read in chunks while it is sent: memory stays at one
//! chunk whatever the file's size (a checkpoint of many GB uploads in a few hundred KB).
//! Each attempt opens the file again, so a retry sends what the file holds then. A file
//! rewritten in place while it is read (a checkpoint saved again to the same path) would
//! arrive as a mix of two versions: the body ends in an error instead, before its last
//! bytes, so that the server never receives it whole.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

/// The most bytes read from the file at a time.
const CHUNK: usize = 256 * 1024;

/// An open file sent as a request body of its exact length (HTTP/1 sends it with a
/// `Content-Length`, as signed storage URLs require).
#[derive(Debug)]
pub(crate) struct FileBody {
    file: tokio::fs::File,
    /// The same open file, to look at its length and modification time again at the end.
    check: std::fs::File,
    /// The length and modification time when the file was opened.
    len: u64,
    modified: Option<SystemTime>,
    /// Bytes still to send.
    remaining: u64,
    buf: Vec<u8>,
}

impl FileBody {
    /// Opens `path`; its length now is the body's length.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        Ok(FileBody {
            check: file.try_clone()?,
            file: tokio::fs::File::from_std(file),
            len: meta.len(),
            modified: meta.modified().ok(),
            remaining: meta.len(),
            buf: Vec::new(),
        })
    }

    /// The body's length: the file's when it was opened.
    pub(crate) fn size(&self) -> u64 {
        self.len
    }

    /// Whether the file was rewritten since it was opened: shorter now, or modified and not
    /// longer (a file that only grew keeps the bytes read, its first `len`).
    fn rewritten(&self) -> io::Result<bool> {
        let now = self.check.metadata()?;
        Ok(now.len() < self.len || (now.len() == self.len && now.modified().ok() != self.modified))
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining).map_or(CHUNK, |r| r.min(CHUNK));
        this.buf.resize(want, 0);
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        ready!(Pin::new(&mut this.file).poll_read(cx, &mut read))?;
        let got = read.filled();
        if got.is_empty() {
            // The length was announced: a shorter body would be refused or misread.
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was uploaded",
            ))));
        }
        let (n, chunk) = (got.len() as u64, Bytes::copy_from_slice(got));
        this.remaining -= n;
        if this.remaining == 0 && this.rewritten()? {
            return Poll::Ready(Some(Err(io::Error::other(
                "the file was rewritten while it was uploaded; it is sent again",
            ))));
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use std::io::Write as _;

    /// A fresh scratch file path `wandb-api-file-body-<name>-<pid>`.
    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("wandb-api-file-body-{name}-{}", std::process::id()))
    }

    /// The next frame's bytes, `None` at the end.
    async fn next(body: &mut FileBody) -> Option<io::Result<Bytes>> {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        Some(frame.map(|f| f.into_data().expect("only data frames")))
    }

    /// Every frame's bytes, the first error ending it.
    async fn frames(mut body: FileBody) -> io::Result<Vec<Bytes>> {
        let mut out = Vec::new();
        while let Some(frame) = next(&mut body).await {
            out.push(frame?);
        }
        Ok(out)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_file_over_many_chunks_is_sent_whole_a_chunk_at_a_time() {
        let path = scratch("chunks");
        let data = pattern(CHUNK * 3 + 17);
        std::fs::write(&path, &data).unwrap();
        let body = FileBody::open(&path).unwrap();
        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
        let frames = frames(body).await.unwrap();
        assert!(
            frames.iter().all(|f| f.len() <= CHUNK),
            "never more than a chunk in memory"
        );
        assert_eq!(frames.concat(), data);
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn an_empty_file_is_an_empty_body() {
        let path = scratch("empty");
        std::fs::write(&path, b"").unwrap();
        let body = FileBody::open(&path).unwrap();
        assert!(body.is_end_stream());
        assert!(frames(body).await.unwrap().is_empty());
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn a_file_cut_short_while_sent_is_an_error_not_a_short_body() {
        let path = scratch("shrinks");
        std::fs::write(&path, vec![7u8; CHUNK * 2]).unwrap();
        let body = FileBody::open(&path).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(10)
            .unwrap();
        let e = frames(body).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::remove_file(&path).unwrap();
    }

    /// A checkpoint saved again to the same path, at the same size, while the first chunk is
    /// on its way: the last chunk is an error, so the server never gets a mixed file.
    #[tokio::test]
    async fn a_file_rewritten_in_place_while_sent_ends_in_an_error() {
        let path = scratch("rewritten");
        std::fs::write(&path, pattern(CHUNK * 2)).unwrap();
        let mut body = FileBody::open(&path).unwrap();
        assert_eq!(next(&mut body).await.unwrap().unwrap().len(), CHUNK);
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(&vec![1u8; CHUNK * 2]).unwrap();
        // A modification time surely unlike the first, whatever the clock's resolution.
        f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
            .unwrap();
        drop(f);
        let e = next(&mut body).await.unwrap().unwrap_err();
        assert!(e.to_string().contains("rewritten"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    /// A file that only grows (a log being written) sends its first bytes, as they were.
    #[tokio::test]
    async fn a_file_that_grows_while_sent_sends_the_length_it_had() {
        let path = scratch("grows");
        let data = pattern(CHUNK + 100);
        std::fs::write(&path, &data).unwrap();
        let mut body = FileBody::open(&path).unwrap();
        let first = next(&mut body).await.unwrap().unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"more lines\n").unwrap();
        drop(f);
        let mut sent = first.to_vec();
        sent.extend(frames(body).await.unwrap().concat());
        assert_eq!(sent, data);
        std::fs::remove_file(&path).unwrap();
    }
}
