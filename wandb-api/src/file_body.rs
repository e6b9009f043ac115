//! A file as the body of an upload, read in chunks while it is sent: memory stays at one
//! chunk whatever the file's size (a checkpoint of many GB uploads in a few hundred KB).
//! Each attempt opens the file again, so a retry sends what the file holds then.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

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
    /// Bytes still to send.
    remaining: u64,
    buf: Vec<u8>,
}

impl FileBody {
    /// Opens `path`; its length now is the body's length.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let remaining = file.metadata()?.len();
        Ok(FileBody {
            file: tokio::fs::File::from_std(file),
            remaining,
            buf: Vec::new(),
        })
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
        this.remaining -= got.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(got)))))
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

    /// A fresh scratch file path `wandb-api-file-body-<name>-<pid>`.
    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("wandb-api-file-body-{name}-{}", std::process::id()))
    }

    async fn collect(mut body: FileBody) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            out.extend_from_slice(frame?.data_ref().expect("only data frames"));
        }
        Ok(out)
    }

    #[tokio::test]
    async fn a_file_over_many_chunks_is_sent_whole_at_its_exact_length() {
        let path = scratch("chunks");
        let data: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let body = FileBody::open(&path).unwrap();
        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
        assert_eq!(collect(body).await.unwrap(), data);
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn an_empty_file_is_an_empty_body() {
        let path = scratch("empty");
        std::fs::write(&path, b"").unwrap();
        let body = FileBody::open(&path).unwrap();
        assert!(body.is_end_stream());
        assert_eq!(collect(body).await.unwrap(), b"");
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
        let e = collect(body).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::remove_file(&path).unwrap();
    }
}
